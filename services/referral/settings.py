"""Settings of the referral service alone (CASEBRIDGE_REFERRAL_*)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ReferralSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEBRIDGE_REFERRAL_", extra="ignore")

    # Artificial delay before the projection applies a batch: only for measuring that reads
    # stay safe when the consumer falls behind (bench/referral_withdrawal.py).
    projection_delay_seconds: float = 0.0
    # How often the re-evaluation worker looks for referrals an event may have restricted.
    reevaluation_interval_seconds: float = 0.5
    page_size_default: int = 50
    page_size_max: int = 200
