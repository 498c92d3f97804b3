"""Creating a referral: resolve the person, ask for a decision, store only what it permits.

If nothing at all may be shared the referral is still recorded, as `blocked`, with the
reasons and the consent service's suggestions of what basis would allow it; nothing is sent.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from services.referral import queries, upstream
from services.referral.events import ReferralSent
from services.referral.models import Referral, ReferralSection
from services.referral.refusals import refuse
from services.referral.rules import Decision, audit_basis, basis_keys, permitted_sections
from services.referral.schemas import ReferralIn
from shared.access_log import record_access
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import Problem, Unprocessable
from shared.events.outbox import EventWriter


def create_referral(
    ctx: ServiceContext, session: Session, events: EventWriter, user: Principal, body: ReferralIn
) -> tuple[Referral, dict[str, dict[str, object]]]:
    """Refer one of the caller's agency's clients; returns the referral and its stored sections."""
    agency = str(user.agency)
    if body.to_agency == agency:
        raise Unprocessable(
            "A referral goes to another agency.",
            slug="same-agency",
            errors=[{"field": "body.to_agency", "message": "must be another agency"}],
        )
    requested = sorted(body.details)
    audit: dict[str, Any] = {
        "action": "referral.create",
        "resource": "referral",
        "person_ref": body.person,
        "categories": requested,
        "purpose": body.purpose,
    }
    person_id, decision = _decide(ctx, user, body, requested, audit)

    shared = permitted_sections(requested, decision.permitted)
    referral = _new_referral(user, body, person_id, requested, shared, decision)
    session.add(referral)  # its id is set already; one flush writes it all, parents first
    for category in shared:
        session.add(
            ReferralSection(
                referral_id=referral.id, category=category, fields=body.details[category]
            )
        )
    queries.add_bases(session, referral.id, basis_keys(decision.bases))
    queries.add_change(
        session,
        referral,
        referral.status,
        user.sub,
        shared=shared,
        withheld=[w["category"] for w in referral.withheld],
        revision=decision.revision,
    )
    if shared:
        announce(session, events, referral)
    record_access(
        session,
        events,
        user,
        action="referral.create",
        resource=f"referral/{referral.id}",
        decision="permitted" if shared else "denied",
        person_id=person_id,
        person_ref=body.person,
        categories=shared if shared else requested,
        purpose=body.purpose,
        basis=audit_basis(decision.bases),
        reason=None if shared else "no-basis:" + ",".join(decision.reasons)[:200],
    )
    return referral, {c: body.details[c] for c in shared}


def announce(session: Session, events: EventWriter, referral: Referral) -> None:
    """Tell the recipient (and partners) a referral was sent: ids and categories only."""
    events.emit(
        session,
        ReferralSent(
            referral_id=referral.id,
            from_agency=referral.from_agency,
            to_agency=referral.to_agency,
            person_id=referral.person_id,
            purpose=referral.purpose,
            urgency=referral.urgency,
            categories=referral.shared_categories,
            revision=referral.decision_revision,
        ),
        key=referral.person_id,
        subject=f"referral/{referral.id}",
    )


def _decide(
    ctx: ServiceContext,
    user: Principal,
    body: ReferralIn,
    requested: list[str],
    audit: dict[str, Any],
) -> tuple[str, Decision]:
    """The person behind the caller's pseudonym and consent's decision about them. The
    resolution may come from memory; if consent says the person has since been merged, it is
    forgotten and asked of identity once more."""
    agency = str(user.agency)
    for cached in (True, False):
        resolve = upstream.resolve_person_cached if cached else upstream.resolve_person
        try:
            person_id = resolve(ctx, agency, body.person)
        except Problem as problem:
            raise refuse(ctx, user, problem, **audit) from None  # type: ignore[arg-type]
        try:
            return person_id, upstream.decide(
                ctx,
                person_id=person_id,
                disclosing_agency=agency,
                recipient_agency=body.to_agency,
                purpose=body.purpose,
                categories=requested,
                on_refusal="unprocessable",
            )
        except Problem as problem:
            if cached and problem.slug == "retry":
                upstream.forget_resolution(ctx, agency, body.person)
                continue
            raise refuse(ctx, user, problem, person_id=person_id, **audit) from None  # type: ignore[arg-type]
    raise AssertionError("unreachable")


def _new_referral(
    user: Principal,
    body: ReferralIn,
    person_id: str,
    requested: list[str],
    shared: list[str],
    decision: Decision,
) -> Referral:
    withheld_by_decision = {w.category: w.reasons for w in decision.withheld}
    withheld = [
        {
            "category": c,
            "reasons": withheld_by_decision.get(c) or decision.reasons or ["not_permitted"],
        }
        for c in requested
        if c not in shared
    ]
    return Referral(
        from_agency=str(user.agency),
        to_agency=body.to_agency,
        created_by=user.sub,
        person_id=person_id,
        original_person_id=person_id,
        sender_person_ref=body.person,
        purpose=body.purpose,
        urgency=body.urgency,
        summary=body.summary,
        status="sent" if shared else "blocked",
        status_reason=None if shared else "no_basis",
        requested_categories=requested,
        shared_categories=shared,
        withheld=withheld,
        bases=decision.bases,
        reasons=decision.reasons,
        suggestions=decision.suggestions,
        decision_revision=decision.revision,
        valid_until=decision.valid_until,
    )
