"""Settings of the partner gateway alone (CASEBRIDGE_PARTNER_*)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class PartnerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEBRIDGE_PARTNER_", extra="ignore")

    # Seconds to wait before each retry after a failed attempt (exponential, about 7.8 hours
    # in all, as Standard Webhooks suggests); after the last one a delivery is dead-lettered.
    retry_schedule_seconds: list[float] = [5, 30, 120, 600, 1800, 3600, 7200, 14400]
    # Each wait is stretched or shrunk by up to this fraction, so that retries of many
    # deliveries to one receiver that came back do not arrive all at once.
    retry_jitter: float = Field(0.2, ge=0, le=1)
    # An endpoint that failed this many attempts in a row is disabled (with an event).
    disable_after_failures: int = Field(50, ge=1)
    # How long a receiver may take to answer one delivery.
    delivery_timeout_seconds: float = 10.0
    # Deliveries in flight at once (over all endpoints), and connections per receiver.
    max_in_flight: int = 256
    connections_per_receiver: int = 8
    # How often the worker looks for due retries when nothing wakes it.
    poll_seconds: float = 0.25
    # The lifetime of a partner's access token.
    token_ttl_seconds: int = Field(300, ge=30, le=3600)
    # After a secret rotation, how long the old secret still signs (beside the new one).
    secret_overlap_seconds: float = 24 * 3600
    feed_page_default: int = 100
    feed_page_max: int = 1000
    # The committed AsyncAPI document, served to partners.
    asyncapi_path: Path = REPO_ROOT / "docs" / "asyncapi.yaml"
