"""Partner registration (admins and IG officers) and the token endpoint (partner systems)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, status

from services.partner.auth import Registrar, require_manages
from services.partner.partners import service
from services.partner.partners.schemas import (
    AllowedTypesIn,
    PartnerCreated,
    PartnerIn,
    PartnerOut,
    TokenOut,
)
from services.partner.runtime import partner_settings
from shared.app import Context, Events
from shared.db import SessionDep
from shared.errors import BadRequest, Unauthorized

router = APIRouter(tags=["partners"])


@router.post("/partners", status_code=status.HTTP_201_CREATED, response_model=PartnerCreated)
def register_partner(
    body: PartnerIn, registrar: Registrar, session: SessionDep, events: Events
) -> PartnerCreated:
    """Register a partner system for an agency, with the event types it may receive."""
    require_manages(registrar, body.agency)
    partner, secret = service.register_partner(session, events, registrar, body)
    return PartnerCreated(**partner.model_dump(), client_secret=secret)


@router.get("/partners", response_model=list[PartnerOut])
def list_partners(registrar: Registrar, session: SessionDep) -> list[PartnerOut]:
    """An admin sees every partner; an IG officer their own agency's."""
    agency = None if registrar.has("admin") else registrar.agency
    return [PartnerOut(**p.model_dump()) for p in service.list_partners(session, agency)]


@router.get("/partners/{partner_id}", response_model=PartnerOut)
def read_partner(partner_id: str, registrar: Registrar, session: SessionDep) -> PartnerOut:
    partner = service.get_partner(session, partner_id)
    require_manages(registrar, partner.agency)
    return PartnerOut(**partner.model_dump())


@router.put("/partners/{partner_id}/allowed-types", response_model=PartnerOut)
def change_allowed_types(
    partner_id: str, body: AllowedTypesIn, registrar: Registrar, session: SessionDep
) -> PartnerOut:
    """Change the event types a partner may receive (its endpoints keep only those)."""
    partner = service.get_partner(session, partner_id)
    require_manages(registrar, partner.agency)
    changed = service.change_allowed_types(session, partner, body.allowed_types)
    return PartnerOut(**changed.model_dump())


@router.post("/partners/{partner_id}/revoke", response_model=PartnerOut)
def revoke_partner(
    partner_id: str, registrar: Registrar, session: SessionDep, events: Events
) -> PartnerOut:
    """Revoke a partner: it gets no token and no delivery from now on."""
    partner = service.get_partner(session, partner_id)
    require_manages(registrar, partner.agency)
    return PartnerOut(**service.revoke_partner(session, events, registrar, partner).model_dump())


async def _credentials(request: Request) -> tuple[str, str]:
    """OAuth 2 client credentials, from HTTP Basic or the (form or JSON) body."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise Unauthorized("Malformed Basic credentials.", slug="invalid-client") from exc
        fields = {"grant_type": "client_credentials", "client_id": client_id}
        fields["client_secret"] = secret
    else:
        raw = await request.body()
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                loaded = json.loads(raw or b"{}")
            except json.JSONDecodeError as exc:
                raise BadRequest("The body is not JSON.", slug="invalid-request") from exc
            fields = {k: str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
        else:
            fields = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace")).items()}
    if fields.get("grant_type") != "client_credentials":
        raise BadRequest("grant_type must be client_credentials.", slug="unsupported-grant-type")
    if not fields.get("client_id") or not fields.get("client_secret"):
        raise Unauthorized("client_id and client_secret are required.", slug="invalid-client")
    return fields["client_id"], fields["client_secret"]


@router.post("/oauth/token", response_model=TokenOut)
async def token(request: Request, ctx: Context) -> TokenOut:
    """Exchange a partner's client credentials for a short-lived partner_system token."""
    client_id, secret = await _credentials(request)
    ttl = partner_settings(ctx).token_ttl_seconds

    def issue() -> str:
        with ctx.db.session() as session:
            return service.issue_token(session, ctx.settings, client_id, secret, ttl)

    access = await asyncio.to_thread(issue)
    return TokenOut(access_token=access, expires_in=ttl)
