"""Registering and revoking partner systems, and exchanging their credentials for tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.partner.deliveries.models import OPEN, Delivery
from services.partner.events import PartnerRegistered, PartnerRevoked
from services.partner.partners.models import Partner
from services.partner.partners.schemas import PartnerIn
from services.partner.subscriptions.models import WebhookEndpoint
from shared.auth import Principal
from shared.auth.tokens import mint_token
from shared.errors import Conflict, NotFound, Unauthorized
from shared.events import EventWriter
from shared.events.envelope import utcnow
from shared.settings import Settings


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def register_partner(
    session: Session, events: EventWriter, registrar: Principal, body: PartnerIn
) -> tuple[Partner, str]:
    """Register a partner; the client secret is returned once and only its hash is kept."""
    client_secret = "cbs_" + secrets.token_urlsafe(32)
    partner = Partner(
        id="prt_" + secrets.token_hex(12),
        agency=body.agency,
        name=body.name,
        allowed_types=body.allowed_types,
        client_id="cli_" + secrets.token_hex(12),
        secret_hash=_hash(client_secret),
        created_by=registrar.sub,
        created_at=utcnow(),
    )
    session.add(partner)
    session.flush()
    events.emit(
        session,
        PartnerRegistered(
            partner_id=partner.id,
            agency=partner.agency,
            allowed_types=partner.allowed_types,
            registered_by=registrar.sub,
        ),
        key=partner.id,
    )
    return partner, client_secret


def get_partner(session: Session, partner_id: str) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound("No such partner.", slug="partner-not-found")
    return partner


def list_partners(session: Session, agency: str | None) -> list[Partner]:
    query = select(Partner).order_by(Partner.created_at)  # type: ignore[arg-type]
    if agency is not None:
        query = query.where(Partner.agency == agency)
    return list(session.exec(query).all())


def change_allowed_types(session: Session, partner: Partner, allowed: list[str]) -> Partner:
    """Narrow or widen what a partner may receive; its endpoints keep only allowed types."""
    if not partner.active:
        raise Conflict("This partner is revoked.", slug="partner-revoked")
    partner.allowed_types = allowed
    session.add(partner)
    endpoints = session.exec(
        select(WebhookEndpoint).where(WebhookEndpoint.partner_id == partner.id)
    ).all()
    for endpoint in endpoints:
        kept = [t for t in endpoint.event_types if t in allowed]
        if kept != endpoint.event_types:
            endpoint.event_types = kept
            session.add(endpoint)
    session.flush()
    return partner


def revoke_partner(
    session: Session, events: EventWriter, registrar: Principal, partner: Partner
) -> Partner:
    """Revoke for good: no token, no request, no delivery from now on (open ones cancelled)."""
    if not partner.active:
        raise Conflict("This partner is already revoked.", slug="partner-revoked")
    partner.status = "revoked"
    partner.revoked_at = utcnow()
    partner.revoked_by = registrar.sub
    session.add(partner)
    cancelled = session.execute(  # type: ignore[attr-defined]
        update(Delivery)
        .where(col(Delivery.partner_id) == partner.id, col(Delivery.status).in_(OPEN))
        .values(status="cancelled", leased_until=None, lease_token=None)
    ).rowcount
    events.emit(
        session,
        PartnerRevoked(
            partner_id=partner.id,
            agency=partner.agency,
            revoked_by=registrar.sub,
            cancelled_deliveries=int(cancelled or 0),
        ),
        key=partner.id,
    )
    session.flush()
    return partner


def issue_token(
    session: Session, settings: Settings, client_id: str, client_secret: str, ttl_seconds: int
) -> str:
    """Client credentials -> a short-lived partner_system token (sub = partner id)."""
    partner = session.exec(select(Partner).where(Partner.client_id == client_id)).first()
    valid = partner is not None and hmac.compare_digest(partner.secret_hash, _hash(client_secret))
    if partner is None or not valid:
        raise Unauthorized("Unknown client or wrong secret.", slug="invalid-client")
    if not partner.active:
        raise Unauthorized("This partner's access has been revoked.", slug="partner-revoked")
    return mint_token(
        settings,
        sub=partner.id,
        agency=partner.agency,
        roles=["partner_system"],
        ttl_seconds=ttl_seconds,
    )
