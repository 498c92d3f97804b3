"""Every query the referral service makes, in one place."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import and_, bindparam, delete, func, or_, select
from sqlmodel import Session, col

from services.referral.models import (
    PendingReevaluation,
    PersonRevision,
    ProjectionState,
    Referral,
    ReferralBasis,
    ReferralChange,
    ReferralSection,
)
from services.referral.rules import DISCLOSING, Cursor
from shared.events.envelope import utcnow

Side = Literal["inbox", "outbox"]


def get_referral(session: Session, referral_id: str, *, lock: bool = False) -> Referral | None:
    """Always read from the database (never the session's memory), locked on PostgreSQL."""
    pg_lock = lock and session.get_bind().dialect.name != "sqlite"
    return session.get(Referral, referral_id, populate_existing=True, with_for_update=pg_lock)


# Built once: every read runs them, and building a statement and its cache key each time
# cost more than the SQL.
_SECTIONS = select(ReferralSection).where(
    col(ReferralSection.referral_id) == bindparam("referral_id")
)
_SECTIONS_IN = _SECTIONS.where(
    col(ReferralSection.category).in_(bindparam("categories", expanding=True))
)
_HISTORY = (
    select(ReferralChange)
    .where(col(ReferralChange.referral_id) == bindparam("referral_id"))
    .order_by(col(ReferralChange.id))
)


def sections_of(
    session: Session, referral_id: str, categories: Iterable[str] | None = None
) -> dict[str, dict[str, Any]]:
    if categories is None:
        rows = session.execute(_SECTIONS, {"referral_id": referral_id})
    else:
        params = {"referral_id": referral_id, "categories": list(categories)}
        rows = session.execute(_SECTIONS_IN, params)
    return {s.category: s.fields for s in rows.scalars()}


def delete_sections(session: Session, referral_id: str, categories: Iterable[str]) -> None:
    session.execute(
        delete(ReferralSection).where(
            col(ReferralSection.referral_id) == referral_id,
            col(ReferralSection.category).in_(list(categories)),
        )
    )


def replace_bases(
    session: Session, referral_id: str, keys: Iterable[tuple[str, str, int | None]]
) -> None:
    session.execute(delete(ReferralBasis).where(col(ReferralBasis.referral_id) == referral_id))
    add_bases(session, referral_id, keys)


def add_bases(
    session: Session, referral_id: str, keys: Iterable[tuple[str, str, int | None]]
) -> None:
    for kind, basis_id, version in keys:
        session.add(
            ReferralBasis(referral_id=referral_id, kind=kind, basis_id=basis_id, version=version)
        )


def history_of(session: Session, referral_id: str) -> list[ReferralChange]:
    return list(session.execute(_HISTORY, {"referral_id": referral_id}).scalars())


def add_change(
    session: Session, referral: Referral, change: str, actor: str, **detail: Any
) -> None:
    referral.updated_at = utcnow()
    session.add(
        ReferralChange(
            referral_id=referral.id,
            change=change,
            status=referral.status,
            actor=actor,
            detail=detail,
            at=referral.updated_at,
        )
    )


def list_referrals(
    session: Session,
    *,
    side: Side,
    agency: str,
    status: str | None = None,
    urgency: str | None = None,
    purpose: str | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    cursor: Cursor | None = None,
    limit: int = 50,
) -> tuple[list[Referral], Cursor | None]:
    """One page of an agency's inbox or outbox, newest first. Blocked referrals never reach
    the recipient's inbox: nothing was sent."""
    query = select(Referral)
    if side == "inbox":
        query = query.where(col(Referral.to_agency) == agency, col(Referral.status) != "blocked")
    else:
        query = query.where(col(Referral.from_agency) == agency)
    if status:
        query = query.where(col(Referral.status) == status)
    if urgency:
        query = query.where(col(Referral.urgency) == urgency)
    if purpose:
        query = query.where(col(Referral.purpose) == purpose)
    if created_from:
        start = datetime.combine(created_from, time.min).replace(tzinfo=utcnow().tzinfo)
        query = query.where(col(Referral.created_at) >= start)
    if created_to:
        end = datetime.combine(created_to + timedelta(days=1), time.min).replace(
            tzinfo=utcnow().tzinfo
        )
        query = query.where(col(Referral.created_at) < end)
    if cursor:
        query = query.where(
            or_(
                col(Referral.created_at) < cursor.created_at,
                and_(col(Referral.created_at) == cursor.created_at, col(Referral.id) < cursor.id),
            )
        )
    query = query.order_by(col(Referral.created_at).desc(), col(Referral.id).desc()).limit(
        limit + 1
    )
    rows = list(session.execute(query).scalars())
    if len(rows) > limit:
        last = rows[limit - 1]
        return rows[:limit], Cursor(created_at=last.created_at, id=last.id)
    return rows, None


# --- what events reach ---------------------------------------------------------------


def open_referrals_of_person(session: Session, person_id: str) -> list[str]:
    return list(
        session.execute(
            select(col(Referral.id)).where(
                col(Referral.person_id) == person_id, col(Referral.status).in_(DISCLOSING)
            )
        ).scalars()
    )


def open_referrals_by_basis(session: Session, kind: str, basis_id: str) -> list[str]:
    return list(
        session.execute(
            select(col(Referral.id))
            .join(ReferralBasis, col(ReferralBasis.referral_id) == Referral.id)
            .where(
                col(ReferralBasis.kind) == kind,
                col(ReferralBasis.basis_id) == basis_id,
                col(Referral.status).in_(DISCLOSING),
            )
        ).scalars()
    )


def open_referrals_past_validity(session: Session, now: datetime, limit: int) -> list[str]:
    """Referrals whose stored decision has expired and that nobody has re-evaluated yet."""
    return list(
        session.execute(
            select(col(Referral.id))
            .where(
                col(Referral.valid_until).is_not(None),
                col(Referral.valid_until) <= now,
                col(Referral.status).in_(DISCLOSING),
                col(Referral.decision_revision) >= 0,
                ~select(col(PendingReevaluation.referral_id))
                .where(col(PendingReevaluation.referral_id) == Referral.id)
                .exists(),
            )
            .limit(limit)
        ).scalars()
    )


def referrals_of_person(session: Session, person_id: str) -> list[Referral]:
    return list(
        session.execute(select(Referral).where(col(Referral.person_id) == person_id)).scalars()
    )


def queue_reevaluation(
    session: Session, referral_ids: Iterable[str], trigger: str, revision: int | None
) -> int:
    count = 0
    for referral_id in set(referral_ids):
        pending = session.get(PendingReevaluation, referral_id)
        if pending is None:
            session.add(
                PendingReevaluation(referral_id=referral_id, trigger=trigger, revision=revision)
            )
        else:
            pending.trigger = trigger
            if revision is not None:
                pending.revision = max(pending.revision or 0, revision)
            pending.queued_at = utcnow()
        count += 1
    return count


def pending_reevaluations(session: Session, limit: int) -> list[PendingReevaluation]:
    return list(
        session.execute(
            select(PendingReevaluation).order_by(col(PendingReevaluation.queued_at)).limit(limit)
        ).scalars()
    )


def count_pending(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(PendingReevaluation)).scalar_one())


# --- the projection ------------------------------------------------------------------


def advance_person(
    session: Session, person_id: str, revision: int, event_time: datetime | None
) -> None:
    row = session.get(PersonRevision, person_id)
    now = utcnow()
    if row is None:
        session.add(
            PersonRevision(
                person_id=person_id, revision=revision, event_time=event_time, applied_at=now
            )
        )
    elif revision > row.revision:
        row.revision, row.event_time, row.applied_at = revision, event_time, now


def advance_global(session: Session, revision: int, event_time: datetime | None) -> None:
    row = session.get(ProjectionState, "consent")
    now = utcnow()
    if row is None:
        session.add(
            ProjectionState(
                name="consent", revision=revision, event_time=event_time, applied_at=now
            )
        )
    elif revision > row.revision:
        row.revision, row.event_time, row.applied_at = revision, event_time, now


def person_projection(session: Session, person_id: str) -> PersonRevision | None:
    return session.get(PersonRevision, person_id)


def global_projection(session: Session) -> ProjectionState | None:
    return session.get(ProjectionState, "consent")
