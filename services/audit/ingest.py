"""Ingest: every service's access records, from Kafka, in batches, exactly once, in order.

The consumer base drops events it has already processed (by event id) and tracks each
source's sequence; here a batch's access records are appended to the log together, and a
gap the base detects becomes an alert.
"""

from __future__ import annotations

from sqlmodel import Session

from services.audit.alerts import AlertDraft, AlertRules, raise_alert
from services.audit.ledger import Arrival, append
from services.audit.persons import PERSON_UNMERGED, PERSONS_MERGED, follow_identity
from services.audit.records import access_fields
from services.audit.settings import AuditSettings
from shared.db import Database
from shared.events import CloudEvent
from shared.events.consumer import EventConsumer, Gap
from shared.events.kafka import all_topics
from shared.events.outbox import EventWriter
from shared.settings import Settings

ACCESS_EVENT = "audit.access.v1"
CONSUMER_NAME = "audit-ingest"


def arrival_of(event: CloudEvent) -> Arrival:
    return Arrival(event.id, event.source, event.sequence, access_fields(event.data))


class AuditIngest(EventConsumer):
    # Bigger transactions: the head update, duplicate check and commit are paid per batch.
    batch_records = 4000

    def __init__(
        self,
        db: Database,
        settings: Settings,
        events: EventWriter,
        audit_settings: AuditSettings | None = None,
    ) -> None:
        super().__init__(CONSUMER_NAME, all_topics(settings), db, settings)
        self.events = events
        audit_settings = audit_settings or AuditSettings()
        self.rules = AlertRules(audit_settings)
        self.linger_seconds = audit_settings.ingest_linger_seconds
        self.appended = 0
        self.on_gap = self.report_gap

    def handle_batch(self, session: Session, events: list[CloudEvent]) -> None:
        for e in events:
            if e.type in (PERSONS_MERGED, PERSON_UNMERGED):
                follow_identity(session, e)
        arrivals = [arrival_of(e) for e in events if e.type == ACCESS_EVENT]
        if not arrivals:
            return
        entries = append(session, arrivals)
        for draft in self.rules.observe(entries):
            raise_alert(session, self.events, draft)
        self.appended += len(entries)

    def report_gap(self, session: Session, gap: Gap) -> None:
        detail = {
            "source": gap.source,
            "first_missing": gap.first_missing,
            "last_missing": gap.last_missing,
        }
        raise_alert(session, self.events, AlertDraft("sequence_gap", detail))
