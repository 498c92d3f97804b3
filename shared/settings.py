"""One settings object for every service; every value can be set from the environment.

Values come from `CASEBRIDGE_*` variables; the Kafka bootstrap servers also honour the
conventional `KAFKA_BOOTSTRAP_SERVERS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICES = ("identity", "consent", "referral", "audit", "partner")
DEFAULT_PORTS = {
    "identity": 8101,
    "consent": 8102,
    "referral": 8103,
    "audit": 8104,
    "partner": 8105,
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEBRIDGE_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    service: str = "casebridge"
    data_dir: Path = Path("var")

    # Database: one per service. `{service}` in the URL is replaced by the service's name.
    database_url: str = "sqlite:///{data_dir}/{service}.db"

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices(
            "CASEBRIDGE_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"
        ),
    )
    kafka_topic_prefix: str = "casebridge"
    kafka_partitions: int = 6
    # How long a fetch waits on an idle partition: the floor of the event path's latency.
    kafka_fetch_max_wait_ms: int = 25
    # The relay is woken by every commit in its process; the interval only catches rows
    # written by other processes (the CLI), at the cost of a write transaction each time.
    relay_interval_seconds: float = 0.25
    relay_batch_size: int = 500
    # Before a claim that follows a wake or a part-full batch the relay lingers this long, so
    # that commits arriving close together share one claim (Kafka's linger.ms, one level up):
    # each claim is a locked write transaction competing with the requests for the database.
    relay_linger_seconds: float = 0.005

    # JWT: verify with a JWKS URL or PEM public keys; mint (dev tokens, service tokens)
    # with the private key. Development generates a key pair under data_dir/keys.
    jwt_issuer: str = "casebridge"
    jwt_audience: str = "casebridge"
    jwt_algorithms: list[str] = ["ES256", "RS256"]
    jwt_jwks_url: str | None = None
    jwt_public_key_file: Path | None = None
    jwt_private_key_file: Path | None = None
    jwt_leeway_seconds: int = 10

    # Where the other services answer, for the few calls that need an answer now.
    identity_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['identity']}"
    consent_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['consent']}"
    referral_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['referral']}"
    audit_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['audit']}"
    partner_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['partner']}"

    host: str = "127.0.0.1"
    port: int | None = None

    telemetry_exporter: Literal["none", "console", "otlp"] = "none"
    otlp_endpoint: str | None = None
    log_level: str = "INFO"

    # Keyed secrets (pseudonyms, receipts). Development derives them from a local file.
    secret_key_file: Path | None = None

    @model_validator(mode="after")
    def _production_has_real_keys(self) -> Settings:
        if self.env == "production":
            if not (self.jwt_jwks_url or self.jwt_public_key_file):
                raise ValueError("production needs CASEBRIDGE_JWT_JWKS_URL or _PUBLIC_KEY_FILE")
            if self.secret_key_file is None:
                raise ValueError("production needs CASEBRIDGE_SECRET_KEY_FILE")
        return self

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def private_key_path(self) -> Path:
        return self.jwt_private_key_file or self.keys_dir / "jwt-es256.pem"

    @property
    def secret_path(self) -> Path:
        return self.secret_key_file or self.keys_dir / "service-secret.key"

    def database_url_for(self, service: str | None = None) -> str:
        return self.database_url.format(
            service=service or self.service, data_dir=self.data_dir.as_posix()
        )

    def service_port(self, service: str | None = None) -> int:
        return self.port or DEFAULT_PORTS[service or self.service]

    def topic(self, producer: str) -> str:
        return f"{self.kafka_topic_prefix}.{producer}"

    def url_of(self, service: str) -> str:
        url: str = getattr(self, f"{service}_url")
        return url.rstrip("/")
