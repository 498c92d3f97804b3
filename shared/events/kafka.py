"""Kafka clients configured one way for every service (aiokafka)."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from shared.settings import SERVICES, Settings

log = logging.getLogger(__name__)


def make_producer(settings: Settings) -> AIOKafkaProducer:
    # A plain producer with acks=all: the embedded tansu broker rejects idempotent-producer
    # init, and consumers deduplicate by event id instead.
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=False,
        linger_ms=2,
        request_timeout_ms=10_000,
        client_id=f"casebridge-{settings.service}",
    )


def all_topics(settings: Settings) -> list[str]:
    return [settings.topic(s) for s in SERVICES]


async def ensure_topics(settings: Settings, topics: list[str] | None = None) -> None:
    """Create the topics if they are missing (idempotent; safe from every replica)."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=10_000
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in (topics or all_topics(settings)) if t not in existing]
        if missing:
            try:
                await admin.create_topics(
                    [NewTopic(t, settings.kafka_partitions, 1) for t in missing]
                )
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()


async def wait_for_broker(settings: Settings, within: float = 30.0) -> None:
    """Create topics, retrying until the broker answers or the timeout passes."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            await ensure_topics(settings)
            return
        except (KafkaError, OSError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.info("broker not ready yet (%s); retrying", exc)
            await asyncio.sleep(0.5)
