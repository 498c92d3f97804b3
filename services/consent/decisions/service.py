"""Answering a sharing question from the store: load one person's terms (indexed queries) and
the agreement index, decide, persist break-glass if the glass was broken, audit."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from services.consent import revision
from services.consent.decisions.schemas import DecisionRequest
from services.consent.decisions.snapshot import Snapshot
from services.consent.events import BreakGlassUsed
from services.consent.models import BreakGlassGrant, new_id
from services.consent.policy import terms as t
from services.consent.policy.decide import decide
from services.consent.policy.outcome import Decision
from services.consent.policy.validate import FieldErrors, check_terms
from services.consent.runtime import ConsentRuntime
from shared.access_log import Basis, ConsentRef, record_access
from shared.auth import Principal
from shared.events.outbox import EventWriter
from shared.vocabulary import load_vocabulary


def validate(req: DecisionRequest) -> str:
    """Every term must be known; returns the recipient's agency type."""
    vocab = load_vocabulary()
    errors = FieldErrors()
    check_terms(
        errors,
        vocab,
        purposes=[req.purpose] if req.purpose else [],
        categories=req.categories,
        agencies={
            "disclosing_agency": [req.disclosing_agency],
            "recipient_agency": [req.recipient_agency],
        },
    )
    for e in errors.errors:  # name the scalar fields as the caller sent them
        e["field"] = e["field"].removesuffix(".0").replace("purposes", "purpose")
    errors.raise_if_any()
    recipient = vocab.agency(req.recipient_agency)
    assert recipient is not None
    return recipient.type


class PersonMerged(Exception):
    """The person was merged into another: a decision about them would be about nobody (their
    consents now live with the survivor), so it is refused, not denied."""


def load_state(
    session: Session,
    runtime: ConsentRuntime,
    person_id: str,
    disclosing: str,
    recipient: str,
    now: datetime,
) -> t.PolicyState:
    """The revision is read first, so the terms read after it are at least that current."""
    reads = Snapshot(session).read(person_id, now)
    if reads.merged:
        raise PersonMerged(person_id)
    index = runtime.agreements.get(session, reads.marks.get(revision.AGREEMENTS, 0))
    return t.PolicyState(
        revision=reads.marks.get(revision.GLOBAL, 0),
        consents=reads.consents,
        objections=reads.objections,
        agreements=index.between(disclosing, recipient),
        grants=reads.grants,
    )


def make_decision(
    session: Session,
    events: EventWriter,
    runtime: ConsentRuntime,
    principal: Principal,
    req: DecisionRequest,
    *,
    person_id: str,
    recipient_type: str,
    now: datetime,
) -> Decision:
    state = load_state(
        session, runtime, person_id, req.disclosing_agency, req.recipient_agency, now
    )
    glass = None
    if req.break_glass is not None:
        glass = t.BreakGlassRequest(
            grant_id=new_id(),
            justification=req.break_glass.justification,
            until=now + timedelta(minutes=runtime.own.break_glass_minutes),
        )
    question = t.Question(
        person_id=person_id,
        disclosing_agency=req.disclosing_agency,
        recipient_agency=req.recipient_agency,
        recipient_type=recipient_type,
        purpose=req.purpose or None,
        categories=tuple(dict.fromkeys(req.categories)),
        break_glass=glass,
    )
    decision = decide(question, state, now=now)
    if decision.break_glass_granted is not None and glass is not None and req.purpose:
        decision.revision = _break_glass(session, events, principal, question, glass, decision, now)
    record_access(
        session,
        events,
        principal,
        action="consent.decision",
        resource=f"decision/{req.disclosing_agency}->{req.recipient_agency}",
        person_id=person_id,
        person_ref=req.person,
        categories=list(question.categories),
        purpose=req.purpose,
        basis=Basis(
            consents=[
                ConsentRef(id=b.consent_id, version=b.version)
                for b in decision.bases
                if b.kind == "consent"
            ],
            agreements=[b.agreement_id for b in decision.bases if b.kind == "agreement"],
            break_glass=glass.justification if glass and decision.break_glass_granted else None,
        ),
        decision="denied" if decision.decision == "deny" else "permitted",
        reason=",".join(decision.reasons) or None,
    )
    return decision


def _break_glass(
    session: Session,
    events: EventWriter,
    principal: Principal,
    q: t.Question,
    glass: t.BreakGlassRequest,
    decision: Decision,
    now: datetime,
) -> int:
    """Keep the grant (so it permits for its window) and raise the alert, in this transaction."""
    assert decision.break_glass_granted is not None and q.purpose is not None
    rev = revision.bump(session, person_id=q.person_id)
    categories = decision.break_glass_granted.categories
    session.add(
        BreakGlassGrant(
            id=glass.grant_id,
            person_id=q.person_id,
            disclosing_agency=q.disclosing_agency,
            recipient_agency=q.recipient_agency,
            purpose=q.purpose,
            categories=categories,
            justification=glass.justification,
            granted_by=principal.sub,
            granted_at=now,
            until=glass.until,
            revision=rev,
        )
    )
    events.emit(
        session,
        BreakGlassUsed(
            grant_id=glass.grant_id,
            person_id=q.person_id,
            disclosing_agency=q.disclosing_agency,
            recipient_agency=q.recipient_agency,
            purpose=q.purpose,
            categories=categories,
            granted_by=principal.sub,
            until=glass.until,
            revision=rev,
        ),
        key=q.person_id,
    )
    return rev
