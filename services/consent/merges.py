"""Following identity merges: consents are stored by internal person id, and after a merge
the identity service resolves every pseudonym of the merged person to the survivor, so the
merged person's consents, objections and break-glass grants move to the survivor.

An unmerge moves back the consents first granted to the restored person (version 1 keeps the
original person id, and versions are never rewritten). Objections are copied rather than
moved: we cannot tell whose they were, and an objection too many is the safe side.

Until it is unmerged, a merged person is remembered: a decision asked about them (by a service
that has not yet followed the merge) is refused as a conflict rather than denied, because a
denial would make that service withdraw what it shares about the survivor.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlmodel import Session

from services.consent import revision
from services.consent.models import (
    BreakGlassGrant,
    Consent,
    ConsentVersion,
    Objection,
    PersonMerge,
    new_id,
)
from services.consent.settings import ConsentSettings
from shared.app import ServiceContext
from shared.events.consumer import EventConsumer
from shared.events.envelope import CloudEvent, utcnow

_heads = Consent.__table__  # type: ignore[attr-defined]
_versions = ConsentVersion.__table__  # type: ignore[attr-defined]
_objections = Objection.__table__  # type: ignore[attr-defined]
_grants = BreakGlassGrant.__table__  # type: ignore[attr-defined]


def follow_merge(session: Session, event: CloudEvent) -> None:
    survivor = str(event.data["survivor_person_id"])
    merged = str(event.data["merged_person_id"])
    for table in (_heads, _objections, _grants):
        session.execute(update(table).where(table.c.person_id == merged).values(person_id=survivor))
    session.merge(
        PersonMerge(merged_person_id=merged, survivor_person_id=survivor, merged_at=utcnow())
    )
    revision.bump(session, person_id=survivor)
    revision.bump(session, person_id=merged)


def follow_unmerge(session: Session, event: CloudEvent) -> None:
    kept = str(event.data["person_id"])
    restored = str(event.data["restored_person_id"])
    originally_theirs = select(_versions.c.consent_id).where(
        _versions.c.version == 1, _versions.c.person_id == restored
    )
    session.execute(
        update(_heads)
        .where(_heads.c.person_id == kept, _heads.c.id.in_(originally_theirs))
        .values(person_id=restored)
    )
    active = session.execute(
        select(_objections).where(_objections.c.person_id == kept, _objections.c.status == "active")
    ).mappings()
    gone = session.get(PersonMerge, restored)
    if gone is not None:
        session.delete(gone)
    rev = revision.bump(session, person_id=restored)
    for row in list(active):
        session.add(
            Objection(**{**dict(row), "id": new_id(), "person_id": restored, "revision": rev})
        )
    revision.bump(session, person_id=kept)


def identity_followers(ctx: ServiceContext) -> list[EventConsumer]:
    if not ConsentSettings().follow_identity:
        return []
    return [identity_follower(ctx)]


def identity_follower(ctx: ServiceContext) -> EventConsumer:
    return EventConsumer(
        "consent-identity",
        [ctx.settings.topic("identity")],
        ctx.db,
        ctx.settings,
        handlers={
            "identity.persons_merged.v1": follow_merge,
            "identity.person_unmerged.v1": follow_unmerge,
        },
    )
