"""The review queue: an IG officer of the record's agency accepts or rejects an uncertain pair.

Accepting merges the record's person into the candidate person; rejecting keeps them apart
and stops the pair being proposed again. Both are recorded with who decided and why.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from services.identity.events import ReviewDecided
from services.identity.merges import merge_persons
from services.identity.models import ClientRecord, ReviewItem
from services.identity.pseudonyms import current_person, issue
from services.identity.refusals import refuse
from services.identity.runtime import Identity
from shared.access_log import record_access
from shared.app import Context, Events
from shared.auth import IgOfficer
from shared.db import SessionDep
from shared.errors import Conflict, NotFound
from shared.events.envelope import utcnow
from shared.events.outbox import EventWriter

router = APIRouter(prefix="/reviews", tags=["reviews"])


class Demographics(BaseModel):
    given_name: str | None
    family_name: str | None
    birth_date: date | None
    sex: str | None
    postcode: str | None


class ReviewOut(BaseModel):
    id: str
    local_id: str = Field(description="The caller's agency's record under review.")
    record: Demographics
    candidate: Demographics = Field(
        description="The best-matching record of the candidate person (no agency shown)."
    )
    weight: float
    explanation: dict[str, object]
    status: str
    decided_by: str | None = None
    reason: str | None = None
    person: str = Field(description="The person the record now belongs to (caller's pseudonym).")


class DecisionIn(BaseModel):
    decision: Literal["accept", "reject"]
    reason: str = Field(min_length=3, max_length=1000)


def _demographics(r: ClientRecord | None) -> Demographics:
    if r is None:
        return Demographics(
            given_name=None, family_name=None, birth_date=None, sex=None, postcode=None
        )
    return Demographics(
        given_name=r.given_name,
        family_name=r.family_name,
        birth_date=r.birth_date,
        sex=r.sex,
        postcode=r.postcode,
    )


def _view(session: Session, secret: bytes, item: ReviewItem) -> ReviewOut:
    record = session.get(ClientRecord, item.record_id)
    assert record is not None
    candidate = (
        session.get(ClientRecord, item.candidate_record_id) if item.candidate_record_id else None
    )
    return ReviewOut(
        id=item.id,
        local_id=record.local_id,
        record=_demographics(record),
        candidate=_demographics(candidate),
        weight=item.weight,
        explanation=item.explanation,
        status=item.status,
        decided_by=item.decided_by,
        reason=item.reason,
        person=issue(session, secret, record.agency, record.person_id),
    )


@router.get("", response_model=list[ReviewOut])
def list_reviews(
    user: IgOfficer, ctx: Context, session: SessionDep, events: Events, status: str = "pending"
) -> list[ReviewOut]:
    """The caller's agency's queued pairs (reading both sides' demographics is audited)."""
    items = session.exec(
        select(ReviewItem)
        .where(col(ReviewItem.agency) == user.agency, col(ReviewItem.status) == status)
        .order_by(col(ReviewItem.created_at))
        .limit(100)
    ).all()
    secret = Identity.of(ctx).secret
    views = []
    for item in items:
        views.append(_view(session, secret, item))
        record = session.get(ClientRecord, item.record_id)
        for pid in {record.person_id if record else None, item.candidate_person_id} - {None}:
            record_access(
                session,
                events,
                user,
                action="identity.review.read",
                resource=f"review/{item.id}",
                person_id=pid,
                categories=["identity"],
            )
    return views


def decide_review(
    session: Session,
    events: EventWriter,
    item: ReviewItem,
    *,
    accept: bool,
    actor: str,
    reason: str,
) -> ReviewItem:
    """Apply a reviewer's decision to a pending pair."""
    if item.status != "pending":
        raise Conflict(f"This review is already {item.status}.", slug="review-closed")
    record = session.get(ClientRecord, item.record_id)
    assert record is not None
    if accept:
        candidate = current_person(session, item.candidate_person_id)
        if candidate is None:
            raise NotFound("The candidate person no longer exists.", slug="person-not-found")
        if candidate.id != record.person_id:
            merge = merge_persons(
                session,
                events,
                survivor_id=candidate.id,
                merged_id=record.person_id,
                actor=actor,
                reason=reason,
                rule="review:accepted",
            )
            item.merge_id = merge.id
        session.refresh(record)
        record.link_locked = True
        session.add(record)
    item.status = "accepted" if accept else "rejected"
    item.decided_by, item.reason, item.decided_at = actor, reason, utcnow()
    session.add(item)
    session.flush()
    events.emit(
        session,
        ReviewDecided(
            review_id=item.id,
            record_id=record.id,
            person_id=record.person_id,
            decision="accepted" if accept else "rejected",
            decided_by=actor,
            merge_id=item.merge_id,
        ),
        key=record.person_id,
    )
    return item


@router.post("/{review_id}/decision", response_model=ReviewOut)
def decide(
    review_id: str,
    body: DecisionIn,
    user: IgOfficer,
    ctx: Context,
    session: SessionDep,
    events: Events,
) -> ReviewOut:
    """Accept (merge the persons) or reject (keep apart) a queued pair of the caller's agency."""
    item = session.get(ReviewItem, review_id)
    if item is None or item.agency != user.agency:
        refuse(
            ctx,
            session,
            user,
            action="identity.review.decide",
            resource=f"review/{review_id}",
            reason="no such review in the caller's agency",
        )
        raise NotFound("No such review in your agency.", slug="review-not-found")
    decide_review(
        session, events, item, accept=body.decision == "accept", actor=user.sub, reason=body.reason
    )
    record = session.get(ClientRecord, item.record_id)
    record_access(
        session,
        events,
        user,
        action=f"identity.review.{body.decision}",
        resource=f"review/{item.id}",
        person_id=record.person_id if record else None,
        categories=["identity"],
        reason=body.reason,
    )
    return _view(session, Identity.of(ctx).secret, item)
