"""One notification on its way to one endpoint, and every attempt made to deliver it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field

from services.partner.base import Base
from shared.models import UTCDateTime

OPEN = ("pending", "retrying")
FINAL = ("delivered", "dead", "cancelled")


class Delivery(Base, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "sequence", name="uq_delivery_endpoint_sequence"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
        Index("ix_delivery_order", "endpoint_id", "ordering_key", "sequence"),
    )

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: str = Field(foreign_key="webhook_endpoints.id", max_length=40)
    partner_id: str = Field(index=True, max_length=40)
    message_id: str = Field(max_length=40, description="The webhook-id: the notification's id.")
    event_type: str = Field(max_length=100)
    sequence: int = Field(description="Per endpoint, in the order deliveries were created.")
    # One person's deliveries to one endpoint go out in sequence order: this is the person's
    # pseudonym for the partner's agency (or the event's own key when it is not about one).
    ordering_key: str = Field(max_length=100)
    body: str = Field(sa_column=Column(Text, nullable=False))
    # pending -> delivered | retrying -> ... -> dead; cancelled when the partner is revoked.
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    leased_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    lease_token: str | None = Field(default=None, max_length=40)
    event_time: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    delivered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    replays: int = 0


class DeliveryAttempt(Base, table=True):
    __tablename__ = "delivery_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="deliveries.id", index=True)
    attempted_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    duration_ms: float
