"""Reading a partner's delivery log, and replaying one delivery or a time range."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.partner.deliveries.models import Delivery, DeliveryAttempt
from services.partner.partners.models import Partner
from services.partner.subscriptions.models import WebhookEndpoint
from shared.errors import NotFound
from shared.events.envelope import utcnow

_RESET = {
    "status": "pending",
    "attempts": 0,
    "leased_until": None,
    "lease_token": None,
}


def endpoint_log(
    session: Session, endpoint: WebhookEndpoint, status: str | None, after: int, limit: int
) -> list[Delivery]:
    query = select(Delivery).where(Delivery.endpoint_id == endpoint.id, col(Delivery.id) > after)
    if status:
        query = query.where(Delivery.status == status)
    return list(session.exec(query.order_by(col(Delivery.id)).limit(limit)).all())


def own_delivery(session: Session, partner: Partner, delivery_id: int) -> Delivery:
    """A partner reads only its own deliveries (another's is simply not found)."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.partner_id != partner.id:
        raise NotFound("No such delivery.", slug="delivery-not-found")
    return delivery


def attempts_of(session: Session, delivery: Delivery) -> list[DeliveryAttempt]:
    return list(
        session.exec(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery.id)
            .order_by(col(DeliveryAttempt.id))
        ).all()
    )


def payload_of(delivery: Delivery) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(delivery.body)
    return loaded


def replay_delivery(session: Session, delivery: Delivery) -> Delivery:
    """Send it again (same webhook-id, same sequence), from the first attempt of the schedule."""
    for key, value in _RESET.items():
        setattr(delivery, key, value)
    delivery.next_attempt_at = utcnow()
    delivery.replays += 1
    session.add(delivery)
    session.flush()
    return delivery


def replay_range(
    session: Session,
    endpoint: WebhookEndpoint,
    since: datetime,
    until: datetime | None,
    statuses: list[str],
) -> int:
    query = (
        update(Delivery)
        .where(
            col(Delivery.endpoint_id) == endpoint.id,
            col(Delivery.created_at) >= since,
            col(Delivery.status).in_(statuses),
        )
        .values(**_RESET, next_attempt_at=utcnow(), replays=col(Delivery.replays) + 1)
    )
    if until is not None:
        query = query.where(col(Delivery.created_at) < until)
    return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]
