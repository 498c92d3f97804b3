"""The agreement lifecycle: draft -> approved (by an ig_officer of every party) -> active ->
suspended / expired / retired. Only an active agreement within its dates permits anything;
each transition bumps the revision and, where the contract says so, raises an event."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from services.consent import revision
from services.consent.agreements.schemas import AgreementIn, AgreementOut, LegalBasis
from services.consent.events import (
    AgreementActivated,
    AgreementExpired,
    AgreementFacts,
    AgreementRetired,
    AgreementSuspended,
)
from services.consent.models import Agreement, AgreementApproval
from services.consent.policy.validate import FieldErrors, check_terms
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, NotFound
from shared.events.outbox import EventWriter
from shared.vocabulary import load_vocabulary

# Which transitions an ig_officer may make, from which states.
TRANSITIONS: dict[str, tuple[set[str], str]] = {
    "activate": ({"approved"}, "active"),
    "suspend": ({"active"}, "suspended"),
    "reinstate": ({"suspended"}, "active"),
    "retire": ({"draft", "approved", "active", "suspended", "expired"}, "retired"),
}


def register(
    session: Session, officer: Principal, body: AgreementIn, *, now: datetime
) -> Agreement:
    """Put a draft in the register; the proposing officer's agency must be a party."""
    parties = list(dict.fromkeys(body.providers + body.recipients))
    errors = FieldErrors()
    check_terms(
        errors,
        load_vocabulary(),
        purposes=body.purposes,
        categories=body.categories,
        agencies={"providers": body.providers, "recipients": body.recipients},
    )
    if body.ends_at <= body.starts_at:
        errors.add("body.ends_at", "The agreement would end before it starts.", "ends_before_start")
    if not body.starts_at <= body.review_at <= body.ends_at:
        errors.add(
            "body.review_at",
            "The review must fall within the agreement's period.",
            "review_outside_period",
        )
    errors.raise_if_any()
    if officer.agency not in parties:
        raise Forbidden("Your agency is not a party to this agreement.", slug="not-a-party")
    agreement = Agreement(
        title=body.title,
        tier=body.tier,
        parties=parties,
        providers=list(dict.fromkeys(body.providers)),
        recipients=list(dict.fromkeys(body.recipients)),
        purposes=list(dict.fromkeys(body.purposes)),
        categories=list(dict.fromkeys(body.categories)),
        data_fields=body.fields,
        legal_basis=body.legal_basis.type,
        citation=body.legal_basis.citation,
        frequency=body.frequency,
        mechanism=body.mechanism,
        security=body.security,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        review_at=body.review_at,
        status="draft",
        created_by=officer.sub,
        created_by_agency=officer.agency or "",
        created_at=now,
        updated_at=now,
        revision=revision.bump(session, agreements=True),
    )
    session.add(agreement)
    session.flush()
    return agreement


def get(session: Session, agreement_id: str) -> Agreement:
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise NotFound("No such agreement.", slug="agreement-not-found")
    return agreement


def approvals_of(session: Session, agreement_id: str) -> list[str]:
    return list(
        session.exec(
            select(AgreementApproval.agency).where(AgreementApproval.agreement_id == agreement_id)
        ).all()
    )


def approve(
    session: Session, officer: Principal, agreement: Agreement, *, now: datetime
) -> Agreement:
    """An ig_officer approves for their own agency; the last party's approval makes it approved."""
    if officer.agency not in agreement.parties:
        raise Forbidden("Your agency is not a party to this agreement.", slug="not-a-party")
    if agreement.status != "draft":
        raise Conflict(f"The agreement is {agreement.status}, not a draft.", slug="not-a-draft")
    if session.get(AgreementApproval, (agreement.id, officer.agency)) is None:
        session.add(
            AgreementApproval(
                agreement_id=agreement.id,
                agency=officer.agency or "",
                approved_by=officer.sub,
                approved_at=now,
            )
        )
        session.flush()
    if set(approvals_of(session, agreement.id)) >= set(agreement.parties):
        agreement.status = "approved"
    agreement.updated_at = now
    agreement.revision = revision.bump(session, agreements=True)
    session.add(agreement)
    session.flush()
    return agreement


def transition(
    session: Session,
    events: EventWriter,
    officer: Principal,
    agreement: Agreement,
    action: str,
    *,
    now: datetime,
) -> Agreement:
    """Activate, suspend, reinstate or retire, as an ig_officer of a party."""
    if officer.agency not in agreement.parties:
        raise Forbidden("Your agency is not a party to this agreement.", slug="not-a-party")
    allowed, target = TRANSITIONS[action]
    if agreement.status not in allowed:
        raise Conflict(
            f"An agreement that is {agreement.status} cannot be {action}d.",
            slug="invalid-transition",
        )
    if target == "active" and now >= agreement.ends_at:
        raise Conflict("The agreement has ended; it cannot be made active.", slug="agreement-ended")
    agreement.status = target
    agreement.updated_at = now
    agreement.revision = revision.bump(session, agreements=True)
    session.add(agreement)
    session.flush()
    event: type[AgreementFacts] | None = {
        "active": AgreementActivated,
        "suspended": AgreementSuspended,
        "retired": AgreementRetired,
    }.get(target)
    if event is not None:
        events.emit(session, facts(event, agreement), key=agreement.id)
    return agreement


def expire(session: Session, events: EventWriter, agreement: Agreement, *, now: datetime) -> None:
    """Mark a lapsed agreement expired (decisions already refuse it from its end time)."""
    agreement.status = "expired"
    agreement.updated_at = now
    agreement.revision = revision.bump(session, agreements=True)
    session.add(agreement)
    session.flush()
    events.emit(session, facts(AgreementExpired, agreement), key=agreement.id)


def facts(event: type[AgreementFacts], a: Agreement) -> AgreementFacts:
    return event(
        agreement_id=a.id,
        providers=a.providers,
        recipients=a.recipients,
        purposes=a.purposes,
        categories=a.categories,
        legal_basis=a.legal_basis,
        citation=a.citation,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        revision=a.revision,
    )


def to_out(session: Session, a: Agreement) -> AgreementOut:
    approved = approvals_of(session, a.id)
    return AgreementOut(
        id=a.id,
        title=a.title,
        tier=a.tier,
        status=a.status,
        parties=a.parties,
        providers=a.providers,
        recipients=a.recipients,
        purposes=a.purposes,
        categories=a.categories,
        fields=a.data_fields,
        legal_basis=LegalBasis(type=a.legal_basis, citation=a.citation),  # type: ignore[arg-type]
        frequency=a.frequency,
        mechanism=a.mechanism,
        security=a.security,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        review_at=a.review_at,
        approvals=[p for p in a.parties if p in approved],
        awaiting=[p for p in a.parties if p not in approved],
        revision=a.revision,
    )
