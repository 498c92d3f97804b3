"""The audit service's own settings (prefix CASEBRIDGE_AUDIT_)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEBRIDGE_AUDIT_", extra="ignore")

    # Signed checkpoints: how often the background job signs a new tree head, and the
    # Ed25519 key (PEM, PKCS#8). Development generates one under data_dir/keys.
    checkpoint_interval_seconds: float = 30.0
    # How long ingest waits after a part-full fetch for more events to chain in the same
    # transaction: a trickle of single events costs a transaction (and a tree update) each.
    ingest_linger_seconds: float = 0.05
    signing_key_file: Path | None = None

    # Clients see the agency and role of whoever accessed their data; the official's own
    # identifier only where an organisation has decided to show it.
    show_official_names: bool = False

    # Alerts (event time windows): denied attempts per user, distinct persons read per user.
    denied_threshold: int = 5
    denied_window_seconds: int = 600
    many_persons_threshold: int = 50
    many_persons_window_seconds: int = 600
