"""The reads behind a decision, as plain driver-level SQL: a decision is the hot path, and
building SQLAlchemy expressions for it cost more than running the queries. Each statement is
indexed: merges and revision marks by primary key, consent heads by person, versions by primary key,
objections by (person, status), break-glass grants by (person, until)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from services.consent.policy.terms import BreakGlassGrant, ConsentTerms, ObjectionTerms

_SQL = {
    "merged": "SELECT 1 FROM person_merges WHERE merged_person_id = {p}",
    "marks": "SELECT scope, revision FROM revision_marks WHERE scope IN ('global', 'agreements')",
    "consents": (
        "SELECT v.consent_id, v.version, v.status, v.purposes, v.categories, v.recipients, "
        "v.recipient_types, v.source_agencies, v.withdrawn, v.starts_at, v.expires_at, "
        "v.data_life_days FROM consents c JOIN consent_versions v "
        "ON v.consent_id = c.id AND v.version = c.version WHERE c.person_id = {p}"
    ),
    "objections": (
        "SELECT id, kind, purposes, recipients, categories FROM objections "
        "WHERE person_id = {p} AND status = 'active'"
    ),
    "grants": (
        "SELECT id, disclosing_agency, recipient_agency, purpose, categories, until "
        "FROM break_glass_grants WHERE person_id = {p} AND until > {p}"
    ),
}


def _statements(dialect: str) -> dict[str, str]:
    mark = "?" if dialect == "sqlite" else "%s"
    return {k: v.format(p=mark) for k, v in _SQL.items()}


_BY_DIALECT = {d: _statements(d) for d in ("sqlite", "postgresql")}


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _when(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _bind_when(dialect: str, when: datetime) -> Any:
    # SQLAlchemy stores SQLite datetimes as naive 'YYYY-MM-DD HH:MM:SS.ffffff' text (UTC).
    if dialect == "sqlite":
        return when.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return when


class Snapshot:
    """Reads one person's policy terms inside the caller's transaction."""

    def __init__(self, session: Session) -> None:
        conn = session.connection()
        self.dialect = conn.dialect.name
        self.sql = _BY_DIALECT.get(self.dialect) or _statements(self.dialect)
        self.conn = conn

    def read(self, person_id: str, now: datetime) -> Reads:
        """All five reads, in this order (the revision before the terms); on PostgreSQL in one
        round trip, pipelined: each is a quick indexed lookup, and waiting was most of its cost."""
        asks = [
            ("merged", (person_id,)),
            ("marks", ()),
            ("consents", (person_id,)),
            ("objections", (person_id,)),
            ("grants", (person_id, _bind_when(self.dialect, now))),
        ]
        if self.dialect == "postgresql":
            rows = self._pipelined(asks)
        else:
            rows = [list(self.conn.exec_driver_sql(self.sql[n], p)) for n, p in asks]
        merged, marks, consents, objections, grants = rows
        return Reads(
            merged=bool(merged),
            marks={scope: int(rev) for scope, rev in marks},
            consents=_consents(person_id, consents),
            objections=_objections(person_id, objections),
            grants=_grants(person_id, grants),
        )

    def _pipelined(self, asks: list[tuple[str, tuple[Any, ...]]]) -> list[list[Any]]:
        driver = self.conn.connection.driver_connection
        assert driver is not None
        cursors = [driver.cursor() for _ in asks]
        with driver.pipeline():
            for cur, (name, params) in zip(cursors, asks, strict=True):
                cur.execute(self.sql[name], params)
        try:
            return [cur.fetchall() for cur in cursors]
        finally:
            for cur in cursors:
                cur.close()


@dataclass(frozen=True)
class Reads:
    merged: bool
    marks: dict[str, int]
    consents: list[ConsentTerms]
    objections: list[ObjectionTerms]
    grants: list[BreakGlassGrant]


def _consents(person_id: str, rows: list[Any]) -> list[ConsentTerms]:
    out = []
    for r in rows:
        w = _json(r[8]) or {}
        out.append(
            ConsentTerms(
                consent_id=r[0],
                version=int(r[1]),
                person_id=person_id,
                status=r[2],
                purposes=frozenset(_json(r[3])),
                categories=tuple(_json(r[4])),
                recipients=frozenset(_json(r[5])),
                recipient_types=frozenset(_json(r[6])),
                source_agencies=frozenset(_json(r[7])),
                starts_at=_when(r[9]),
                expires_at=_when(r[10]),
                data_life_days=int(r[11]),
                withdrawn_purposes=frozenset(w.get("purposes", ())),
                withdrawn_categories=tuple(w.get("categories", ())),
                withdrawn_recipients=frozenset(w.get("recipients", ())),
                withdrawn_recipient_types=frozenset(w.get("recipient_types", ())),
            )
        )
    return out


def _objections(person_id: str, rows: list[Any]) -> list[ObjectionTerms]:
    return [
        ObjectionTerms(
            objection_id=r[0],
            person_id=person_id,
            kind=r[1],
            purposes=frozenset(_json(r[2])),
            recipients=frozenset(_json(r[3])),
            categories=tuple(_json(r[4])),
        )
        for r in rows
    ]


def _grants(person_id: str, rows: list[Any]) -> list[BreakGlassGrant]:
    return [
        BreakGlassGrant(
            grant_id=r[0],
            person_id=person_id,
            disclosing_agency=r[1],
            recipient_agency=r[2],
            purpose=r[3],
            categories=tuple(_json(r[4])),
            until=_when(r[5]),
        )
        for r in rows
    ]
