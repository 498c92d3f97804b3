"""The CloudEvents 1.0 envelope every event travels in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.models import new_id


def utcnow() -> datetime:
    return datetime.now(UTC)


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event in structured JSON mode.

    Extensions: `traceparent` (distributed tracing), `sequence` (per-source, gap-free,
    starting at 1; an integer here rather than the spec's string), and `partitionkey`
    (the Kafka key: the person the event concerns, so one person's events stay in order).
    """

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=new_id)
    source: str
    type: str
    subject: str | None = None
    time: datetime = Field(default_factory=utcnow)
    datacontenttype: Literal["application/json"] = "application/json"
    traceparent: str | None = None
    sequence: int | None = None
    partitionkey: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @property
    def producer(self) -> str:
        """The producing service, from a source such as `/casebridge/consent`."""
        return self.source.rstrip("/").rsplit("/", 1)[-1]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate_json(raw)


def source_of(service: str) -> str:
    return f"/casebridge/{service}"
