"""Applying a fresh decision to a referral: it can narrow what is shared, never widen it.

A stopped category's section is deleted, not hidden: the recipient cannot be shown what the
service no longer holds. The recipient is told by `referral.disclosure_restricted.v1`, or
`referral.revoked.v1` when nothing remains.
"""

from __future__ import annotations

from sqlmodel import Session

from services.referral import queries
from services.referral.events import DisclosureRestricted, ReferralRevoked
from services.referral.models import Referral
from services.referral.rules import Decision, Restriction, basis_keys, restrict, stop_reasons
from shared.events.envelope import utcnow
from shared.events.outbox import EventWriter


def apply_decision(
    session: Session,
    events: EventWriter,
    referral: Referral,
    decision: Decision,
    *,
    actor: str,
    trigger: str,
) -> Restriction:
    """Record `decision` as the one `referral` now rests on, and enforce what it stops."""
    restriction = restrict(referral.shared_categories, decision)
    referral.decision_revision = decision.revision
    referral.valid_until = decision.valid_until
    referral.bases = decision.bases
    referral.decided_at = utcnow()
    queries.replace_bases(session, referral.id, basis_keys(decision.bases))
    if not restriction.changed:
        referral.updated_at = referral.decided_at
        return restriction
    reasons = stop_reasons(restriction.stopped, decision)
    queries.delete_sections(session, referral.id, restriction.stopped)
    referral.shared_categories = restriction.kept
    common = {
        "referral_id": referral.id,
        "from_agency": referral.from_agency,
        "to_agency": referral.to_agency,
        "person_id": referral.person_id,
    }
    if restriction.revoked:
        referral.status = "revoked"
        referral.status_reason = "basis_ended"
        queries.add_change(
            session,
            referral,
            "revoked",
            actor,
            stopped=restriction.stopped,
            reasons=reasons,
            trigger=trigger,
            revision=decision.revision,
        )
        events.emit(
            session,
            ReferralRevoked(
                **common, stopped=restriction.stopped, reasons=reasons, revision=decision.revision
            ),
            key=referral.person_id,
            subject=f"referral/{referral.id}",
        )
    else:
        queries.add_change(
            session,
            referral,
            "restricted",
            actor,
            stopped=restriction.stopped,
            remaining=restriction.kept,
            reasons=reasons,
            trigger=trigger,
            revision=decision.revision,
        )
        events.emit(
            session,
            DisclosureRestricted(
                **common,
                stopped=restriction.stopped,
                remaining=restriction.kept,
                reasons=reasons,
                revision=decision.revision,
            ),
            key=referral.person_id,
            subject=f"referral/{referral.id}",
        )
    return restriction
