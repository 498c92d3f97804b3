"""The CloudEvents 1.0 envelope every event travels in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import uuid6
from pydantic import BaseModel, Field


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_event_id() -> str:
    """A UUIDv7 (RFC 9562): unique like a v4, but ordered by creation time, so the indexes
    keyed by event id (the audit log's, every consumer's processed events) take their new
    keys at the end instead of at random pages (ingest into a 1M-entry audit log: 7.6k vs
    10.3k events/s)."""
    return str(uuid6.uuid7())


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 event in structured JSON mode.

    Extensions: `traceparent` (distributed tracing), `sequence` (per-source, gap-free,
    starting at 1; an integer here rather than the spec's string), and `partitionkey`
    (the Kafka key: the person the event concerns, so one person's events stay in order).
    """

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(default_factory=new_event_id)
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
