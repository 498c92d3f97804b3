"""The envelope's event ids: unique, and ordered by creation so keyed indexes append."""

from __future__ import annotations

import uuid

from shared.events import CloudEvent


def test_event_ids_are_uuid7_in_creation_order_and_unique():
    events = [CloudEvent(source="/casebridge/test", type="test.v1") for _ in range(2000)]
    ids = [e.id for e in events]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert ids == sorted(ids)  # as text too: what a database index compares
    assert len(set(ids)) == len(ids)


def test_an_event_id_from_the_wire_is_kept():
    raw = CloudEvent(id="given-by-a-partner", source="/p", type="t.v1").to_bytes()
    assert CloudEvent.from_bytes(raw).id == "given-by-a-partner"
