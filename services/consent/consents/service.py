"""Granting, withdrawing and renewing consents. Each change is a new version, bumps the
revision, announces itself on the consent topic and issues a signed receipt, all in the
caller's transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from services.consent import revision
from services.consent.consents.receipts import issue
from services.consent.consents.schemas import ConsentTermsIn, Evidence, GivenBy, WithdrawIn
from services.consent.events import ConsentGranted, ConsentRenewed, ConsentWithdrawn, Scope
from services.consent.models import Consent, ConsentVersion
from services.consent.policy.validate import FieldErrors, check_period, check_terms
from services.consent.policy.vocab import covered
from services.consent.runtime import ConsentRuntime
from shared.auth import Principal
from shared.errors import Conflict
from shared.events.outbox import EventWriter
from shared.vocabulary import load_vocabulary


@dataclass(frozen=True)
class Change:
    """Who makes a change, and the client's pseudonym for the receipt."""

    by: Principal
    client_ref: str
    now: datetime

    @property
    def agency(self) -> str:
        return self.by.agency or "client"


def validate_terms(terms: ConsentTermsIn, *, now: datetime) -> None:
    errors = FieldErrors()
    vocab = load_vocabulary()
    check_terms(
        errors,
        vocab,
        purposes=terms.purposes,
        categories=terms.categories,
        agencies={"recipients": terms.recipients, "source_agencies": terms.source_agencies},
        agency_types=terms.recipient_types,
    )
    check_period(
        errors,
        vocab,
        purposes=terms.purposes,
        starts_at=terms.starts_at or now,
        expires_at=terms.expires_at,
        now=now,
    )
    errors.raise_if_any()


def grant_consent(
    session: Session,
    events: EventWriter,
    runtime: ConsentRuntime,
    change: Change,
    *,
    person_id: str,
    terms: ConsentTermsIn,
    given_by: GivenBy,
    evidence: Evidence,
) -> tuple[Consent, ConsentVersion]:
    """Record a new consent (version 1)."""
    validate_terms(terms, now=change.now)
    rev = revision.bump(session, person_id=person_id)
    head = Consent(
        person_id=person_id,
        agency=change.agency,
        version=1,
        status="active",
        expires_at=terms.expires_at,
        created_at=change.now,
    )
    version = ConsentVersion(
        consent_id=head.id,
        version=1,
        person_id=person_id,
        status="active",
        change="granted",
        purposes=_unique(terms.purposes),
        categories=_unique(terms.categories),
        recipients=_unique(terms.recipients),
        recipient_types=_unique(terms.recipient_types),
        source_agencies=_unique(terms.source_agencies or [change.agency]),
        withdrawn={},
        starts_at=terms.starts_at or change.now,
        expires_at=terms.expires_at,
        data_life_days=terms.data_life_days or runtime.own.default_data_life_days,
        given_by=given_by.model_dump(exclude_none=True),
        evidence=evidence.model_dump(),
        recorded_by=change.by.sub,
        recorded_by_agency=change.agency,
        revision=rev,
        recorded_at=change.now,
    )
    session.add(head)
    session.add(version)
    session.flush()
    events.emit(
        session,
        ConsentGranted(
            consent_id=head.id,
            version=1,
            person_id=person_id,
            agency=head.agency,
            scope=Scope(
                purposes=version.purposes,
                categories=version.categories,
                recipients=version.recipients,
                recipient_types=version.recipient_types,
            ),
            source_agencies=version.source_agencies,
            starts_at=version.starts_at,
            expires_at=version.expires_at,
            data_life_days=version.data_life_days,
            revision=rev,
        ),
        key=person_id,
    )
    _receipt(session, runtime, change, head, version)
    return head, version


def withdraw_consent(
    session: Session,
    events: EventWriter,
    runtime: ConsentRuntime,
    change: Change,
    *,
    head: Consent,
    current: ConsentVersion,
    parts: WithdrawIn,
) -> ConsentVersion | None:
    """Withdraw all or part of a consent at once. Idempotent: withdrawing what is already
    withdrawn changes nothing and announces nothing (returns None)."""
    if head.status == "withdrawn":
        return None
    if not parts.whole:
        errors = FieldErrors()
        check_terms(
            errors,
            load_vocabulary(),
            purposes=parts.purposes,
            categories=parts.categories,
            agencies={"recipients": parts.recipients},
            agency_types=parts.recipient_types,
        )
        errors.raise_if_any()
    taken, remaining = _subtract(current, parts)
    if not any(taken.model_dump().values()):
        return None
    whole = parts.whole or not (
        remaining["purposes"]
        and remaining["categories"]
        and (remaining["recipients"] or remaining["recipient_types"])
    )
    withdrawn = {
        k: _unique(current.withdrawn.get(k, []) + v) for k, v in taken.model_dump().items()
    }
    version = _next_version(
        current,
        change,
        status="withdrawn" if whole else "active",
        what="withdrawn" if whole else "partially_withdrawn",
        withdrawn=withdrawn,
        **({} if whole else remaining),
    )
    version.revision = revision.bump(session, person_id=head.person_id)
    _advance(session, head, version)
    events.emit(
        session,
        ConsentWithdrawn(
            consent_id=head.id,
            version=version.version,
            person_id=head.person_id,
            whole=whole,
            withdrawn=taken,
            revision=version.revision,
        ),
        key=head.person_id,
    )
    _receipt(session, runtime, change, head, version)
    return version


def renew_consent(
    session: Session,
    events: EventWriter,
    runtime: ConsentRuntime,
    change: Change,
    *,
    head: Consent,
    current: ConsentVersion,
    expires_at: datetime,
    evidence: Evidence | None,
) -> ConsentVersion:
    """Extend a consent's period as a new version (a withdrawn consent cannot be renewed)."""
    if head.status == "withdrawn":
        raise Conflict("A withdrawn consent cannot be renewed; record a new one.", slug="withdrawn")
    errors = FieldErrors()
    check_period(
        errors,
        load_vocabulary(),
        purposes=current.purposes,
        starts_at=current.starts_at,
        expires_at=expires_at,
        now=change.now,
    )
    errors.raise_if_any()
    version = _next_version(current, change, status="active", what="renewed")
    version.expires_at = expires_at
    if evidence is not None:
        version.evidence = evidence.model_dump()
    version.revision = revision.bump(session, person_id=head.person_id)
    head.expiry_announced_at = None
    _advance(session, head, version)
    events.emit(
        session,
        ConsentRenewed(
            consent_id=head.id,
            version=version.version,
            person_id=head.person_id,
            expires_at=expires_at,
            revision=version.revision,
        ),
        key=head.person_id,
    )
    _receipt(session, runtime, change, head, version)
    return version


def _subtract(current: ConsentVersion, parts: WithdrawIn) -> tuple[Scope, dict[str, list[str]]]:
    """What a withdrawal actually takes away, and what remains granted."""
    if parts.whole:
        taken = Scope(
            purposes=current.purposes,
            categories=current.categories,
            recipients=current.recipients,
            recipient_types=current.recipient_types,
        )
        return taken, {}
    vocab = load_vocabulary()
    agencies_by_type = {a.id for a in vocab.agencies if a.type in current.recipient_types}
    taken = Scope(
        purposes=[p for p in _unique(parts.purposes) if p in current.purposes],
        # a category is taken if it narrows what is granted (itself, a parent or a child)
        categories=[
            c
            for c in _unique(parts.categories)
            if not covered(current.withdrawn.get("categories", []), c)
            and any(covered([g], c) or covered([c], g) for g in current.categories)
        ],
        recipients=[
            r
            for r in _unique(parts.recipients)
            if (r in current.recipients or r in agencies_by_type)
            and r not in current.withdrawn.get("recipients", [])
        ],
        recipient_types=[t for t in _unique(parts.recipient_types) if t in current.recipient_types],
    )
    remaining = {
        "purposes": [p for p in current.purposes if p not in taken.purposes],
        "categories": [g for g in current.categories if not covered(taken.categories, g)],
        "recipients": [r for r in current.recipients if r not in taken.recipients],
        "recipient_types": [t for t in current.recipient_types if t not in taken.recipient_types],
    }
    return taken, remaining


def _next_version(
    current: ConsentVersion, change: Change, *, status: str, what: str, **terms: object
) -> ConsentVersion:
    data = current.model_dump()
    data.update(terms)
    data.update(
        version=current.version + 1,
        status=status,
        change=what,
        recorded_by=change.by.sub,
        recorded_by_agency=change.agency,
        recorded_at=change.now,
    )
    return ConsentVersion(**data)


def _advance(session: Session, head: Consent, version: ConsentVersion) -> None:
    head.version = version.version
    head.status = version.status
    head.expires_at = version.expires_at
    session.add(head)
    session.add(version)
    session.flush()


def _receipt(
    session: Session, runtime: ConsentRuntime, change: Change, head: Consent, v: ConsentVersion
) -> None:
    issue(
        session,
        head=head,
        version=v,
        principal_ref=change.client_ref,
        signer=runtime.signer,
        own=runtime.own,
    )


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
