"""Applying a link decision to the index: which person a record belongs to, and why.

The decision itself is pure (`matching.linker.decide`); this module finds the candidates,
moves the record, queues reviews, keeps the history and emits the events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from services.identity import index
from services.identity.config import IdentitySettings
from services.identity.events import PersonLinked, ReviewQueued
from services.identity.matching.blocking import query_keys
from services.identity.matching.linker import Candidate, LinkDecision, decide
from services.identity.matching.profile import Profile
from services.identity.merges import merge_persons
from services.identity.models import (
    ClientRecord,
    LinkHistory,
    NewRecord,
    Person,
    ReviewItem,
    new_id,
    table,
)
from services.identity.pseudonyms import current_person
from shared.events.envelope import utcnow
from shared.events.outbox import EventWriter

_PERSONS = table(Person).insert()
_RECORDS = table(ClientRecord).insert()
_HISTORY = table(LinkHistory).insert()


@dataclass(frozen=True)
class LinkResult:
    person_id: str
    decision: LinkDecision
    explanation: dict[str, Any]
    review_id: str | None = None


def evaluate(
    session: Session,
    config: IdentitySettings,
    record: ClientRecord | NewRecord,
    profile: Profile,
    *,
    created: bool = False,
) -> LinkDecision:
    """The decision for `record` against everyone else in the index."""
    exclude = record.id
    found = [
        (kind, current_person(session, pid).id)  # type: ignore[union-attr]
        for kind, pid in index.identifier_matches(session, config, profile, exclude)
    ]

    def cands() -> Iterator[Candidate]:
        # Lazy: a shared verified identifier decides before any candidate is read, and the
        # candidate query is most of a decision's cost.
        yield from index.candidates(session, config, query_keys(profile), exclude_record=exclude)

    return decide(
        profile,
        cands(),
        config.model,
        verified_types=config.verified_types,
        identifier_matches=found,
        excluded_persons=frozenset() if created else index.rejected_persons(session, record.id),
        guards=frozenset(config.guards),
        persons=index.person_count(session, config.index_size_refresh_seconds),
        reference_persons=config.threshold_reference_persons,
    )


def _others_on_person(session: Session, person_id: str, record_id: str) -> int:
    return int(
        session.execute(
            select(func.count()).where(
                col(ClientRecord.person_id) == person_id,
                col(ClientRecord.id) != record_id,
            )
        ).scalar_one()
    )


def link_record(
    session: Session,
    events: EventWriter,
    config: IdentitySettings,
    record: ClientRecord | NewRecord,
    profile: Profile,
    *,
    created: bool,
    actor: str,
) -> LinkResult:
    """Decide and apply the record's link, and add the record to the session.

    A new record that becomes a new person costs no history row and no person_linked event:
    its record_registered event carries the person, and the record keeps the explanation.
    """
    decision = evaluate(session, config, record, profile, created=created)
    conn = session.connection()
    explanation = decision.explanation(config.model)
    previous = None if created else record.person_id
    target: str
    if record.link_locked and previous:
        # A person decided this link (review, unlink, unmerge): keep it, show the new scores.
        target = previous
        explanation = {**explanation, "decision": "manual", "rule": "manual:locked"}
    elif decision.outcome == "link" and decision.person_id:
        target = decision.person_id
    elif previous and _others_on_person(session, previous, record.id) == 0:
        target = previous  # alone already: stays its own person
    else:
        target = new_id()
        conn.execute(
            _PERSONS,
            {"id": target, "status": "active", "merged_into": None, "created_at": utcnow()},
        )

    record.person_id = target
    record.link_explanation = explanation
    if isinstance(record, NewRecord):
        conn.execute(_RECORDS, record.columns())
    else:
        session.add(record)
    if previous and previous != target and _others_on_person(session, previous, record.id) == 0:
        # The old person had only this record: it is the same person as the target now.
        _retire(session, events, previous, target, actor)
    if previous != target and (previous is not None or decision.outcome == "link"):
        conn.execute(
            _HISTORY,
            {
                "id": new_id(),
                "record_id": record.id,
                "from_person_id": previous,
                "to_person_id": target,
                "rule": explanation["rule"],
                "actor": actor,
                "reason": None,
                "explanation": explanation,
                "at": utcnow(),
            },
        )
        weight = decision.score.total if decision.score else None
        events.emit(
            session,
            PersonLinked(
                record_id=record.id,
                agency=record.agency,
                person_id=target,
                previous_person_id=previous,
                rule=explanation["rule"],
                decision=explanation["decision"],
                weight=weight,
            ),
            key=target,
        )
    review_id = _queue_review(session, events, record, decision, explanation, created=created)
    return LinkResult(target, decision, explanation, review_id)


def _retire(session: Session, events: EventWriter, old: str, target: str, actor: str) -> None:
    person = session.get(Person, old)
    if person is not None and person.status == "active":
        merge_persons(
            session,
            events,
            survivor_id=target,
            merged_id=old,
            actor=actor,
            reason="its only record was re-linked on update",
            rule="update:relink",
        )


def _queue_review(
    session: Session,
    events: EventWriter,
    record: ClientRecord | NewRecord,
    decision: LinkDecision,
    explanation: dict[str, Any],
    *,
    created: bool,
) -> str | None:
    if not created:
        session.execute(
            update(ReviewItem)
            .where(col(ReviewItem.record_id) == record.id, col(ReviewItem.status) == "pending")
            .values(status="superseded")
        )
    if decision.outcome != "review" or decision.person_id is None or record.link_locked:
        return None
    if current_person(session, decision.person_id) is None:
        return None
    item = ReviewItem(
        record_id=record.id,
        agency=record.agency,
        candidate_person_id=decision.person_id,
        candidate_record_id=decision.record_id,
        weight=decision.score.total if decision.score else 0.0,
        explanation=explanation,
    )
    session.add(item)
    session.flush()
    events.emit(
        session,
        ReviewQueued(
            review_id=item.id,
            record_id=record.id,
            agency=record.agency,
            person_id=record.person_id,
            candidate_person_id=decision.person_id,
            weight=item.weight,
        ),
        key=record.person_id,
    )
    return item.id
