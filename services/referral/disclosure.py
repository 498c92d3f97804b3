"""Reading a referral, with the re-check that makes P6 and P7 hold at the moment of reading.

The recipient's read asks the consent service for the person's current revision (cheap). If
the stored decision is at that revision and none of its bases has expired, the stored
categories are served; otherwise a fresh decision is asked and only what it permits is served
(and the narrowing recorded). If consent cannot answer, the read is refused: never stale.

Network calls happen before the request's transaction starts, so a slow dependency never
holds the database's write lock; the final step re-reads the referral under that transaction
and serves only what is still stored.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from services.referral import queries, upstream
from services.referral.enforcement import apply_decision
from services.referral.models import Referral
from services.referral.refusals import refuse
from services.referral.rules import (
    DISCLOSING,
    Decision,
    audit_basis,
    decision_is_current,
    restrict,
)
from services.referral.schemas import ReferralOut
from services.referral.views import referral_view
from shared.access_log import record_access
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import NotFound, Problem, Unavailable
from shared.events.envelope import utcnow
from shared.events.outbox import EventWriter


def snapshot(ctx: ServiceContext, user: Principal, referral_id: str, action: str) -> Referral:
    """The referral as it is now, if the caller's agency is a party to it; else refused (404:
    a third agency does not learn that it exists) and audited."""
    referral, _ = snapshot_with_projection(ctx, user, referral_id, action)
    return referral


def snapshot_with_projection(
    ctx: ServiceContext, user: Principal, referral_id: str, action: str
) -> tuple[Referral, int | None]:
    """The referral, and the latest consent revision the projection has applied for its
    person (None if none yet)."""
    with ctx.db.session() as s:
        referral = queries.get_referral(s, referral_id)
        known = queries.person_projection(s, referral.person_id) if referral else None
    parties = (referral.from_agency, referral.to_agency) if referral else ()
    if (
        referral is None
        or user.agency not in parties
        or (referral.status == "blocked" and user.agency != referral.from_agency)
    ):
        raise refuse(
            ctx,
            user,
            NotFound("No such referral for your agency.", slug="referral-not-found"),
            action=action,
            resource=f"referral/{referral_id}",
            person_id=referral.person_id if referral else None,
            purpose=referral.purpose if referral else None,
        )
    return referral, known.revision if known else None


def read_referral(
    ctx: ServiceContext, session: Session, events: EventWriter, user: Principal, referral_id: str
) -> ReferralOut:
    for _ in range(2):
        seen, projected = snapshot_with_projection(ctx, user, referral_id, "referral.read")
        if user.agency == seen.from_agency:
            return _sender_read(session, events, user, referral_id)
        try:
            return _recipient_read(ctx, session, events, user, seen, projected)
        except PersonMoved:
            session.rollback()  # a merge moved it while we checked: check again, once
    raise refuse(
        ctx,
        user,
        Unavailable("The referral changed while it was checked; try again.", slug="retry"),
        action="referral.read",
        resource=f"referral/{referral_id}",
        person_id=seen.person_id,
        purpose=seen.purpose,
    )


class PersonMoved(Exception):
    """The referral's person changed between the check and the disclosure."""


def _sender_read(
    session: Session, events: EventWriter, user: Principal, referral_id: str
) -> ReferralOut:
    """The sender reads its own copy: what it shared, what was withheld and why, the outcome."""
    referral = queries.get_referral(session, referral_id)
    assert referral is not None
    details = queries.sections_of(session, referral.id)
    record_access(
        session,
        events,
        user,
        action="referral.read",
        resource=f"referral/{referral.id}",
        person_id=referral.person_id,
        person_ref=referral.sender_person_ref,
        categories=sorted(details),
        purpose=referral.purpose,
        basis=audit_basis(referral.bases),
    )
    return referral_view(
        referral,
        side="sender",
        person=referral.sender_person_ref,
        details=details,
        history=queries.history_of(session, referral.id),
        disclosure="sender",
    )


def _recipient_read(
    ctx: ServiceContext,
    session: Session,
    events: EventWriter,
    user: Principal,
    seen: Referral,
    projected: int | None,
) -> ReferralOut:
    audit: dict[str, Any] = {
        "action": "referral.read",
        "resource": f"referral/{seen.id}",
        "person_id": seen.person_id,
        "categories": seen.shared_categories,
        "purpose": seen.purpose,
    }
    fresh: Decision | None = None
    try:
        person = seen.recipient_person_ref or upstream.pseudonym_for_cached(
            ctx, seen.to_agency, seen.person_id
        )
        if seen.status in DISCLOSING and seen.shared_categories:
            # The projection may already know the decision is stale: then skip straight to a
            # fresh decision. Otherwise only the consent service can prove it is current.
            stale = projected is not None and projected > seen.decision_revision
            if stale or not decision_is_current(
                seen.decision_revision,
                upstream.person_revision(ctx, seen.person_id),
                seen.valid_until,
                utcnow(),
            ):
                fresh = upstream.decide(
                    ctx,
                    person_id=seen.person_id,
                    disclosing_agency=seen.from_agency,
                    recipient_agency=seen.to_agency,
                    purpose=seen.purpose,
                    categories=seen.shared_categories,
                )
                if restrict(seen.shared_categories, fresh).changed:
                    upstream.confirm_person(ctx, seen)
    except Problem as problem:
        raise refuse(ctx, user, problem, **audit) from None

    referral = queries.get_referral(session, seen.id, lock=True)
    assert referral is not None
    if referral.person_id != seen.person_id:
        raise PersonMoved  # the check was about someone else
    if referral.recipient_person_ref is None:
        referral.recipient_person_ref = person
    disclosure = "stored-current"
    if fresh is not None:
        if fresh.revision >= referral.decision_revision:
            restriction = apply_decision(
                session, events, referral, fresh, actor=f"read:{user.sub}", trigger="read"
            )
            disclosure = "restricted" if restriction.changed else "rechecked"
        else:
            disclosure = "rechecked"
    served: list[str] = []
    details: dict[str, dict[str, Any]] | None = None
    if referral.status in DISCLOSING and referral.shared_categories:
        allowed = set(referral.shared_categories)
        if fresh is not None:
            allowed &= set(fresh.permitted_categories(referral.shared_categories))
        if allowed:
            details = queries.sections_of(session, referral.id, sorted(allowed))
            served = sorted(details)
    if details is None:
        disclosure = "none"
    record_access(
        session,
        events,
        user,
        action="referral.read",
        resource=f"referral/{referral.id}",
        decision="denied" if seen.status in DISCLOSING and not served else "permitted",
        person_id=referral.person_id,
        person_ref=person,
        categories=served,
        purpose=referral.purpose,
        basis=audit_basis(fresh.bases if fresh is not None else referral.bases),
        reason=None if served else (referral.status_reason or referral.status),
    )
    return referral_view(
        referral,
        side="recipient",
        person=person,
        details=details,
        history=queries.history_of(session, referral.id),
        disclosure=disclosure,
    )
