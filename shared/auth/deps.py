"""FastAPI dependencies that authenticate and require a role, visible in the signature.

They are `async def` because they do no I/O: a sync dependency costs a thread-pool hop.

Every route that takes one of these aliases is closed to anyone without that role; a
route with none of them is public (only health checks and documentation are).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth.principal import ROLES, Principal
from shared.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False)


async def _principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("A bearer token is required.", slug="missing-token")
    principal: Principal = request.app.state.verifier.verify(credentials.credentials)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits a principal holding any one of `roles`."""
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has(*roles):
            raise Forbidden(
                f"This needs one of the roles: {', '.join(sorted(roles))}.", slug="missing-role"
            )
        return principal

    check.__name__ = f"require_{'_or_'.join(roles)}"
    return check


Caseworker = Annotated[Principal, Depends(require_roles("caseworker"))]
IgOfficer = Annotated[Principal, Depends(require_roles("ig_officer"))]
Auditor = Annotated[Principal, Depends(require_roles("auditor"))]
Client = Annotated[Principal, Depends(require_roles("client"))]
PartnerSystem = Annotated[Principal, Depends(require_roles("partner_system"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
ServiceCaller = Annotated[Principal, Depends(require_roles("service"))]
