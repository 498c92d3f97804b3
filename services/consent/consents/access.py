"""Who may see or change a consent, decided in one place.

A caseworker acts for their agency: on consents their agency recorded or is a source of. A
client acts only on consents about themselves. Every refusal is audited (P3).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from services.consent import persons
from services.consent.consents import queries
from services.consent.consents.schemas import ConsentOut
from services.consent.models import Consent, ConsentVersion
from services.consent.refusals import refuse
from shared.access_log import Basis, ConsentRef, record_access
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import Forbidden, NotFound


def effective_status(head: Consent, now: datetime) -> str:
    """Expiry takes effect at its time, whatever the sweep has announced."""
    if head.status == "withdrawn":
        return "withdrawn"
    return "expired" if now >= head.expires_at else "active"


def to_out(head: Consent, v: ConsentVersion, now: datetime, person: str | None) -> ConsentOut:
    return ConsentOut(
        id=head.id,
        version=v.version,
        status=effective_status(head, now),  # type: ignore[arg-type]
        agency=head.agency,
        person=person,
        change=v.change,
        purposes=v.purposes,
        categories=v.categories,
        recipients=v.recipients,
        recipient_types=v.recipient_types,
        source_agencies=v.source_agencies,
        withdrawn=v.withdrawn,
        starts_at=v.starts_at,
        expires_at=v.expires_at,
        data_life_days=v.data_life_days,
        given_by=v.given_by,
        evidence=v.evidence,
        recorded_by_agency=v.recorded_by_agency,
        recorded_at=v.recorded_at,
        revision=v.revision,
    )


def caller_person(
    session: Session,
    ctx: ServiceContext,
    principal: Principal,
    pseudonym: str | None,
    action: str,
) -> str:
    """Resolve the person the caller names: a client is who their token says; a caseworker
    names their agency's client by pseudonym. Refusals are audited."""
    agency: str | None = "client" if principal.has("client") else principal.agency
    ref = principal.person if principal.has("client") else pseudonym
    assert agency is not None and ref is not None
    try:
        return persons.resolve(ctx, agency=agency, pseudonym=ref)
    except Forbidden as exc:
        refuse(
            session,
            ctx,
            principal,
            Forbidden("That person is not a client of your agency.", slug="not-your-client"),
            action=action,
            resource=f"person/{ref}",
            person_ref=ref,
            reason=exc.slug,
        )


def may_act_on(
    principal: Principal, head: Consent, v: ConsentVersion, person_id: str | None
) -> bool:
    if principal.has("client"):
        return person_id is not None and head.person_id == person_id
    return head.agency == principal.agency or principal.agency in v.source_agencies


def load_consent(
    session: Session,
    ctx: ServiceContext,
    principal: Principal,
    consent_id: str,
    *,
    action: str,
    person_id: str | None = None,
) -> tuple[Consent, ConsentVersion]:
    """The consent and its current version, if this caller may act on it (else audited 403)."""
    found = queries.get_current(session, consent_id)
    if found is None:
        raise NotFound("No such consent.", slug="consent-not-found")
    head, version = found
    if not may_act_on(principal, head, version, person_id):
        problem = (
            Forbidden("That consent is about another person.", slug="wrong-person")
            if principal.has("client")
            else Forbidden("That consent belongs to another agency.", slug="wrong-agency")
        )
        refuse(
            session,
            ctx,
            principal,
            problem,
            action=action,
            resource=f"consent/{consent_id}",
            person_id=head.person_id,
        )
    return head, version


def audit_read(
    session: Session,
    ctx: ServiceContext,
    principal: Principal,
    rows: list[tuple[Consent, ConsentVersion]],
    *,
    action: str,
    person_id: str,
    person_ref: str | None,
    resource: str,
) -> None:
    """Reading consents is an access to personal data: one audit record, with the versions."""
    categories = sorted({c for _, v in rows for c in v.categories})
    record_access(
        session,
        ctx.events,
        principal,
        action=action,
        resource=resource,
        person_id=person_id,
        person_ref=person_ref,
        categories=categories,
        basis=Basis(consents=[ConsentRef(id=h.id, version=v.version) for h, v in rows]),
    )
