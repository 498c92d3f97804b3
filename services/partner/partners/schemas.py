"""What a registrar sends and gets back for a partner."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from services.partner.routing.concerns import DELIVERABLE_TYPES
from shared.vocabulary import load_vocabulary


def check_event_types(value: list[str]) -> list[str]:
    unknown = sorted(set(value) - DELIVERABLE_TYPES)
    if unknown:
        raise ValueError(f"not deliverable event types: {', '.join(unknown)}")
    return sorted(set(value))


class PartnerIn(BaseModel):
    agency: str = Field(description="The agency the partner system acts for.")
    name: str = Field(min_length=1, max_length=200, description="A name people recognise.")
    allowed_types: list[str] = Field(
        min_length=1, max_length=100, description="Event types it may receive."
    )

    @field_validator("agency")
    @classmethod
    def _known_agency(cls, value: str) -> str:
        if load_vocabulary().agency(value) is None:
            raise ValueError("not an agency id of the vocabulary")
        return value

    _types = field_validator("allowed_types")(check_event_types)


class AllowedTypesIn(BaseModel):
    allowed_types: list[str] = Field(min_length=1, max_length=100)

    _types = field_validator("allowed_types")(check_event_types)


class PartnerOut(BaseModel):
    id: str
    agency: str
    name: str
    allowed_types: list[str]
    client_id: str
    status: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


class PartnerCreated(PartnerOut):
    client_secret: str = Field(description="Shown once: only its hash is kept.")


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
