"""What a partner sends and gets back for a webhook endpoint."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from services.partner.partners.schemas import check_event_types


class EndpointIn(BaseModel):
    url: str = Field(max_length=2000, description="https (http only to loopback in development).")
    event_types: list[str] = Field(min_length=1, max_length=100)

    _types = field_validator("event_types")(check_event_types)


class EndpointOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    status: str
    consecutive_failures: int
    last_sequence: int
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None


class EndpointCreated(EndpointOut):
    secret: str = Field(description="The signing secret (whsec_...). Shown once.")


class SecretRotated(BaseModel):
    secret: str = Field(description="The new signing secret (whsec_...).")
    previous_expires_at: datetime = Field(
        description="Until then the previous secret also signs every delivery."
    )
