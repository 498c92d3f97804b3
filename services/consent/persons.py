"""Naming persons: callers use their agency's pseudonym; we store internal person ids.

The identity service resolves pseudonyms. When it cannot be reached we refuse (503) rather
than guess: a consent or a decision about the wrong person is worse than none.
"""

from __future__ import annotations

import httpx

from shared.app import ServiceContext
from shared.errors import Forbidden, Unavailable


def _ask_identity(ctx: ServiceContext, path: str, params: dict[str, str]) -> httpx.Response:
    try:
        response = ctx.call("identity", "GET", path, params=params)
    except httpx.HTTPError as exc:
        raise Unavailable(
            "The identity service cannot be reached; nothing was done.",
            slug="identity-unavailable",
        ) from exc
    if response.status_code >= 500 or response.status_code in (401, 403):
        raise Unavailable(
            f"The identity service answered {response.status_code}; nothing was done.",
            slug="identity-unavailable",
        )
    return response


def resolve(ctx: ServiceContext, *, agency: str, pseudonym: str) -> str:
    """The internal person id behind `agency`'s pseudonym (after merges, the survivor)."""
    response = _ask_identity(ctx, "/internal/resolve", {"agency": agency, "pseudonym": pseudonym})
    if response.status_code in (404, 422):
        raise Forbidden("That pseudonym names nobody known to your agency.", slug="unknown-person")
    if response.status_code != 200:
        raise Unavailable(
            f"The identity service answered {response.status_code}.", slug="identity-unavailable"
        )
    return str(response.json()["person_id"])


def pseudonym_for(ctx: ServiceContext, *, agency: str, person_id: str) -> str:
    """The person's pseudonym as `agency` (or "client") knows them."""
    response = _ask_identity(ctx, "/internal/pseudonym", {"agency": agency, "person_id": person_id})
    if response.status_code != 200:
        raise Unavailable(
            f"The identity service answered {response.status_code}.", slug="identity-unavailable"
        )
    return str(response.json()["pseudonym"])
