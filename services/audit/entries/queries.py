"""The queries over entries, newest first, with keyset (position) cursors."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlmodel import Session

from services.audit.ledger import entries_table as t
from shared.errors import BadRequest


@dataclass(frozen=True)
class EntryFilter:
    """What an auditor may search by; every given field must match."""

    person_id: str | None = None
    user: str | None = None
    agency: str | None = None
    purpose: str | None = None
    action: str | None = None
    decision: str | None = None
    service: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    # For a client: their id and the ids merged into it (instead of person_id).
    person_ids: tuple[str, ...] | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def describe(self) -> str:
        given = {f.name: getattr(self, f.name) for f in fields(self)}
        return ", ".join(f"{k}={v}" for k, v in given.items() if v is not None) or "all"

    def apply(self, query: Select[Any]) -> Select[Any]:
        equal = {
            t.c.person_id: self.person_id,
            t.c.actor_sub: self.user,
            t.c.actor_agency: self.agency,
            t.c.purpose: self.purpose,
            t.c.action: self.action,
            t.c.decision: self.decision,
            t.c.service: self.service,
        }
        for column, value in equal.items():
            if value is not None:
                query = query.where(column == value)
        if self.person_ids is not None and len(self.person_ids) == 1:
            query = query.where(t.c.person_id == self.person_ids[0])  # walks the index backward
        elif self.person_ids is not None:
            query = query.where(t.c.person_id.in_(self.person_ids))
        if self.since is not None:
            query = query.where(t.c.occurred_at >= self.since)
        if self.until is not None:
            query = query.where(t.c.occurred_at < self.until)
        return query


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"p{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("p"):
            raise ValueError(raw)
        return int(raw[1:])
    except ValueError as exc:
        raise BadRequest("The cursor is not one this service gave out.", slug="bad-cursor") from exc


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str | None


def search(session: Session, where: EntryFilter, *, limit: int, cursor: str | None = None) -> Page:
    """A page of matching entries, newest first; the cursor continues after the last one."""
    query = where.apply(select(t)).order_by(t.c.position.desc()).limit(limit + 1)
    if cursor is not None:
        query = query.where(t.c.position < decode_cursor(cursor))
    rows = list(session.execute(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(rows[-1].position) if more and rows else None)


def scan(session: Session, where: EntryFilter, *, up_to: int, chunk: int = 2000) -> Iterator[Any]:
    """Every matching entry with position <= up_to, oldest first, read in chunks."""
    after = 0
    while True:
        query = (
            where.apply(select(t))
            .where(t.c.position > after, t.c.position <= up_to)
            .order_by(t.c.position)
            .limit(chunk)
        )
        rows = list(session.execute(query))
        yield from rows
        if len(rows) < chunk:
            return
        after = rows[-1].position
