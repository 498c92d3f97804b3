"""Every query about consents, in one place."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session

from services.consent.models import Consent, ConsentVersion
from services.consent.policy.terms import ConsentTerms

_heads = Consent.__table__  # type: ignore[attr-defined]
_versions = ConsentVersion.__table__  # type: ignore[attr-defined]


def get_current(session: Session, consent_id: str) -> tuple[Consent, ConsentVersion] | None:
    """A consent's head and its current version."""
    head = session.get(Consent, consent_id)
    if head is None:
        return None
    version = session.get(ConsentVersion, (consent_id, head.version))
    assert version is not None
    return head, version


def list_for_person(session: Session, person_id: str) -> list[tuple[Consent, ConsentVersion]]:
    rows = session.exec(  # type: ignore[call-overload]
        select(Consent, ConsentVersion)
        .join(
            ConsentVersion,
            and_(
                ConsentVersion.consent_id == Consent.id,  # type: ignore[arg-type]
                ConsentVersion.version == Consent.version,  # type: ignore[arg-type]
            ),
        )
        .where(Consent.person_id == person_id)  # type: ignore[arg-type]
        .order_by(Consent.created_at)  # type: ignore[arg-type]
    ).all()
    return [(h, v) for h, v in rows]


def versions_of(session: Session, consent_id: str) -> list[ConsentVersion]:
    return list(
        session.exec(  # type: ignore[call-overload]
            select(ConsentVersion)
            .where(ConsentVersion.consent_id == consent_id)  # type: ignore[arg-type]
            .order_by(ConsentVersion.version)  # type: ignore[arg-type]
        ).scalars()
    )


_TERMS_COLUMNS = (
    _versions.c.consent_id,
    _versions.c.version,
    _versions.c.status,
    _versions.c.purposes,
    _versions.c.categories,
    _versions.c.recipients,
    _versions.c.recipient_types,
    _versions.c.source_agencies,
    _versions.c.withdrawn,
    _versions.c.starts_at,
    _versions.c.expires_at,
    _versions.c.data_life_days,
)


def current_terms(session: Session, person_id: str) -> list[ConsentTerms]:
    """The current version of each of the person's consents, as decision terms (one indexed
    query: heads by person, then versions by primary key)."""
    rows = session.execute(
        select(*_TERMS_COLUMNS)
        .select_from(
            _heads.join(
                _versions,
                and_(
                    _versions.c.consent_id == _heads.c.id,
                    _versions.c.version == _heads.c.version,
                ),
            )
        )
        .where(_heads.c.person_id == person_id)
    ).all()
    return [to_terms(person_id, r) for r in rows]


def to_terms(person_id: str, r: Any) -> ConsentTerms:
    w = r.withdrawn or {}
    return ConsentTerms(
        consent_id=r.consent_id,
        version=r.version,
        person_id=person_id,
        status=r.status,
        purposes=frozenset(r.purposes),
        categories=tuple(r.categories),
        recipients=frozenset(r.recipients),
        recipient_types=frozenset(r.recipient_types),
        source_agencies=frozenset(r.source_agencies),
        starts_at=r.starts_at,
        expires_at=r.expires_at,
        data_life_days=r.data_life_days,
        withdrawn_purposes=frozenset(w.get("purposes", ())),
        withdrawn_categories=tuple(w.get("categories", ())),
        withdrawn_recipients=frozenset(w.get("recipients", ())),
        withdrawn_recipient_types=frozenset(w.get("recipient_types", ())),
    )
