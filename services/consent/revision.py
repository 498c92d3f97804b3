"""The policy revision (P6): a counter bumped in the same transaction as every change.

`global` counts every change; `person:<id>` remembers the latest change that affected one
person and `agreements` the latest change to any agreement, so that a consumer holding a
projection can prove it is current for the person it is about to disclose.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session

from services.consent.models import RevisionMark

GLOBAL = "global"
AGREEMENTS = "agreements"

_marks = RevisionMark.__table__  # type: ignore[attr-defined]


def person_scope(person_id: str) -> str:
    return f"person:{person_id}"


def bump(session: Session, *, person_id: str | None = None, agreements: bool = False) -> int:
    """Advance the global revision and mark what it concerns. Holds the counter's row lock
    until commit, so revisions are handed out in commit order."""
    value = session.execute(
        update(_marks)
        .where(_marks.c.scope == GLOBAL)
        .values(revision=_marks.c.revision + 1)
        .returning(_marks.c.revision)
    ).scalar_one()
    scopes = ([person_scope(person_id)] if person_id else []) + ([AGREEMENTS] if agreements else [])
    for scope in scopes:
        moved = session.execute(
            update(_marks).where(_marks.c.scope == scope).values(revision=value)
        ).rowcount  # type: ignore[attr-defined]
        if not moved:
            session.execute(insert(_marks).values(scope=scope, revision=value))
    return int(value)


def current(session: Session, *scopes: str) -> dict[str, int]:
    """The revisions of the given scopes (0 for a scope that never changed)."""
    rows = session.execute(
        select(_marks.c.scope, _marks.c.revision).where(_marks.c.scope.in_(scopes))
    ).all()
    found = {scope: int(rev) for scope, rev in rows}
    return {s: found.get(s, 0) for s in scopes}


def for_persons(session: Session, person_ids: Iterable[str]) -> dict[str, Any]:
    """`revision` (global) and, per person, the latest change to them or to any agreement."""
    ids = list(dict.fromkeys(person_ids))
    marks = current(session, GLOBAL, AGREEMENTS, *map(person_scope, ids))
    return {
        "revision": marks[GLOBAL],
        "person_revisions": {p: max(marks[AGREEMENTS], marks[person_scope(p)]) for p in ids},
    }
