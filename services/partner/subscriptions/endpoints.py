"""A partner's webhook endpoints: subscribe, read, pause, enable, delete, rotate the secret."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from services.partner.auth import ActivePartner
from services.partner.runtime import partner_settings
from services.partner.subscriptions import service
from services.partner.subscriptions.models import WebhookEndpoint
from services.partner.subscriptions.schemas import (
    EndpointCreated,
    EndpointIn,
    EndpointOut,
    SecretRotated,
)
from shared.app import Context
from shared.db import SessionDep

router = APIRouter(prefix="/endpoints", tags=["webhooks"])


def _out(endpoint: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(**endpoint.model_dump())


@router.post("", status_code=status.HTTP_201_CREATED, response_model=EndpointCreated)
def subscribe(
    body: EndpointIn, partner: ActivePartner, ctx: Context, session: SessionDep
) -> EndpointCreated:
    """Subscribe a URL to event types the partner is allowed; the signing secret is returned."""
    endpoint, secret = service.subscribe(session, partner, body, ctx.settings.env)
    return EndpointCreated(**endpoint.model_dump(), secret=secret)


@router.get("", response_model=list[EndpointOut])
def list_endpoints(partner: ActivePartner, session: SessionDep) -> list[EndpointOut]:
    return [_out(e) for e in service.list_endpoints(session, partner)]


@router.get("/{endpoint_id}", response_model=EndpointOut)
def read_endpoint(endpoint_id: str, partner: ActivePartner, session: SessionDep) -> EndpointOut:
    return _out(service.own_endpoint(session, partner, endpoint_id))


@router.post("/{endpoint_id}/enable", response_model=EndpointOut)
def enable_endpoint(endpoint_id: str, partner: ActivePartner, session: SessionDep) -> EndpointOut:
    """Enable again (after it was disabled for failing, or paused); waiting deliveries resume."""
    endpoint = service.own_endpoint(session, partner, endpoint_id)
    return _out(service.set_status(session, endpoint, "active"))


@router.post("/{endpoint_id}/disable", response_model=EndpointOut)
def disable_endpoint(endpoint_id: str, partner: ActivePartner, session: SessionDep) -> EndpointOut:
    """Pause: deliveries wait (in order) until the endpoint is enabled again."""
    endpoint = service.own_endpoint(session, partner, endpoint_id)
    return _out(service.set_status(session, endpoint, "disabled"))


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_endpoint(endpoint_id: str, partner: ActivePartner, session: SessionDep) -> Response:
    endpoint = service.own_endpoint(session, partner, endpoint_id)
    service.set_status(session, endpoint, "deleted")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{endpoint_id}/secret/rotate", response_model=SecretRotated)
def rotate_secret(
    endpoint_id: str, partner: ActivePartner, ctx: Context, session: SessionDep
) -> SecretRotated:
    """A new secret; the old one also signs until the overlap ends (both signatures sent)."""
    endpoint = service.own_endpoint(session, partner, endpoint_id)
    secret, until = service.rotate_secret(
        session, endpoint, partner_settings(ctx).secret_overlap_seconds
    )
    return SecretRotated(secret=secret, previous_expires_at=until)
