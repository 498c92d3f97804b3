"""The referral API. Endpoints are thin: parse, authorise (the role is in the signature, the
agency checks are in the logic), call the logic, return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status

from services.referral import queries
from services.referral.creation import create_referral
from services.referral.disclosure import read_referral
from services.referral.lifecycle import move_referral
from services.referral.rules import STATUSES, Cursor
from services.referral.schemas import (
    CompleteIn,
    DeclineIn,
    ProjectionOut,
    ReferralIn,
    ReferralItem,
    ReferralOut,
    ReferralPage,
    Urgency,
    WithdrawIn,
)
from services.referral.settings import ReferralSettings
from services.referral.views import referral_item, referral_view
from shared.access_log import record_access
from shared.app import Context, Events
from shared.auth import Caseworker, Principal, require_roles
from shared.db import SessionDep
from shared.errors import Unprocessable

router = APIRouter(prefix="/referrals", tags=["referrals"])
status_router = APIRouter(tags=["projection"])

Status = Literal[STATUSES]  # type: ignore[valid-type]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ReferralOut)
def create(
    body: ReferralIn, user: Caseworker, ctx: Context, session: SessionDep, events: Events
) -> ReferralOut:
    """Refer one of your agency's clients to another agency; only what a basis permits is
    stored. `status` is `blocked` (with reasons and suggestions) when nothing may be shared."""
    referral, details = create_referral(ctx, session, events, user, body)
    return referral_view(
        referral,
        side="sender",
        person=referral.sender_person_ref,
        details=details,
        history=queries.history_of(session, referral.id),
        disclosure="sender",
    )


@dataclass(frozen=True)
class ListFilters:
    """The filters and page the inbox and outbox share (query parameters)."""

    status: Annotated[Status | None, Query()] = None
    urgency: Urgency | None = None
    purpose: str | None = None
    created_from: date | None = None
    created_to: date | None = None
    cursor: str | None = None
    limit: Annotated[int | None, Query(ge=1, le=200)] = None


Filters = Annotated[ListFilters, Depends()]


def _page(
    side: Literal["inbox", "outbox"],
    user: Principal,
    session: SessionDep,
    events: Events,
    filters: ListFilters,
) -> ReferralPage:
    config = ReferralSettings()
    try:
        after = Cursor.decode(filters.cursor) if filters.cursor else None
    except ValueError as exc:
        raise Unprocessable(
            str(exc), slug="bad-cursor", errors=[{"field": "query.cursor", "message": str(exc)}]
        ) from None
    size = min(filters.limit or config.page_size_default, config.page_size_max)
    rows, nxt = queries.list_referrals(
        session,
        side=side,
        agency=str(user.agency),
        status=filters.status,
        urgency=filters.urgency,
        purpose=filters.purpose,
        created_from=filters.created_from,
        created_to=filters.created_to,
        cursor=after,
        limit=size,
    )
    record_access(
        session,
        events,
        user,
        action=f"referral.{side}",
        resource=f"referrals/{side}",
        purpose=filters.purpose,
    )
    return ReferralPage(
        items=[referral_item(r, side=side) for r in rows],
        next_cursor=nxt.encode() if nxt else None,
    )


@router.get("/inbox", response_model=ReferralPage)
def inbox(user: Caseworker, session: SessionDep, events: Events, filters: Filters) -> ReferralPage:
    """Referrals sent to your agency, newest first (never blocked ones: nothing was sent)."""
    return _page("inbox", user, session, events, filters)


@router.get("/outbox", response_model=ReferralPage)
def outbox(user: Caseworker, session: SessionDep, events: Events, filters: Filters) -> ReferralPage:
    """Referrals your agency sent, newest first, with their status and outcome."""
    return _page("outbox", user, session, events, filters)


@router.get("/{referral_id}", response_model=ReferralOut)
def read(
    referral_id: str, user: Caseworker, ctx: Context, session: SessionDep, events: Events
) -> ReferralOut:
    """A referral. The recipient sees only the categories a basis permits now (re-checked
    with the consent service at this moment; refused with 503 if it cannot answer)."""
    return read_referral(ctx, session, events, user, referral_id)


@router.post("/{referral_id}/accept", response_model=ReferralItem)
def accept(
    referral_id: str, user: Caseworker, ctx: Context, session: SessionDep, events: Events
) -> ReferralItem:
    """The receiving agency accepts the referral."""
    return referral_item(move_referral(ctx, session, events, user, referral_id, "accept"), side="")


@router.post("/{referral_id}/decline", response_model=ReferralItem)
def decline(
    referral_id: str,
    body: DeclineIn,
    user: Caseworker,
    ctx: Context,
    session: SessionDep,
    events: Events,
) -> ReferralItem:
    """The receiving agency declines the referral, with a reason the sender sees."""
    r = move_referral(ctx, session, events, user, referral_id, "decline", reason=body.reason)
    return referral_item(r, side="")


@router.post("/{referral_id}/start", response_model=ReferralItem)
def start(
    referral_id: str, user: Caseworker, ctx: Context, session: SessionDep, events: Events
) -> ReferralItem:
    """The receiving agency starts work on an accepted referral."""
    return referral_item(move_referral(ctx, session, events, user, referral_id, "start"), side="")


@router.post("/{referral_id}/complete", response_model=ReferralItem)
def complete(
    referral_id: str,
    body: CompleteIn,
    user: Caseworker,
    ctx: Context,
    session: SessionDep,
    events: Events,
) -> ReferralItem:
    """The receiving agency completes the referral with an outcome the sender sees."""
    r = move_referral(
        ctx, session, events, user, referral_id, "complete", outcome=body.outcome, note=body.note
    )
    return referral_item(r, side="")


@router.post("/{referral_id}/withdraw", response_model=ReferralItem)
def withdraw(
    referral_id: str,
    user: Caseworker,
    ctx: Context,
    session: SessionDep,
    events: Events,
    body: WithdrawIn | None = None,
) -> ReferralItem:
    """The referring agency withdraws the referral; the recipient stops seeing its details."""
    reason = body.reason if body else None
    r = move_referral(ctx, session, events, user, referral_id, "withdraw", reason=reason)
    return referral_item(r, side="")


Operator = Annotated[Principal, Depends(require_roles("service", "admin"))]


@status_router.get("/projection", response_model=ProjectionOut)
def projection(
    _: Operator, ctx: Context, session: SessionDep, person_id: str | None = None
) -> ProjectionOut:
    """How current the consent projection is: applied revision, consumer lag (P6)."""
    state = queries.global_projection(session)
    person = queries.person_projection(session, person_id) if person_id else None
    consumer = next((c for c in ctx.consumers if c.name == "referral-projection"), None)
    lag_ms = None
    if state is not None and state.event_time is not None:
        lag_ms = (state.applied_at - state.event_time).total_seconds() * 1000
    person_lag_ms = None
    if person is not None and person.event_time is not None:
        person_lag_ms = (person.applied_at - person.event_time).total_seconds() * 1000
    return ProjectionOut(
        applied_revision=state.revision if state else 0,
        person_revision=person.revision if person else None,
        person_lag_ms=person_lag_ms,
        consumer_lag=consumer.lag if consumer else None,
        last_event_lag_ms=lag_ms,
        pending_reevaluations=queries.count_pending(session),
    )
