"""Moving a referral through its life: accepted, declined, in progress, completed (recipient),
withdrawn (sender). Each move is recorded, announced by an event and audited; the sender sees
the outcome (closed loop)."""

from __future__ import annotations

from pydantic import BaseModel
from sqlmodel import Session

from services.referral import queries
from services.referral.disclosure import snapshot
from services.referral.events import (
    ReferralAccepted,
    ReferralCompleted,
    ReferralDeclined,
    ReferralProgressed,
    ReferralWithdrawn,
)
from services.referral.models import Referral
from services.referral.refusals import refuse
from services.referral.rules import LifecycleError, Party, next_status
from shared.access_log import record_access
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, Problem
from shared.events.outbox import EventWriter


def move_referral(
    ctx: ServiceContext,
    session: Session,
    events: EventWriter,
    user: Principal,
    referral_id: str,
    action: str,
    *,
    reason: str | None = None,
    outcome: str | None = None,
    note: str | None = None,
) -> Referral:
    audit_action = f"referral.{action}"
    seen = snapshot(ctx, user, referral_id, audit_action)
    party: Party = "sender" if user.agency == seen.from_agency else "recipient"
    try:
        next_status(action, seen.status, party)
    except LifecycleError as exc:
        problem: Problem = (
            Forbidden(str(exc), slug=exc.slug)
            if exc.slug == "wrong-party"
            else Conflict(str(exc), slug=exc.slug, status_now=seen.status)
        )
        raise refuse(
            ctx,
            user,
            problem,
            action=audit_action,
            resource=f"referral/{referral_id}",
            person_id=seen.person_id,
            purpose=seen.purpose,
        ) from None

    referral = queries.get_referral(session, referral_id, lock=True)
    assert referral is not None
    try:
        target = next_status(action, referral.status, party)  # it may have moved meanwhile
    except LifecycleError as exc:
        raise Conflict(str(exc), slug=exc.slug, status_now=referral.status) from None
    referral.status = target
    if action in ("decline", "withdraw"):
        referral.status_reason = reason
    if action == "complete":
        referral.outcome_code, referral.outcome_note = outcome, note
    queries.add_change(
        session,
        referral,
        action,
        user.sub,
        **({"reason": reason} if reason else {}),
        **({"outcome": outcome} if outcome else {}),
    )
    events.emit(
        session, _event(referral, action), key=referral.person_id, subject=f"referral/{referral.id}"
    )
    record_access(
        session,
        events,
        user,
        action=audit_action,
        resource=f"referral/{referral.id}",
        person_id=referral.person_id,
        purpose=referral.purpose,
    )
    return referral


def _event(referral: Referral, action: str) -> BaseModel:
    common = {
        "referral_id": referral.id,
        "from_agency": referral.from_agency,
        "to_agency": referral.to_agency,
        "person_id": referral.person_id,
    }
    if action == "accept":
        return ReferralAccepted(**common)
    if action == "decline":
        return ReferralDeclined(**common)
    if action == "start":
        return ReferralProgressed(**common, status=referral.status)
    if action == "complete":
        return ReferralCompleted(**common, outcome=str(referral.outcome_code))
    return ReferralWithdrawn(**common)
