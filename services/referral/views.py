"""How a referral is shown to each side: the sender sees its own decision in full; the
recipient sees only what may be disclosed now, under its own pseudonym."""

from __future__ import annotations

from typing import Any

from services.referral.models import Referral, ReferralChange
from services.referral.schemas import (
    ChangeOut,
    DecisionOut,
    OutcomeOut,
    ReferralItem,
    ReferralOut,
    WithheldOut,
)


def referral_view(
    referral: Referral,
    *,
    side: str,
    person: str | None,
    details: dict[str, dict[str, Any]] | None,
    history: list[ReferralChange],
    disclosure: str,
) -> ReferralOut:
    sender = side == "sender"
    return ReferralOut(
        id=referral.id,
        from_agency=referral.from_agency,
        to_agency=referral.to_agency,
        person=person,
        purpose=referral.purpose,
        urgency=referral.urgency,
        status=referral.status,
        status_reason=referral.status_reason,
        summary=referral.summary if details is not None else None,
        details=details,
        shared_categories=referral.shared_categories,
        withheld=[WithheldOut(**w) for w in referral.withheld] if sender else None,
        reasons=referral.reasons if sender else None,
        suggestions=referral.suggestions if sender else None,
        decision=DecisionOut(
            revision=referral.decision_revision,
            valid_until=referral.valid_until,
            bases=referral.bases,
            decided_at=referral.decided_at,
        ),
        disclosure=disclosure,  # type: ignore[arg-type]
        outcome=OutcomeOut(code=referral.outcome_code, note=referral.outcome_note)
        if referral.outcome_code
        else None,
        history=[
            ChangeOut(change=c.change, status=c.status, at=c.at, detail=c.detail) for c in history
        ],
        created_at=referral.created_at,
        updated_at=referral.updated_at,
    )


def referral_item(referral: Referral, *, side: str) -> ReferralItem:
    return ReferralItem(
        id=referral.id,
        from_agency=referral.from_agency,
        to_agency=referral.to_agency,
        person=referral.sender_person_ref if side == "outbox" else None,
        purpose=referral.purpose,
        urgency=referral.urgency,
        status=referral.status,
        shared_categories=referral.shared_categories,
        outcome=referral.outcome_code,
        created_at=referral.created_at,
        updated_at=referral.updated_at,
    )
