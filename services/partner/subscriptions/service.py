"""Webhook endpoints: subscribe, pause, enable, delete, and rotate the signing secret."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from services.partner.deliveries.models import OPEN, Delivery
from services.partner.deliveries.signing import new_secret
from services.partner.partners.models import Partner
from services.partner.subscriptions.models import EndpointSecret, WebhookEndpoint
from services.partner.subscriptions.schemas import EndpointIn
from services.partner.subscriptions.urls import url_problem
from shared.errors import NotFound, Unprocessable
from shared.events.envelope import utcnow


def _field_error(field: str, message: str, code: str) -> Unprocessable:
    return Unprocessable(
        "The request has invalid fields.",
        errors=[{"field": field, "message": message, "code": code}],
    )


def subscribe(
    session: Session, partner: Partner, body: EndpointIn, env: str
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint for event types within the partner's allowed set, with its secret."""
    problem = url_problem(body.url, env)
    if problem:
        raise _field_error("body.url", problem, "invalid_url")
    outside = sorted(set(body.event_types) - set(partner.allowed_types))
    if outside:
        raise _field_error(
            "body.event_types",
            f"not allowed for this partner: {', '.join(outside)}",
            "type_not_allowed",
        )
    now = utcnow()
    endpoint = WebhookEndpoint(
        id="ep_" + secrets.token_hex(12),
        partner_id=partner.id,
        url=body.url,
        event_types=body.event_types,
        created_at=now,
    )
    secret = new_secret()
    session.add(endpoint)
    session.flush()
    session.add(EndpointSecret(endpoint_id=endpoint.id, secret=secret, created_at=now))
    session.flush()
    return endpoint, secret


def own_endpoint(session: Session, partner: Partner, endpoint_id: str) -> WebhookEndpoint:
    """A partner sees only its own endpoints (another's is simply not found)."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.partner_id != partner.id or endpoint.status == "deleted":
        raise NotFound("No such endpoint.", slug="endpoint-not-found")
    return endpoint


def list_endpoints(session: Session, partner: Partner) -> list[WebhookEndpoint]:
    return list(
        session.exec(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.partner_id == partner.id, WebhookEndpoint.status != "deleted")
            .order_by(WebhookEndpoint.created_at)  # type: ignore[arg-type]
        ).all()
    )


def set_status(session: Session, endpoint: WebhookEndpoint, status: str) -> WebhookEndpoint:
    """Enable (failures forgotten, waiting deliveries flow again), pause, or delete."""
    endpoint.status = status
    if status == "active":
        endpoint.consecutive_failures = 0
        endpoint.disabled_at = None
        endpoint.disabled_reason = None
    elif status == "disabled":
        endpoint.disabled_at = utcnow()
        endpoint.disabled_reason = "paused by the partner"
    elif status == "deleted":
        session.execute(
            update(Delivery)
            .where(col(Delivery.endpoint_id) == endpoint.id, col(Delivery.status).in_(OPEN))
            .values(status="cancelled", leased_until=None, lease_token=None)
        )
    session.add(endpoint)
    session.flush()
    return endpoint


def rotate_secret(
    session: Session, endpoint: WebhookEndpoint, overlap_seconds: float
) -> tuple[str, datetime]:
    """A new secret signs from now; the current one keeps signing until the overlap ends."""
    now = utcnow()
    until = now + timedelta(seconds=overlap_seconds)
    for old in signing_secrets(session, endpoint.id, now):
        if old.expires_at is None or old.expires_at > until:
            old.expires_at = until
            session.add(old)
    secret = new_secret()
    session.add(EndpointSecret(endpoint_id=endpoint.id, secret=secret, created_at=now))
    session.flush()
    return secret, until


def signing_secrets(session: Session, endpoint_id: str, now: datetime) -> list[EndpointSecret]:
    """The secrets that sign now: the current one and any still in their overlap, newest first."""
    return list(
        session.exec(
            select(EndpointSecret)
            .where(
                EndpointSecret.endpoint_id == endpoint_id,
                or_(col(EndpointSecret.expires_at).is_(None), col(EndpointSecret.expires_at) > now),
            )
            .order_by(col(EndpointSecret.id).desc())
        ).all()
    )
