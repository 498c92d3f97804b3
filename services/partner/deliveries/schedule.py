"""When to try again: the configured exponential schedule, with jitter, then the dead letter."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta


def next_attempt(
    schedule: Sequence[float],
    failed_attempts: int,
    now: datetime,
    jitter: float,
    rng: random.Random | None = None,
) -> datetime | None:
    """The time of the next attempt after `failed_attempts` failures, or None: dead-letter."""
    if failed_attempts < 1 or failed_attempts > len(schedule):
        return None
    wait = schedule[failed_attempts - 1]
    spread = (rng or random).uniform(1 - jitter, 1 + jitter)
    return now + timedelta(seconds=max(0.0, wait * spread))
