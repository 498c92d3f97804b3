"""Building access events and putting them on a service's topic, as that service would."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.access_log import AccessRecorded, Actor, Basis
from shared.events import CloudEvent
from shared.events.envelope import source_of
from shared.events.kafka import ensure_topics
from shared.settings import Settings

_sequences: dict[tuple[str, str], itertools.count[int]] = {}


def access(
    *,
    sub: str = "hana.housing",
    agency: str = "housing",
    person_id: str | None = "person-1",
    action: str = "identity.record.read",
    decision: str = "permitted",
    purpose: str | None = "housing_support",
    break_glass: str | None = None,
    service: str = "identity",
    **extra: Any,
) -> AccessRecorded:
    return AccessRecorded(
        actor=Actor(sub=sub, agency=agency, roles=["caseworker"]),
        person_id=person_id,
        person_ref=f"psn_{person_id}" if person_id else None,
        action=action,
        resource=f"records/{person_id}",
        categories=["identity"],
        purpose=purpose,
        basis=Basis(agreements=["agr-1"], break_glass=break_glass),
        decision=decision,  # type: ignore[arg-type]
        service=service,
        **extra,
    )


def envelope(record: AccessRecorded, *, sequence: int, service: str | None = None) -> CloudEvent:
    return CloudEvent(
        source=source_of(service or record.service),
        type="audit.access.v1",
        sequence=sequence,
        partitionkey=record.person_id,
        data=record.model_dump(mode="json"),
    )


def sequenced(settings: Settings, records: Iterable[AccessRecorded]) -> list[CloudEvent]:
    """Envelopes numbered 1, 2, 3... per source and per test run, as a relay numbers them."""
    out = []
    for r in records:
        key = (settings.kafka_topic_prefix, r.service)
        counter = _sequences.setdefault(key, itertools.count(1))
        out.append(envelope(r, sequence=next(counter)))
    return out


def publish(settings: Settings, events: Iterable[CloudEvent]) -> None:
    """Send envelopes straight to their producer's topic (the relay's wire format)."""

    async def send() -> None:
        await ensure_topics(settings)
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, enable_idempotence=False
        )
        await producer.start()
        try:
            for e in events:
                await producer.send_and_wait(
                    settings.topic(e.producer),
                    e.to_bytes(),
                    key=(e.partitionkey or "").encode() or None,
                )
        finally:
            await producer.stop()

    asyncio.run(send())
