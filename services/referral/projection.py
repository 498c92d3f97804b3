"""The local projection of the consent and identity topics (P6).

Per person it keeps the latest consent revision applied, and globally the latest revision and
when its event was produced, so the service can say how far behind it is. An event that can
end a basis queues the affected referrals for re-evaluation (done by `reevaluation`, outside
this transaction, because it asks the consent service). Merges and unmerges move referrals to
the surviving (or restored) person and mark their decision stale.
"""

from __future__ import annotations

import logging
import threading
import time

from aiokafka import ConsumerRecord
from sqlalchemy import event as sa_event
from sqlmodel import Session

from services.referral import queries
from services.referral.identity_cache import identity_cache
from services.referral.rules import DISCLOSING, RESTRICTING_EVENTS, event_targets
from shared.app import ServiceContext
from shared.events.consumer import EventConsumer
from shared.events.envelope import CloudEvent

log = logging.getLogger(__name__)

MERGED = "identity.persons_merged.v1"
UNMERGED = "identity.person_unmerged.v1"
# The consent service's event families that speak about bases; its access records do not.
POLICY_FAMILIES = frozenset({"consent", "objection", "agreement"})


class ReferralProjection(EventConsumer):
    def __init__(self, ctx: ServiceContext, wake: threading.Event, delay: float = 0.0) -> None:
        super().__init__(
            "referral-projection",
            [ctx.settings.topic("consent"), ctx.settings.topic("identity")],
            ctx.db,
            ctx.settings,
        )
        self.wake = wake
        self.delay = delay
        self.identities = identity_cache(ctx)

    def wants(self, event_type: str) -> bool:
        return event_type in (MERGED, UNMERGED) or event_type.split(".")[0] in POLICY_FAMILIES

    def process(self, records: list[ConsumerRecord]) -> int:
        if self.delay:
            # Benchmark only: fall behind before the batch's transaction, not inside it (on
            # SQLite a sleeping transaction would hold the write lock). Runs in a thread.
            time.sleep(self.delay)
        return super().process(records)

    def handle_batch(self, session: Session, events: list[CloudEvent]) -> None:
        queued = 0
        for e in events:
            if e.producer == "consent":
                queued += self.apply_consent_event(session, e)
            elif e.type in (MERGED, UNMERGED):
                # Pseudonym answers may now be wrong: forget them now and again once the
                # moved referrals are committed (a request between the two refetches).
                self.identities.clear()
                sa_event.listen(
                    session, "after_commit", lambda _s: self.identities.clear(), once=True
                )
                follow = self.follow_merge if e.type == MERGED else self.follow_unmerge
                queued += follow(session, e)
        if queued:
            sa_event.listen(session, "after_commit", lambda _s: self.wake.set(), once=True)

    def apply_consent_event(self, session: Session, e: CloudEvent) -> int:
        target = event_targets(e.data)
        if target.revision is not None:
            queries.advance_global(session, target.revision, e.time)
            if target.person_id:
                queries.advance_person(session, target.person_id, target.revision, e.time)
        if e.type not in RESTRICTING_EVENTS:
            return 0
        affected: list[str] = []
        if target.person_id:
            affected += queries.open_referrals_of_person(session, target.person_id)
        if target.consent_id:
            affected += queries.open_referrals_by_basis(session, "consent", target.consent_id)
        if target.agreement_id:
            affected += queries.open_referrals_by_basis(session, "agreement", target.agreement_id)
        return queries.queue_reevaluation(session, affected, e.type, target.revision)

    def follow_merge(self, session: Session, e: CloudEvent) -> int:
        survivor = str(e.data["survivor_person_id"])
        merged = str(e.data["merged_person_id"])
        return self._move(session, merged, survivor, "person_merged", lambda _r: True)

    def follow_unmerge(self, session: Session, e: CloudEvent) -> int:
        person = str(e.data["person_id"])
        restored = str(e.data["restored_person_id"])
        return self._move(
            session,
            person,
            restored,
            "person_unmerged",
            lambda r: r.original_person_id == restored,
        )

    def _move(self, session: Session, old: str, new: str, change: str, which) -> int:  # type: ignore[no-untyped-def]
        moved = []
        for referral in queries.referrals_of_person(session, old):
            if not which(referral):
                continue
            referral.person_id = new
            referral.recipient_person_ref = None
            referral.decision_revision = -1  # decided about someone else: must be re-decided
            queries.add_change(session, referral, change, "identity")
            if referral.status in DISCLOSING:
                moved.append(referral.id)
        session.flush()
        return queries.queue_reevaluation(session, moved, change, None)
