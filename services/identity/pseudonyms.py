"""Agency-scoped pseudonyms: `psn_` + 26 base32 characters of HMAC-SHA256(secret, agency, person).

Stable for an agency, different for every other, and not joinable outside this service.
Every pseudonym issued is stored so that it can be resolved back; a pseudonym of a merged
person resolves to the survivor.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from services.identity.models import Person, Pseudonym, table


def pseudonym_of(secret: bytes, agency: str, person_id: str) -> str:
    digest = hmac.new(secret, f"{agency}\x1f{person_id}".encode(), hashlib.sha256).digest()
    return "psn_" + base64.b32encode(digest).decode()[:26].lower()


# Built once per dialect (Core, so the compiled statement is cached): [SQLite, PostgreSQL].
_ISSUE = (
    sqlite_insert(table(Pseudonym)).on_conflict_do_nothing(),
    postgresql_insert(table(Pseudonym)).on_conflict_do_nothing(),
)


def issue(session: Session, secret: bytes, agency: str, person_id: str) -> str:
    """The agency's pseudonym for the person, remembered for resolution (one statement, and
    safe when two requests issue the same pseudonym at once)."""
    value = pseudonym_of(secret, agency, person_id)
    conn = session.connection()
    statement = _ISSUE[conn.dialect.name == "postgresql"]
    conn.execute(statement, {"pseudonym": value, "agency": agency, "person_id": person_id})
    return value


def current_person(session: Session, person_id: str) -> Person | None:
    """Follow merges to the surviving person."""
    person = session.get(Person, person_id)
    seen: set[str] = set()
    while person is not None and person.merged_into and person.id not in seen:
        seen.add(person.id)
        person = session.get(Person, person.merged_into)
    return person


def resolve(session: Session, agency: str, pseudonym: str) -> Person | None:
    """The current person behind an agency's pseudonym, or None when it was never issued."""
    row = session.exec(
        select(Pseudonym).where(Pseudonym.agency == agency, Pseudonym.pseudonym == pseudonym)
    ).first()
    return current_person(session, row.person_id) if row else None
