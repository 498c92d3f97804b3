"""The partner gateway's own events (on the partner topic)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from shared.events import event_type


@event_type("partner.registered.v1")
class PartnerRegistered(BaseModel):
    """A partner system was registered for an agency."""

    partner_id: str = Field(description="The partner's id (the `sub` of its tokens).")
    agency: str = Field(description="The agency the partner acts for.")
    allowed_types: list[str] = Field(description="Event types it may receive.")
    registered_by: str = Field(description="The subject of the admin or IG officer.")


@event_type("partner.revoked.v1")
class PartnerRevoked(BaseModel):
    """A partner's access was revoked: no more tokens, deliveries or feed."""

    partner_id: str = Field(description="The partner's id.")
    agency: str = Field(description="The agency the partner acted for.")
    revoked_by: str = Field(description="The subject of the admin or IG officer.")
    cancelled_deliveries: int = Field(description="Deliveries still open that were cancelled.")


@event_type("partner.endpoint_disabled.v1")
class EndpointDisabled(BaseModel):
    """A webhook endpoint kept failing and was disabled; its deliveries wait until enabled."""

    endpoint_id: str = Field(description="The endpoint's id.")
    partner_id: str = Field(description="The partner that owns it.")
    agency: str = Field(description="The partner's agency.")
    consecutive_failures: int = Field(description="Failed attempts in a row.")
    disabled_at: datetime = Field(description="When it was disabled.")
