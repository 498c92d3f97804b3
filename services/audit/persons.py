"""Following identity's merges, so that a person's history includes what was recorded under
an id that has since been merged into theirs."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlmodel import Session

from services.audit.models import PersonAlias
from shared.events import CloudEvent

PERSONS_MERGED = "identity.persons_merged.v1"
PERSON_UNMERGED = "identity.person_unmerged.v1"

_aliases = PersonAlias.__table__  # type: ignore[attr-defined]


def follow_identity(session: Session, event: CloudEvent) -> None:
    if event.type == PERSONS_MERGED:
        merged, survivor = event.data["merged_person_id"], event.data["survivor_person_id"]
        session.execute(delete(_aliases).where(_aliases.c.merged_person_id == merged))
        session.execute(
            insert(_aliases).values(merged_person_id=merged, survivor_person_id=survivor)
        )
    elif event.type == PERSON_UNMERGED:
        restored = event.data["restored_person_id"]
        session.execute(delete(_aliases).where(_aliases.c.merged_person_id == restored))


def ids_of_person(session: Session, person_id: str) -> list[str]:
    """The person's own id first, then every id merged into it, directly or through another
    merged person (merges of different people arrive in any order, so follow at read time)."""
    found: set[str] = set()
    frontier = {person_id}
    while frontier and len(found) < 1000:
        merged = set(
            session.execute(
                select(_aliases.c.merged_person_id).where(
                    _aliases.c.survivor_person_id.in_(frontier)
                )
            ).scalars()
        )
        frontier = merged - found - {person_id}
        found |= frontier
    return [person_id, *sorted(found)]
