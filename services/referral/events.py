"""The referral topic's events: every change of a referral, for the recipient and partners.

Each carries ids only (referral, agencies, internal person id), never case details or free
text a caseworker wrote: a partner fetches the referral through the API, re-checked.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from shared.events import event_type


class ReferralEvent(BaseModel):
    referral_id: str = Field(description="The referral's id.")
    from_agency: str = Field(description="The referring (disclosing) agency.")
    to_agency: str = Field(description="The receiving agency.")
    person_id: str = Field(description="The internal person id (core services only).")


@event_type("referral.sent.v1")
class ReferralSent(ReferralEvent):
    """A referral was sent; `categories` are the data categories it shares."""

    purpose: str = Field(description="The purpose of the referral (vocabulary id).")
    urgency: str = Field(description="routine, urgent or emergency.")
    categories: list[str] = Field(description="Data categories shared under the decision.")
    revision: int = Field(description="Consent revision the decision was made at.")


@event_type("referral.accepted.v1")
class ReferralAccepted(ReferralEvent):
    """The receiving agency accepted the referral."""


@event_type("referral.declined.v1")
class ReferralDeclined(ReferralEvent):
    """The receiving agency declined the referral (the reason is on the referral)."""


@event_type("referral.progressed.v1")
class ReferralProgressed(ReferralEvent):
    """The receiving agency started work on the referral."""

    status: str = Field(description="The new status (in_progress).")


@event_type("referral.completed.v1")
class ReferralCompleted(ReferralEvent):
    """The receiving agency completed the referral with an outcome the sender can see."""

    outcome: str = Field(description="Outcome code: support_provided, no_further_action, ...")


@event_type("referral.withdrawn.v1")
class ReferralWithdrawn(ReferralEvent):
    """The referring agency withdrew the referral; the recipient no longer sees its details."""


@event_type("referral.disclosure_restricted.v1")
class DisclosureRestricted(ReferralEvent):
    """Some categories may no longer be disclosed: the recipient must stop using them."""

    stopped: list[str] = Field(description="Categories no longer disclosed.")
    remaining: list[str] = Field(description="Categories still disclosed.")
    reasons: dict[str, list[str]] = Field(description="Reason codes per stopped category.")
    revision: int = Field(description="Consent revision of the decision that restricted it.")


@event_type("referral.revoked.v1")
class ReferralRevoked(ReferralEvent):
    """Nothing may be disclosed any more: the basis ended. The recipient must discard it."""

    stopped: list[str] = Field(description="Categories no longer disclosed (all of them).")
    reasons: dict[str, list[str]] = Field(description="Reason codes per stopped category.")
    revision: int = Field(description="Consent revision of the decision that revoked it.")
