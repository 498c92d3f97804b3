"""Identity events reach Kafka through the outbox, keyed by person, with no personal data."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer

from services.identity.tests.conftest import record
from shared.events.envelope import CloudEvent


async def read_identity_topic(
    settings, wanted: set[str], within: float = 30.0
) -> list[tuple[bytes | None, CloudEvent]]:
    consumer = AIOKafkaConsumer(
        settings.topic("identity"),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"identity-test-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: list[tuple[bytes | None, CloudEvent]] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not wanted <= {e.type for _, e in found} and loop.time() < deadline:
            for msgs in (await consumer.getmany(timeout_ms=200)).values():
                found.extend((m.key, CloudEvent.from_bytes(m.value)) for m in msgs)
    finally:
        await consumer.stop()
    return found


def test_register_link_merge_and_unmerge_events_arrive_on_kafka(identity, as_, settings):
    h = as_("caseworker", "housing")
    identity.post("/records", json=record("H-1"), headers=h)
    identity.post(
        "/records", json=record("P-1", given_name="Jon"), headers=as_("caseworker", "police")
    )
    b = identity.post(
        "/records",
        json=record(
            "H-2",
            given_name="Mary",
            family_name="Okafor",
            birth_date="1990-01-01",
            sex="female",
            postcode="LS2 9JT",
        ),
        headers=h,
    ).json()
    a = identity.get("/records/H-1", headers=h).json()
    ig = as_("ig_officer", "housing")
    merge = identity.post(
        "/persons/merge",
        json={"survivor": a["person"], "merged": b["person"], "reason": "same"},
        headers=ig,
    ).json()
    identity.post(
        f"/merges/{merge['merge_id']}/unmerge", json={"reason": "not the same"}, headers=ig
    )

    wanted = {
        "identity.record_registered.v1",
        "identity.person_linked.v1",
        "identity.persons_merged.v1",
        "identity.person_unmerged.v1",
        "audit.access.v1",
    }
    events = asyncio.run(read_identity_topic(settings, wanted))
    types = {e.type for _, e in events}
    assert wanted <= types
    [(key, merged)] = [(k, e) for k, e in events if e.type == "identity.persons_merged.v1"]
    assert key is not None and key.decode() == merged.data["survivor_person_id"]
    [(_, unmerged)] = [(k, e) for k, e in events if e.type == "identity.person_unmerged.v1"]
    assert unmerged.data["restored_person_id"] == merged.data["merged_person_id"]
    for _, e in events:
        if e.type.startswith("identity."):
            text = str(e.data)
            for personal in ("Jonathan", "Smith", "Okafor", "1980-03-04", "M14BT"):
                assert personal not in text
