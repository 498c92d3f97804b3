"""Merge, unmerge and unlink: an IG officer corrects the index. History is kept.

Persons are named by the officer's agency's pseudonyms, so an officer acts only on persons
their agency knows, and learns nothing about which other agencies know them.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlmodel import Session, col, or_, select

from services.identity import index
from services.identity.events import PersonUnmerged
from services.identity.merges import merge_persons, unmerge
from services.identity.models import ClientRecord, LinkHistory, Merge, Person
from services.identity.pseudonyms import issue, resolve
from services.identity.records.schemas import ReasonIn
from services.identity.refusals import refuse
from services.identity.runtime import Identity
from shared.access_log import record_access
from shared.app import Context, Events
from shared.auth import IgOfficer, Principal
from shared.db import SessionDep
from shared.errors import Conflict, NotFound

router = APIRouter(tags=["persons"])


class MergeIn(BaseModel):
    survivor: str = Field(description="Pseudonym (caller's agency) of the person that remains.")
    merged: str = Field(description="Pseudonym (caller's agency) of the person merged into it.")
    reason: str = Field(min_length=3, max_length=1000)


class MergeOut(BaseModel):
    merge_id: str
    person: str = Field(description="The surviving person's pseudonym for the caller's agency.")
    merged_at: datetime
    unmerged_at: datetime | None = None
    reason: str


def _person(ctx: Context, session: Session, user: Principal, pseudonym: str, action: str) -> Person:
    assert user.agency is not None
    person = resolve(session, user.agency, pseudonym)
    if person is None:
        refuse(
            ctx,
            session,
            user,
            action=action,
            resource=f"person/{pseudonym}",
            person_ref=pseudonym,
            reason="pseudonym unknown to the caller's agency",
        )
        raise NotFound("No such person for your agency.", slug="person-not-found")
    return person


@router.post("/persons/merge", response_model=MergeOut, status_code=201)
def merge(
    body: MergeIn, user: IgOfficer, ctx: Context, session: SessionDep, events: Events
) -> MergeOut:
    """Two persons the caller's agency knows are one."""
    survivor = _person(ctx, session, user, body.survivor, "identity.person.merge")
    merged = _person(ctx, session, user, body.merged, "identity.person.merge")
    row = merge_persons(
        session,
        events,
        survivor_id=survivor.id,
        merged_id=merged.id,
        actor=user.sub,
        reason=body.reason,
    )
    for pid in (survivor.id, merged.id):
        record_access(
            session,
            events,
            user,
            action="identity.person.merge",
            resource=f"merge/{row.id}",
            person_id=pid,
            categories=["identity"],
            reason=body.reason,
        )
    assert user.agency is not None
    person = issue(session, Identity.of(ctx).secret, user.agency, row.survivor_person_id)
    return MergeOut(merge_id=row.id, person=person, merged_at=row.merged_at, reason=row.reason)


def _visible_to(session: Session, merge: Merge, agency: str) -> bool:
    """An officer may undo a merge that involves a person their agency holds a record of."""
    persons = {merge.survivor_person_id, merge.merged_person_id}
    return (
        session.exec(
            select(col(ClientRecord.id)).where(
                col(ClientRecord.agency) == agency,
                or_(
                    col(ClientRecord.person_id).in_(persons),
                    col(ClientRecord.id).in_(merge.record_ids),
                ),
            )
        ).first()
        is not None
    )


@router.post("/merges/{merge_id}/unmerge", response_model=MergeOut)
def undo_merge(
    merge_id: str,
    body: ReasonIn,
    user: IgOfficer,
    ctx: Context,
    session: SessionDep,
    events: Events,
) -> MergeOut:
    """Undo a merge (including one made by accepting a review): the merged person returns."""
    assert user.agency is not None
    row = session.get(Merge, merge_id)
    if row is None or not _visible_to(session, row, user.agency):
        refuse(
            ctx,
            session,
            user,
            action="identity.person.unmerge",
            resource=f"merge/{merge_id}",
            reason="no such merge for the caller's agency",
        )
        raise NotFound("No such merge for your agency.", slug="merge-not-found")
    restored = unmerge(session, events, row, actor=user.sub, reason=body.reason)
    for pid in (row.survivor_person_id, restored.id):
        record_access(
            session,
            events,
            user,
            action="identity.person.unmerge",
            resource=f"merge/{row.id}",
            person_id=pid,
            categories=["identity"],
            reason=body.reason,
        )
    person = issue(session, Identity.of(ctx).secret, user.agency, row.survivor_person_id)
    return MergeOut(
        merge_id=row.id,
        person=person,
        merged_at=row.merged_at,
        unmerged_at=row.unmerged_at,
        reason=row.reason,
    )


@router.get("/persons/{pseudonym}/merges", response_model=list[MergeOut])
def merges_of(
    pseudonym: str, user: IgOfficer, ctx: Context, session: SessionDep, events: Events
) -> list[MergeOut]:
    """The merges this person took part in (to find one to undo)."""
    person = _person(ctx, session, user, pseudonym, "identity.person.merges")
    rows = session.exec(
        select(Merge)
        .where(
            or_(
                col(Merge.survivor_person_id) == person.id, col(Merge.merged_person_id) == person.id
            )
        )
        .order_by(col(Merge.merged_at))
    ).all()
    record_access(
        session,
        events,
        user,
        action="identity.person.merges",
        resource=f"person/{pseudonym}",
        person_id=person.id,
        person_ref=pseudonym,
        categories=["identity"],
    )
    return [
        MergeOut(
            merge_id=r.id,
            person=pseudonym,
            merged_at=r.merged_at,
            unmerged_at=r.unmerged_at,
            reason=r.reason,
        )
        for r in rows
    ]


class UnlinkOut(BaseModel):
    local_id: str
    person: str = Field(description="The record's new person (caller's pseudonym).")
    previous_person: str


@router.post("/records/{local_id}/unlink", response_model=UnlinkOut, tags=["records"])
def unlink(
    local_id: str,
    body: ReasonIn,
    user: IgOfficer,
    ctx: Context,
    session: SessionDep,
    events: Events,
) -> UnlinkOut:
    """A wrong link undone: the caller's record becomes a person of its own, and stays so."""
    assert user.agency is not None
    record = index.record_by_local_id(session, user.agency, local_id)
    if record is None:
        refuse(
            ctx,
            session,
            user,
            action="identity.record.unlink",
            resource=f"record/{user.agency}/{local_id}",
            reason="no such record in the caller's agency",
        )
        raise NotFound("No such record in your agency.", slug="record-not-found")
    old = record.person_id
    if len(index.records_of_person(session, old)) < 2:
        raise Conflict("This record is the only one of its person.", slug="not-linked")
    person = Person()
    session.add(person)
    session.flush()
    record.person_id, record.link_locked = person.id, True
    session.add(record)
    session.add(
        LinkHistory(
            record_id=record.id,
            from_person_id=old,
            to_person_id=person.id,
            rule="manual:unlink",
            actor=user.sub,
            reason=body.reason,
        )
    )
    session.flush()
    events.emit(session, PersonUnmerged(person_id=old, restored_person_id=person.id), key=old)
    secret = Identity.of(ctx).secret
    for pid in (old, person.id):
        record_access(
            session,
            events,
            user,
            action="identity.record.unlink",
            resource=f"record/{record.id}",
            person_id=pid,
            categories=["identity"],
            reason=body.reason,
        )
    return UnlinkOut(
        local_id=local_id,
        person=issue(session, secret, user.agency, person.id),
        previous_person=issue(session, secret, user.agency, old),
    )
