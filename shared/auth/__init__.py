"""Authentication and authorisation: verified JWTs and role-typed FastAPI dependencies."""

from shared.auth.deps import (
    Admin,
    Auditor,
    Caseworker,
    Client,
    CurrentPrincipal,
    IgOfficer,
    PartnerSystem,
    ServiceCaller,
    require_roles,
)
from shared.auth.principal import ROLES, Principal

__all__ = [
    "ROLES",
    "Admin",
    "Auditor",
    "Caseworker",
    "Client",
    "CurrentPrincipal",
    "IgOfficer",
    "PartnerSystem",
    "Principal",
    "ServiceCaller",
    "require_roles",
]
