"""Consent endpoints: `/consents` for caseworkers, `/me/consents` for the client themselves."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, status
from sqlmodel import Session

from services.consent import persons
from services.consent.consents import queries
from services.consent.consents.access import (
    audit_read,
    caller_person,
    effective_status,
    load_consent,
    to_out,
)
from services.consent.consents.fhir import to_fhir
from services.consent.consents.schemas import (
    ClientConsentIn,
    ConsentIn,
    ConsentOut,
    Evidence,
    GivenBy,
    ReceiptOut,
    RenewIn,
    WithdrawIn,
)
from services.consent.consents.service import Change, grant_consent, renew_consent, withdraw_consent
from services.consent.models import Receipt
from services.consent.runtime import Runtime
from shared.access_log import Basis, ConsentRef, record_access
from shared.app import Context, ServiceContext
from shared.auth import Caseworker, Client, Principal
from shared.db import SessionDep
from shared.events.envelope import utcnow

router = APIRouter(prefix="/consents", tags=["consents"])
client_router = APIRouter(prefix="/me/consents", tags=["client"])
keys_router = APIRouter(tags=["receipts"])


def _client_ref(ctx: ServiceContext, principal: Principal, person_id: str) -> str:
    if principal.has("client"):
        assert principal.person is not None
        return principal.person
    return persons.pseudonym_for(ctx, agency="client", person_id=person_id)


def _grant(
    session: Session,
    ctx: ServiceContext,
    runtime: Any,
    principal: Principal,
    body: ConsentIn | ClientConsentIn,
    person_ref: str | None,
) -> ConsentOut:
    person_id = caller_person(session, ctx, principal, person_ref, "consent.record")
    now = utcnow()
    change = Change(by=principal, client_ref=_client_ref(ctx, principal, person_id), now=now)
    if isinstance(body, ConsentIn):
        given_by, evidence = body.given_by, body.evidence
    else:
        given_by = GivenBy()
        evidence = Evidence(
            method="digital", reference="casebridge-client", captured_by=principal.sub
        )
    head, version = grant_consent(
        session,
        ctx.events,
        runtime,
        change,
        person_id=person_id,
        terms=body,
        given_by=given_by,
        evidence=evidence,
    )
    record_access(
        session,
        ctx.events,
        principal,
        action="consent.record",
        resource=f"consent/{head.id}",
        person_id=person_id,
        person_ref=person_ref or principal.person,
        categories=version.categories,
        basis=Basis(consents=[ConsentRef(id=head.id, version=1)]),
    )
    return to_out(head, version, now, person_ref or principal.person)


def _list(
    session: Session, ctx: ServiceContext, principal: Principal, person_ref: str | None
) -> list[ConsentOut]:
    person_id = caller_person(session, ctx, principal, person_ref, "consent.list")
    rows = [
        (h, v)
        for h, v in queries.list_for_person(session, person_id)
        if principal.has("client")
        or h.agency == principal.agency
        or principal.agency in v.source_agencies
    ]
    audit_read(
        session,
        ctx,
        principal,
        rows,
        action="consent.list",
        person_id=person_id,
        person_ref=person_ref or principal.person,
        resource=f"person/{person_ref or principal.person}/consents",
    )
    now = utcnow()
    return [to_out(h, v, now, person_ref or principal.person) for h, v in rows]


def _person_for_client(
    session: Session, ctx: ServiceContext, principal: Principal, action: str
) -> str | None:
    return caller_person(session, ctx, principal, None, action) if principal.has("client") else None


def _read(
    session: Session, ctx: ServiceContext, principal: Principal, consent_id: str
) -> ConsentOut:
    person_id = _person_for_client(session, ctx, principal, "consent.read")
    head, v = load_consent(
        session, ctx, principal, consent_id, action="consent.read", person_id=person_id
    )
    audit_read(
        session,
        ctx,
        principal,
        [(head, v)],
        action="consent.read",
        person_id=head.person_id,
        person_ref=principal.person,
        resource=f"consent/{head.id}",
    )
    return to_out(head, v, utcnow(), principal.person)


def _versions(
    session: Session, ctx: ServiceContext, principal: Principal, consent_id: str
) -> list[ConsentOut]:
    person_id = _person_for_client(session, ctx, principal, "consent.history")
    head, _ = load_consent(
        session, ctx, principal, consent_id, action="consent.history", person_id=person_id
    )
    rows = [(head, v) for v in queries.versions_of(session, consent_id)]
    audit_read(
        session,
        ctx,
        principal,
        rows,
        action="consent.history",
        person_id=head.person_id,
        person_ref=principal.person,
        resource=f"consent/{head.id}/versions",
    )
    now = utcnow()
    out = []
    for h, v in rows:
        item = to_out(h, v, now, principal.person)
        item.status = (
            "withdrawn"
            if v.status == "withdrawn"
            else ("expired" if now >= v.expires_at else "active")
        )
        out.append(item)
    return out


def _withdraw(
    session: Session,
    ctx: ServiceContext,
    runtime: Any,
    principal: Principal,
    consent_id: str,
    body: WithdrawIn,
) -> ConsentOut:
    person_id = _person_for_client(session, ctx, principal, "consent.withdraw")
    head, current = load_consent(
        session, ctx, principal, consent_id, action="consent.withdraw", person_id=person_id
    )
    now = utcnow()
    change = Change(by=principal, client_ref=_client_ref(ctx, principal, head.person_id), now=now)
    version = withdraw_consent(
        session, ctx.events, runtime, change, head=head, current=current, parts=body
    )
    result = version or current
    audit_read(
        session,
        ctx,
        principal,
        [(head, result)],
        action="consent.withdraw",
        person_id=head.person_id,
        person_ref=principal.person,
        resource=f"consent/{head.id}",
    )
    return to_out(head, result, now, principal.person)


def _renew(
    session: Session,
    ctx: ServiceContext,
    runtime: Any,
    principal: Principal,
    consent_id: str,
    body: RenewIn,
) -> ConsentOut:
    person_id = _person_for_client(session, ctx, principal, "consent.renew")
    head, current = load_consent(
        session, ctx, principal, consent_id, action="consent.renew", person_id=person_id
    )
    now = utcnow()
    change = Change(by=principal, client_ref=_client_ref(ctx, principal, head.person_id), now=now)
    version = renew_consent(
        session,
        ctx.events,
        runtime,
        change,
        head=head,
        current=current,
        expires_at=body.expires_at,
        evidence=body.evidence,
    )
    audit_read(
        session,
        ctx,
        principal,
        [(head, version)],
        action="consent.renew",
        person_id=head.person_id,
        person_ref=principal.person,
        resource=f"consent/{head.id}",
    )
    return to_out(head, version, now, principal.person)


def _receipts(
    session: Session, ctx: ServiceContext, principal: Principal, consent_id: str
) -> list[ReceiptOut]:
    person_id = _person_for_client(session, ctx, principal, "consent.receipts")
    head, v = load_consent(
        session, ctx, principal, consent_id, action="consent.receipts", person_id=person_id
    )
    audit_read(
        session,
        ctx,
        principal,
        [(head, v)],
        action="consent.receipts",
        person_id=head.person_id,
        person_ref=principal.person,
        resource=f"consent/{head.id}/receipts",
    )
    from sqlmodel import select

    receipts = session.exec(
        select(Receipt).where(Receipt.consent_id == consent_id).order_by(Receipt.version)  # type: ignore[arg-type]
    ).all()
    return [
        ReceiptOut(
            id=r.id,
            consent_id=r.consent_id,
            version=r.version,
            receipt=r.document,
            signature=r.signature,
            kid=r.key_id,
        )
        for r in receipts
    ]


def _fhir(
    session: Session, ctx: ServiceContext, principal: Principal, consent_id: str
) -> dict[str, Any]:
    person_id = _person_for_client(session, ctx, principal, "consent.export")
    head, v = load_consent(
        session, ctx, principal, consent_id, action="consent.export", person_id=person_id
    )
    if principal.has("client"):
        agency, pseudonym = "client", principal.person or ""
    else:
        agency = principal.agency or ""
        pseudonym = persons.pseudonym_for(ctx, agency=agency, person_id=head.person_id)
    audit_read(
        session,
        ctx,
        principal,
        [(head, v)],
        action="consent.export",
        person_id=head.person_id,
        person_ref=pseudonym,
        resource=f"consent/{head.id}/fhir",
    )
    return to_fhir(
        head, v, status=effective_status(head, utcnow()), pseudonym=pseudonym, agency=agency
    )


# --- caseworkers ---------------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ConsentOut)
def record_consent(
    body: ConsentIn, user: Caseworker, session: SessionDep, ctx: Context, runtime: Runtime
) -> ConsentOut:
    """Record a consent your agency's client (or their representative) gave, with evidence."""
    return _grant(session, ctx, runtime, user, body, body.person)


@router.get("", response_model=list[ConsentOut])
def list_consents(
    user: Caseworker,
    session: SessionDep,
    ctx: Context,
    person: str = Query(min_length=1, max_length=128),
) -> list[ConsentOut]:
    """The consents about your agency's client that your agency recorded or is a source of."""
    return _list(session, ctx, user, person)


@router.get("/{consent_id}", response_model=ConsentOut)
def read_consent(
    consent_id: str, user: Caseworker, session: SessionDep, ctx: Context
) -> ConsentOut:
    return _read(session, ctx, user, consent_id)


@router.get("/{consent_id}/versions", response_model=list[ConsentOut])
def consent_history(
    consent_id: str, user: Caseworker, session: SessionDep, ctx: Context
) -> list[ConsentOut]:
    """Every version, oldest first: history is never rewritten."""
    return _versions(session, ctx, user, consent_id)


@router.post("/{consent_id}/withdraw", response_model=ConsentOut)
def withdraw(
    consent_id: str,
    user: Caseworker,
    session: SessionDep,
    ctx: Context,
    runtime: Runtime,
    body: WithdrawIn | None = None,
) -> ConsentOut:
    """Withdraw all (empty body) or part of a consent, at once. Idempotent."""
    return _withdraw(session, ctx, runtime, user, consent_id, body or WithdrawIn())


@router.post("/{consent_id}/renew", response_model=ConsentOut)
def renew(
    consent_id: str,
    body: RenewIn,
    user: Caseworker,
    session: SessionDep,
    ctx: Context,
    runtime: Runtime,
) -> ConsentOut:
    return _renew(session, ctx, runtime, user, consent_id, body)


@router.get("/{consent_id}/receipts", response_model=list[ReceiptOut])
def consent_receipts(
    consent_id: str, user: Caseworker, session: SessionDep, ctx: Context
) -> list[ReceiptOut]:
    return _receipts(session, ctx, user, consent_id)


@router.get("/{consent_id}/fhir")
def export_fhir(
    consent_id: str, user: Caseworker, session: SessionDep, ctx: Context
) -> dict[str, Any]:
    """The consent as an HL7 FHIR R4 Consent resource."""
    return _fhir(session, ctx, user, consent_id)


# --- the client themselves -------------------------------------------------------------------


@client_router.get("", response_model=list[ConsentOut])
def my_consents(user: Client, session: SessionDep, ctx: Context) -> list[ConsentOut]:
    """Your consents, whoever recorded them."""
    return _list(session, ctx, user, None)


@client_router.post("", status_code=status.HTTP_201_CREATED, response_model=ConsentOut)
def grant_my_consent(
    body: ClientConsentIn, user: Client, session: SessionDep, ctx: Context, runtime: Runtime
) -> ConsentOut:
    """Grant a consent yourself; you get a signed receipt."""
    return _grant(session, ctx, runtime, user, body, None)


@client_router.get("/{consent_id}", response_model=ConsentOut)
def read_my_consent(consent_id: str, user: Client, session: SessionDep, ctx: Context) -> ConsentOut:
    return _read(session, ctx, user, consent_id)


@client_router.get("/{consent_id}/versions", response_model=list[ConsentOut])
def my_consent_history(
    consent_id: str, user: Client, session: SessionDep, ctx: Context
) -> list[ConsentOut]:
    return _versions(session, ctx, user, consent_id)


@client_router.post("/{consent_id}/withdraw", response_model=ConsentOut)
def withdraw_mine(
    consent_id: str,
    user: Client,
    session: SessionDep,
    ctx: Context,
    runtime: Runtime,
    body: WithdrawIn | None = None,
) -> ConsentOut:
    return _withdraw(session, ctx, runtime, user, consent_id, body or WithdrawIn())


@client_router.post("/{consent_id}/renew", response_model=ConsentOut)
def renew_mine(
    consent_id: str,
    body: RenewIn,
    user: Client,
    session: SessionDep,
    ctx: Context,
    runtime: Runtime,
) -> ConsentOut:
    return _renew(session, ctx, runtime, user, consent_id, body)


@client_router.get("/{consent_id}/receipts", response_model=list[ReceiptOut])
def my_receipts(
    consent_id: str, user: Client, session: SessionDep, ctx: Context
) -> list[ReceiptOut]:
    return _receipts(session, ctx, user, consent_id)


@client_router.get("/{consent_id}/fhir")
def my_consent_fhir(
    consent_id: str, user: Client, session: SessionDep, ctx: Context
) -> dict[str, Any]:
    return _fhir(session, ctx, user, consent_id)


# --- receipt verification -------------------------------------------------------------------


@keys_router.get("/receipts/key")
def receipt_key(runtime: Runtime) -> dict[str, Any]:
    """The public key that verifies consent receipts (a JWK, OKP/Ed25519). Public."""
    return {"keys": [runtime.signer.jwk()]}
