"""What routing remembers between events, in the routing transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import insert
from sqlmodel import Session, col, select

from services.partner.routing.models import KnownPerson, ScopeParties
from shared.events.envelope import utcnow


class RoutingMemory:
    """The parties of consents and objections, and which agencies were told of which persons.

    Who-was-told is collected during a batch and written once at its end (`save`).
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.told: dict[str, set[str]] = defaultdict(set)

    def parties(self, subject_id: str) -> set[str]:
        row = self.session.get(ScopeParties, subject_id)
        return set(row.agencies) if row else set()

    def agencies_knowing(self, person_ids: Iterable[str]) -> set[str]:
        ids = list(set(person_ids))
        if not ids:
            return set()
        rows = self.session.exec(
            select(KnownPerson.agency).where(col(KnownPerson.person_id).in_(ids))
        )
        return set(rows.all()).union(*(self.told.get(p, set()) for p in ids))

    def remember_parties(self, subject_id: str, agencies: set[str]) -> None:
        row = self.session.get(ScopeParties, subject_id)
        if row is None:
            self.session.add(ScopeParties(subject_id=subject_id, agencies=sorted(agencies)))
        else:
            row.agencies = sorted(set(row.agencies) | agencies)
            self.session.add(row)
        self.session.flush()

    def remember_known(self, agency: str, person_ids: Iterable[str]) -> None:
        for person_id in person_ids:
            self.told[person_id].add(agency)

    def save(self) -> None:
        """Write who was told in this batch (the pairs not already known)."""
        if not self.told:
            return
        rows = self.session.execute(
            select(col(KnownPerson.agency), col(KnownPerson.person_id)).where(
                col(KnownPerson.person_id).in_(list(self.told))
            )
        )
        existing = {(agency, person_id) for agency, person_id in rows}
        now = utcnow()
        fresh = [
            {"agency": a, "person_id": p, "since": now}
            for p, agencies in self.told.items()
            for a in sorted(agencies)
            if (a, p) not in existing
        ]
        if fresh:
            self.session.execute(insert(KnownPerson), fresh)
        self.told.clear()
