"""The delivery log a partner reads, and replay."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlalchemy import event as sa_event

from services.partner.auth import ActivePartner
from services.partner.deliveries import service
from services.partner.deliveries.models import Delivery
from services.partner.deliveries.schemas import (
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    DeliveryPage,
    Replayed,
    ReplayRange,
)
from services.partner.subscriptions.service import own_endpoint
from shared.db import SessionDep

router = APIRouter(tags=["webhooks"])


def _out(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut(**delivery.model_dump())


def _wake_worker(request: Request, session: SessionDep) -> None:
    worker = request.app.state.ctx.state.get("delivery_worker")
    if worker is not None:
        sa_event.listen(session, "after_commit", lambda _s: worker.wake(), once=True)


@router.get("/endpoints/{endpoint_id}/deliveries", response_model=DeliveryPage)
def delivery_log(
    endpoint_id: str,
    partner: ActivePartner,
    session: SessionDep,
    status_: Annotated[
        str | None,
        Query(alias="status", pattern="^(pending|retrying|delivered|dead|cancelled)$"),
    ] = None,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> DeliveryPage:
    """One endpoint's deliveries, oldest first, cursor-paginated."""
    endpoint = own_endpoint(session, partner, endpoint_id)
    items = service.endpoint_log(session, endpoint, status_, after, limit)
    cursor = str(items[-1].id) if len(items) == limit else None
    return DeliveryPage(items=[_out(d) for d in items], next_cursor=cursor)


@router.get("/deliveries/{delivery_id}", response_model=DeliveryDetail)
def read_delivery(delivery_id: int, partner: ActivePartner, session: SessionDep) -> DeliveryDetail:
    """One delivery with its payload and every attempt."""
    delivery = service.own_delivery(session, partner, delivery_id)
    attempts = [AttemptOut(**a.model_dump()) for a in service.attempts_of(session, delivery)]
    return DeliveryDetail(
        **delivery.model_dump(), payload=service.payload_of(delivery), attempt_log=attempts
    )


@router.post(
    "/deliveries/{delivery_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
)
def replay_delivery(
    delivery_id: int, partner: ActivePartner, session: SessionDep, request: Request
) -> DeliveryOut:
    """Send one delivery again, with the same webhook-id and sequence."""
    delivery = service.own_delivery(session, partner, delivery_id)
    replayed = service.replay_delivery(session, delivery)
    _wake_worker(request, session)
    return _out(replayed)


@router.post(
    "/endpoints/{endpoint_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Replayed,
)
def replay_range(
    endpoint_id: str,
    body: ReplayRange,
    partner: ActivePartner,
    session: SessionDep,
    request: Request,
) -> Replayed:
    """Send again every delivery created in a time range (by default the dead-lettered ones)."""
    endpoint = own_endpoint(session, partner, endpoint_id)
    count = service.replay_range(session, endpoint, body.since, body.until, list(body.statuses))
    _wake_worker(request, session)
    return Replayed(replayed=count)
