"""Who may do what here: registrars manage partners; a partner acts only while it is active."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.partner.partners.models import Partner
from shared.auth import PartnerSystem, Principal, require_roles
from shared.db import SessionDep
from shared.errors import Forbidden

Registrar = Annotated[Principal, Depends(require_roles("admin", "ig_officer"))]


def require_manages(principal: Principal, agency: str) -> None:
    """An admin manages any agency's partners; an IG officer only their own agency's."""
    if not principal.has("admin"):
        principal.require_agency(agency)


def _active_partner(principal: PartnerSystem, session: SessionDep) -> Partner:
    """Every partner request re-checks the partner: a revoked one is refused at once."""
    partner = session.get(Partner, principal.sub)
    if partner is None or partner.agency != principal.agency:
        raise Forbidden("This token names no registered partner.", slug="unknown-partner")
    if not partner.active:
        raise Forbidden("This partner's access has been revoked.", slug="partner-revoked")
    return partner


ActivePartner = Annotated[Partner, Depends(_active_partner)]
