"""The delivery ledger: which deliveries are due (leased), and what became of each attempt.

Written with set-based statements: the worker claims and records hundreds of deliveries per
transaction, so nothing here loads or flushes rows one at a time.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, func, insert, or_, select, update
from sqlmodel import Session, col

from services.partner.deliveries.models import OPEN, Delivery, DeliveryAttempt
from services.partner.deliveries.schedule import next_attempt
from services.partner.events import EndpointDisabled
from services.partner.partners.models import Partner
from services.partner.settings import PartnerSettings
from services.partner.subscriptions.models import EndpointSecret, WebhookEndpoint
from shared.events import EventWriter
from shared.events.envelope import utcnow

deliveries = Delivery.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    lease_token: str
    url: str
    message_id: str
    body: bytes
    secrets: list[str]


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    lease_token: str
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _unleased(now: datetime) -> ColumnElement[bool]:
    return or_(col(Delivery.leased_until).is_(None), col(Delivery.leased_until) < now)


def due_deliveries(session: Session, now: datetime, limit: int) -> list[int]:
    """Ids of deliveries due now that head their (endpoint, person) line.

    Per-person order: of one person's open deliveries to one endpoint only the lowest
    sequence may be sent; the next waits until it is delivered or dead-lettered.
    """
    heads = (
        select(
            col(Delivery.endpoint_id).label("endpoint_id"),
            func.min(col(Delivery.sequence)).label("sequence"),
        )
        .where(col(Delivery.status).in_(OPEN))
        .group_by(col(Delivery.endpoint_id), col(Delivery.ordering_key))
        .subquery()
    )
    query = (
        select(col(Delivery.id))
        .join(
            heads,
            (heads.c.endpoint_id == col(Delivery.endpoint_id))
            & (heads.c.sequence == col(Delivery.sequence)),
        )
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(Delivery.endpoint_id))
        .join(Partner, col(Partner.id) == col(Delivery.partner_id))
        .where(
            col(Delivery.next_attempt_at) <= now,
            _unleased(now),
            col(WebhookEndpoint.status) == "active",
            col(Partner.status) == "active",
        )
        .order_by(col(Delivery.next_attempt_at), col(Delivery.id))
        .limit(limit)
    )
    return [int(i) for i in session.execute(query).scalars()]


def claim(session: Session, limit: int, lease_seconds: float) -> list[Claimed]:
    """Lease up to `limit` due deliveries (no other worker takes them while leased)."""
    now = utcnow()
    ids = due_deliveries(session, now, limit)
    if not ids:
        return []
    token = secrets.token_hex(8)
    session.execute(
        update(Delivery)
        .where(col(Delivery.id).in_(ids), _unleased(now))
        .values(leased_until=now + timedelta(seconds=lease_seconds), lease_token=token)
    )
    rows = session.execute(
        select(
            col(Delivery.id),
            col(Delivery.message_id),
            col(Delivery.body),
            col(WebhookEndpoint.id),
            col(WebhookEndpoint.url),
        )
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(Delivery.endpoint_id))
        .where(col(Delivery.lease_token) == token)
    ).all()
    keys = signing_keys(session, {r[3] for r in rows}, now)
    return [
        Claimed(delivery_id, token, url, message_id, body.encode(), keys.get(endpoint_id, []))
        for delivery_id, message_id, body, endpoint_id, url in rows
    ]


def signing_keys(session: Session, endpoint_ids: set[str], now: datetime) -> dict[str, list[str]]:
    """Per endpoint, the secrets that sign now (the current one, and any in overlap)."""
    found: dict[str, list[str]] = defaultdict(list)
    rows = session.execute(
        select(col(EndpointSecret.endpoint_id), col(EndpointSecret.secret))
        .where(
            col(EndpointSecret.endpoint_id).in_(endpoint_ids),
            or_(col(EndpointSecret.expires_at).is_(None), col(EndpointSecret.expires_at) > now),
        )
        .order_by(col(EndpointSecret.id).desc())
    )
    for endpoint_id, secret in rows:
        found[endpoint_id].append(secret)
    return found


def record(
    session: Session, events: EventWriter, config: PartnerSettings, outcomes: list[Outcome]
) -> None:
    """Write the attempts; schedule retries, dead-letter, and disable failing endpoints."""
    current = {
        r.id: r
        for r in session.execute(
            select(
                col(Delivery.id),
                col(Delivery.lease_token),
                col(Delivery.attempts),
                col(Delivery.endpoint_id),
            ).where(col(Delivery.id).in_([o.delivery_id for o in outcomes]))
        )
    }
    # An attempt whose lease was replaced (replayed or cancelled meanwhile) no longer counts.
    valid = [
        o
        for o in outcomes
        if o.delivery_id in current and current[o.delivery_id].lease_token == o.lease_token
    ]
    if not valid:
        return
    session.execute(
        insert(DeliveryAttempt),
        [
            {
                "delivery_id": o.delivery_id,
                "attempted_at": o.at,
                "status_code": o.status_code,
                "error": o.error,
                "duration_ms": o.duration_ms,
            }
            for o in valid
        ],
    )
    changes = []
    for o in valid:
        attempts = current[o.delivery_id].attempts + 1
        change = {
            "b_id": o.delivery_id,
            "attempts": attempts,
            "last_status_code": o.status_code,
            "last_error": o.error,
            "delivered_at": o.at if o.ok else None,
            "status": "delivered",
            "next_attempt_at": o.at,
        }
        if not o.ok:
            retry_at = next_attempt(
                config.retry_schedule_seconds, attempts, o.at, config.retry_jitter
            )
            change["status"] = "retrying" if retry_at else "dead"
            change["next_attempt_at"] = retry_at or o.at
        changes.append(change)
    session.execute(
        update(deliveries)
        .where(deliveries.c.id == bindparam("b_id"))
        .values(
            attempts=bindparam("attempts"),
            last_status_code=bindparam("last_status_code"),
            last_error=bindparam("last_error"),
            delivered_at=bindparam("delivered_at"),
            status=bindparam("status"),
            next_attempt_at=bindparam("next_attempt_at"),
            leased_until=None,
            lease_token=None,
        ),
        changes,
    )
    by_endpoint: dict[str, list[Outcome]] = defaultdict(list)
    for o in sorted(valid, key=lambda o: o.at):
        by_endpoint[current[o.delivery_id].endpoint_id].append(o)
    _count_failures(session, events, config, by_endpoint)


def _count_failures(
    session: Session,
    events: EventWriter,
    config: PartnerSettings,
    by_endpoint: dict[str, list[Outcome]],
) -> None:
    """Failed attempts in a row per endpoint; at the threshold the endpoint is disabled."""
    endpoints = (
        session.execute(
            select(WebhookEndpoint).where(col(WebhookEndpoint.id).in_(list(by_endpoint)))
        )
        .scalars()
        .all()
    )
    for endpoint in endpoints:
        failures = endpoint.consecutive_failures
        for o in by_endpoint[endpoint.id]:
            failures = 0 if o.ok else failures + 1
        if failures == endpoint.consecutive_failures:
            continue
        endpoint.consecutive_failures = failures
        if endpoint.status == "active" and failures >= config.disable_after_failures:
            _disable(session, events, endpoint, by_endpoint[endpoint.id][-1].at)
        session.add(endpoint)


def _disable(
    session: Session, events: EventWriter, endpoint: WebhookEndpoint, at: datetime
) -> None:
    endpoint.status = "disabled"
    endpoint.disabled_at = at
    endpoint.disabled_reason = f"{endpoint.consecutive_failures} failed attempts in a row"
    partner = session.get(Partner, endpoint.partner_id)
    assert partner is not None
    events.emit(
        session,
        EndpointDisabled(
            endpoint_id=endpoint.id,
            partner_id=partner.id,
            agency=partner.agency,
            consecutive_failures=endpoint.consecutive_failures,
            disabled_at=at,
        ),
        key=endpoint.id,
    )
