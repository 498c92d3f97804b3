"""Who is calling: the verified claims of a bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.errors import Forbidden, Unauthorized

ROLES = frozenset(
    {"caseworker", "ig_officer", "auditor", "client", "partner_system", "admin", "service"}
)


@dataclass(frozen=True)
class Principal:
    sub: str
    agency: str | None
    roles: frozenset[str]
    person: str | None = None

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthorized("The token carries no roles.", slug="invalid-token")
        unknown = set(roles) - ROLES
        if unknown:
            raise Unauthorized(f"Unknown roles {sorted(unknown)}.", slug="invalid-token")
        agency = claims.get("agency")
        person = claims.get("person")
        if "client" in roles and not person:
            raise Unauthorized("A client token must name its person.", slug="invalid-token")
        if not {"client", "service"} & set(roles) and not agency:
            raise Unauthorized("The token names no agency.", slug="invalid-token")
        return cls(sub=str(claims["sub"]), agency=agency, roles=frozenset(roles), person=person)

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    def require_agency(self, agency: str) -> None:
        """A user acts only within their own agency."""
        if self.agency != agency:
            raise Forbidden("That belongs to another agency.", slug="wrong-agency")

    def require_person(self, person: str) -> None:
        """A client acts only on their own records."""
        if self.person != person:
            raise Forbidden("That belongs to another person.", slug="wrong-person")

    @property
    def audit_actor(self) -> dict[str, Any]:
        return {"sub": self.sub, "agency": self.agency, "roles": sorted(self.roles)}
