"""A registered partner system: the agency it acts for, what it may receive, its credentials."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field

from services.partner.base import Base
from shared.models import UTCDateTime


class Partner(Base, table=True):
    __tablename__ = "partners"

    id: str = Field(primary_key=True, max_length=40)
    agency: str = Field(index=True, max_length=64)
    name: str = Field(max_length=200)
    allowed_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    client_id: str = Field(unique=True, max_length=64)
    # SHA-256 of the client secret: the secret is random (256 bits), so a slow hash adds nothing.
    secret_hash: str = Field(max_length=64)
    status: str = Field(default="active", max_length=16)
    created_by: str = Field(max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    revoked_by: str | None = Field(default=None, max_length=200)

    @property
    def active(self) -> bool:
        return self.status == "active"
