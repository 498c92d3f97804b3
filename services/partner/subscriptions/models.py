"""A partner's webhook endpoint and the secrets that sign what is sent to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field

from services.partner.base import Base
from shared.models import UTCDateTime


class WebhookEndpoint(Base, table=True):
    __tablename__ = "webhook_endpoints"

    id: str = Field(primary_key=True, max_length=40)
    partner_id: str = Field(foreign_key="partners.id", index=True, max_length=40)
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # active: deliveries flow; disabled: they wait (kept failing, or the partner paused it);
    # deleted: nothing more is created or sent.
    status: str = Field(default="active", max_length=16)
    consecutive_failures: int = 0
    # The last per-endpoint sequence number given to a delivery.
    last_sequence: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    disabled_reason: str | None = Field(default=None, max_length=200)


class EndpointSecret(Base, table=True):
    """A signing secret. The current one has no expiry; a rotated one signs until it expires.

    Kept in clear because an HMAC needs it: protect the database as you protect the keys.
    """

    __tablename__ = "endpoint_secrets"

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: str = Field(foreign_key="webhook_endpoints.id", index=True, max_length=40)
    secret: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
