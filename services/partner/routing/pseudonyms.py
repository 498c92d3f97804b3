"""The partner agency's pseudonym of a person: from our cache, else from identity.

If identity cannot be reached we raise `IdentityUnavailable`, a transient error: the consumer
retries the batch later. We never fall back to sending the internal id.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlmodel import Session

from services.partner.routing.models import PseudonymCache
from shared.app import ServiceContext

Fetch = Callable[[str, str], str | None]


class IdentityUnavailable(RuntimeError):
    """Identity did not answer: try the batch again later (not a permanent rejection)."""


def identity_fetch(ctx: ServiceContext) -> Fetch:
    """Ask identity's internal endpoint (service role) for a pseudonym; None if it has none."""

    def fetch(agency: str, person_id: str) -> str | None:
        try:
            response = ctx.call(
                "identity",
                "GET",
                "/internal/pseudonym",
                params={"agency": agency, "person_id": person_id},
            )
        except httpx.HTTPError as exc:
            raise IdentityUnavailable(f"identity unreachable: {exc}") from exc
        if response.status_code in (404, 422):
            return None
        if response.status_code != 200:
            raise IdentityUnavailable(f"identity answered {response.status_code}")
        return str(response.json()["pseudonym"])

    return fetch


class Pseudonyms:
    """Pseudonyms never change for an (agency, person id), so they are kept: in the table,
    and for speed in memory (bounded: cleared when it grows past `memo_size`)."""

    def __init__(self, fetch: Fetch, memo_size: int = 200_000) -> None:
        self.fetch = fetch
        self.memo: dict[tuple[str, str], str] = {}
        self.memo_size = memo_size

    def _keep(self, key: tuple[str, str], pseudonym: str) -> None:
        if len(self.memo) >= self.memo_size:
            self.memo.clear()
        self.memo[key] = pseudonym

    def of(self, session: Session, agency: str, person_id: str) -> str | None:
        key = (agency, person_id)
        if key in self.memo:
            return self.memo[key]
        cached = session.get(PseudonymCache, key)
        if cached is not None:
            self._keep(key, cached.pseudonym)
            return cached.pseudonym
        pseudonym = self.fetch(agency, person_id)
        if pseudonym is not None:
            self.remember(session, agency, person_id, pseudonym)
        return pseudonym

    def remember(self, session: Session, agency: str, person_id: str, pseudonym: str) -> None:
        """Keep a pseudonym (fetched, or carried by identity's own record events)."""
        key = (agency, person_id)
        if key not in self.memo and session.get(PseudonymCache, key) is None:
            session.add(PseudonymCache(agency=agency, person_id=person_id, pseudonym=pseudonym))
        self._keep(key, pseudonym)
