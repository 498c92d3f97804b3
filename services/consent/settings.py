"""Settings of the consent service alone (prefix CASEBRIDGE_CONSENT_)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsentSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEBRIDGE_CONSENT_", extra="ignore")

    break_glass_minutes: int = 60
    """How long emergency access lasts: short, then it must be justified again."""
    sweep_interval_seconds: float = 30.0
    """How often expiries and reviews falling due are announced (decisions never wait for it)."""
    review_notice_days: int = 30
    """How far ahead of its review date an agreement's review is announced as due."""
    default_data_life_days: int = 90
    """How long a recipient may keep what it receives under a consent, when none is stated."""
    receipt_key_file: Path | None = None
    """Ed25519 private key (PEM) that signs consent receipts; generated in development."""
    follow_identity: bool = True
    """Consume identity merges/unmerges to move consents to the surviving person."""
    jurisdiction: str = "GB"
    policy_url: str = "https://casebridge.example/privacy"
