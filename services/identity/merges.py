"""Merging two persons into one and undoing it. Nothing is deleted: the merged person is
marked and points at the survivor, and the merge row remembers which records moved."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import Session, col

from services.identity.events import PersonsMerged, PersonUnmerged
from services.identity.models import ClientRecord, LinkHistory, Merge, Person
from services.identity.pseudonyms import current_person
from shared.errors import Conflict, NotFound
from shared.events.envelope import utcnow
from shared.events.outbox import EventWriter


def merge_persons(
    session: Session,
    events: EventWriter,
    *,
    survivor_id: str,
    merged_id: str,
    actor: str,
    reason: str,
    rule: str = "manual:merge",
) -> Merge:
    """Move every record of `merged_id` to `survivor_id` and mark it merged."""
    survivor = current_person(session, survivor_id)
    merged = current_person(session, merged_id)
    if survivor is None or merged is None:
        raise NotFound("No such person.", slug="person-not-found")
    if survivor.id == merged.id:
        raise Conflict("These are already the same person.", slug="already-merged")
    record_ids = list(
        session.execute(
            select(col(ClientRecord.id)).where(col(ClientRecord.person_id) == merged.id)
        ).scalars()
    )
    session.execute(
        update(ClientRecord)
        .where(col(ClientRecord.person_id) == merged.id)
        .values(person_id=survivor.id)
    )
    for rid in record_ids:
        session.add(
            LinkHistory(
                record_id=rid,
                from_person_id=merged.id,
                to_person_id=survivor.id,
                rule=rule,
                actor=actor,
                reason=reason,
            )
        )
    merged.status, merged.merged_into = "merged", survivor.id
    session.add(merged)
    row = Merge(
        survivor_person_id=survivor.id,
        merged_person_id=merged.id,
        record_ids=record_ids,
        merged_by=actor,
        reason=reason,
    )
    session.add(row)
    session.flush()
    events.emit(
        session,
        PersonsMerged(merge_id=row.id, survivor_person_id=survivor.id, merged_person_id=merged.id),
        key=survivor.id,
    )
    return row


def unmerge(
    session: Session, events: EventWriter, merge: Merge, *, actor: str, reason: str
) -> Person:
    """Restore the merged person with the records that came with it (where they still are)."""
    if merge.unmerged_at is not None:
        raise Conflict("This merge was already undone.", slug="already-unmerged")
    restored = session.get(Person, merge.merged_person_id)
    survivor = current_person(session, merge.survivor_person_id)
    if restored is None or survivor is None:
        raise NotFound("No such person.", slug="person-not-found")
    restored.status, restored.merged_into = "active", None
    session.add(restored)
    moved = session.execute(
        select(ClientRecord).where(
            col(ClientRecord.id).in_(merge.record_ids),
            col(ClientRecord.person_id) == survivor.id,
        )
    ).scalars()
    for record in moved:
        record.person_id = restored.id
        record.link_locked = True
        session.add(record)
        session.add(
            LinkHistory(
                record_id=record.id,
                from_person_id=survivor.id,
                to_person_id=restored.id,
                rule="manual:unmerge",
                actor=actor,
                reason=reason,
            )
        )
    merge.unmerged_at, merge.unmerged_by, merge.unmerge_reason = utcnow(), actor, reason
    session.add(merge)
    session.flush()
    events.emit(
        session,
        PersonUnmerged(person_id=survivor.id, restored_person_id=restored.id, merge_id=merge.id),
        key=survivor.id,
    )
    return restored
