"""Small factories for policy terms in unit tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.consent.policy.terms import (
    AgreementTerms,
    ConsentTerms,
    ObjectionTerms,
    PolicyState,
    Question,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def consent(**kw: Any) -> ConsentTerms:
    base = ConsentTerms(
        consent_id="c1",
        version=1,
        person_id="p1",
        status="active",
        purposes=frozenset({"housing_support"}),
        categories=("housing", "health.summary"),
        recipients=frozenset({"council-asc", "nhs-mh"}),
        recipient_types=frozenset(),
        source_agencies=frozenset({"housing"}),
        starts_at=NOW - timedelta(days=1),
        expires_at=NOW + timedelta(days=90),
        data_life_days=30,
    )
    return replace(base, **kw)


def agreement(**kw: Any) -> AgreementTerms:
    base = AgreementTerms(
        agreement_id="a1",
        title="Safeguarding children",
        status="active",
        providers=frozenset({"school-oak"}),
        recipients=frozenset({"council-csc"}),
        purposes=frozenset({"safeguarding"}),
        categories=("children", "identity"),
        legal_basis="statutory_duty",
        citation="Children Act 2004 s11",
        starts_at=NOW - timedelta(days=10),
        ends_at=NOW + timedelta(days=300),
    )
    return replace(base, **kw)


def objection(**kw: Any) -> ObjectionTerms:
    return replace(ObjectionTerms(objection_id="o1", person_id="p1", kind="objection"), **kw)


def question(**kw: Any) -> Question:
    base = Question(
        person_id="p1",
        disclosing_agency="housing",
        recipient_agency="council-asc",
        recipient_type="local_authority",
        purpose="housing_support",
        categories=("housing.tenancy",),
    )
    return replace(base, **kw)


def state(**kw: Any) -> PolicyState:
    return PolicyState(revision=kw.pop("revision", 7), **kw)
