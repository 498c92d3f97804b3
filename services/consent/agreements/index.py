"""An in-memory index of agreements by (provider, recipient), refreshed by revision.

Decisions consult it instead of querying every agreement: when the `agreements` revision
mark moves, the index is rebuilt from the store on the next decision.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from sqlalchemy import select
from sqlmodel import Session

from services.consent.models import Agreement
from services.consent.policy.terms import AgreementTerms


class AgreementIndex:
    def __init__(self, revision: int, agreements: list[AgreementTerms]) -> None:
        self.revision = revision
        self.pairs: dict[tuple[str, str], list[AgreementTerms]] = defaultdict(list)
        for a in agreements:
            for p in a.providers:
                for r in a.recipients:
                    self.pairs[(p, r)].append(a)

    def between(self, provider: str, recipient: str) -> list[AgreementTerms]:
        return self.pairs.get((provider, recipient), [])


def terms_of(a: Agreement) -> AgreementTerms:
    return AgreementTerms(
        agreement_id=a.id,
        title=a.title,
        status=a.status,  # type: ignore[arg-type]
        providers=frozenset(a.providers),
        recipients=frozenset(a.recipients),
        purposes=frozenset(a.purposes),
        categories=tuple(a.categories),
        legal_basis=a.legal_basis,  # type: ignore[arg-type]
        citation=a.citation,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        security=a.security,
    )


def load(session: Session, revision: int) -> AgreementIndex:
    rows = session.execute(select(Agreement)).scalars().all()
    return AgreementIndex(revision, [terms_of(a) for a in rows])


class AgreementCache:
    """Holds the latest index; thread-safe replacement (decisions run in a thread pool)."""

    def __init__(self) -> None:
        self._index: AgreementIndex | None = None
        self._lock = threading.Lock()

    def get(self, session: Session, revision: int) -> AgreementIndex:
        index = self._index
        if index is not None and index.revision == revision:
            return index
        with self._lock:
            index = self._index
            if index is None or index.revision != revision:
                index = load(session, revision)
                self._index = index
            return index
