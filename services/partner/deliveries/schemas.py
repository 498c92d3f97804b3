"""The delivery log as a partner reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator


class DeliveryOut(BaseModel):
    id: int
    endpoint_id: str
    message_id: str = Field(description="The webhook-id header of every attempt.")
    event_type: str
    sequence: int
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    replays: int


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float


class DeliveryDetail(DeliveryOut):
    payload: dict[str, Any]
    attempt_log: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(description="Pass as `after` for the next page.")


ReplayableStatus = Literal["dead", "delivered", "retrying", "pending"]


def _dead_only() -> list[ReplayableStatus]:
    return ["dead"]


class ReplayRange(BaseModel):
    """Replay an endpoint's deliveries created in [since, until) with one of `statuses`."""

    since: datetime
    until: datetime | None = None
    statuses: list[ReplayableStatus] = Field(default_factory=_dead_only, min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> ReplayRange:
        if self.since.tzinfo is None or (self.until is not None and self.until.tzinfo is None):
            raise ValueError("since and until need a timezone")
        if self.until is not None and self.until <= self.since:
            raise ValueError("until must be after since")
        return self


class Replayed(BaseModel):
    replayed: int
