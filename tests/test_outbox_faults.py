"""P2 under faults: nothing written while the broker is away is lost, nothing applied twice.

A writer keeps committing state changes with their events through the outbox; the broker is
frozen (SIGSTOP) and later restarted (losing its in-memory log). Every event must arrive at the
consumer exactly once, in order per key, and what the restart lost must be reported as a gap.
"""

from __future__ import annotations

import asyncio
import threading

import pytest
from aiokafka import AIOKafkaConsumer
from pydantic import BaseModel
from sqlmodel import Session

from casebridge.broker import EmbeddedBroker
from shared.db import Database
from shared.events import CloudEvent, EventWriter, event_type
from shared.events.consumer import EventConsumer
from shared.events.kafka import ensure_topics
from shared.events.relay import OutboxRelay
from shared.migrations import upgrade


@event_type("identity.fault_probe.v1")
class Probe(BaseModel):
    key: str
    n: int


class Recorder(EventConsumer):
    gap_grace_seconds = 0.5
    lost_log_grace_seconds = 0.0  # nothing here moves a leader

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[str, int]] = []
        self.batches: list[int] = []
        self._lock = threading.Lock()

    def handle_batch(self, session: Session, events: list[CloudEvent]) -> None:
        batch = [
            (e.data["key"], e.data["n"]) for e in events if e.type == "identity.fault_probe.v1"
        ]
        session.info.setdefault("applied", []).extend(batch)
        with self._lock:
            self.seen.extend(batch)
            self.batches.append(len(batch))


KEYS = [f"person-{i}" for i in range(5)]


class Writer:
    """Commits probe events, each in its own transaction, numbering them per key."""

    def __init__(self, db: Database, events: EventWriter, relay: OutboxRelay):
        self.db, self.events, self.relay = db, events, relay
        self.next = dict.fromkeys(KEYS, 0)

    def write(self, count: int) -> None:
        for i in range(count):
            key = KEYS[i % len(KEYS)]
            with self.db.session() as s:
                self.events.emit(s, Probe(key=key, n=self.next[key]), key=key)
            self.next[key] += 1

    @property
    def total(self) -> int:
        return sum(self.next.values())


@pytest.fixture
async def rig(settings):
    broker = EmbeddedBroker().start()
    s = settings.model_copy(
        update={"kafka_bootstrap_servers": broker.bootstrap, "service": "identity"}
    )
    producer_db = Database(s.database_url_for("identity"))
    consumer_db = Database(s.database_url_for("audit"))
    upgrade(producer_db, "identity")
    upgrade(consumer_db, "audit")
    await ensure_topics(s)
    relay = OutboxRelay(producer_db, s, source="identity")
    writer = Writer(producer_db, EventWriter("identity", s.topic("identity"), relay.wake), relay)
    consumer = Recorder("fault-probe", [s.topic("identity")], consumer_db, s)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    yield broker, writer, consumer, relay, tasks
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    broker.stop()
    producer_db.dispose()
    consumer_db.dispose()


async def restart(broker: EmbeddedBroker, relay: OutboxRelay) -> None:
    """Restart the broker and create its topics again, as a deployment's start-up does.

    Left to the first client, tansu would auto-create a topic with its own partition count.
    """
    broker.restart()
    await ensure_topics(relay.settings)


async def until(check, within=60.0):
    deadline = asyncio.get_running_loop().time() + within
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail("condition not met in time")
        await asyncio.sleep(0.05)


def assert_exactly_once_in_order(seen: list[tuple[str, int]], writer: Writer) -> None:
    assert len(seen) == len(set(seen)), "an event was applied twice"
    for key in KEYS:
        numbers = [n for k, n in seen if k == key]
        assert numbers == list(range(writer.next[key])), f"{key}: lost or out of order"


@pytest.mark.slow
async def test_frozen_broker_loses_nothing_and_duplicates_nothing(rig):
    broker, writer, consumer, relay, _ = rig
    await asyncio.to_thread(writer.write, 50)
    await until(lambda: len(consumer.seen) == 50)

    broker.pause()
    try:
        await asyncio.to_thread(writer.write, 50)  # commits succeed while the broker is away
        await asyncio.sleep(2)
        assert len(consumer.seen) == 50
    finally:
        broker.resume()
    await asyncio.to_thread(writer.write, 50)

    await until(lambda: len(consumer.seen) == writer.total)
    await asyncio.sleep(1)  # give any redelivery the chance to (wrongly) apply twice
    assert_exactly_once_in_order(consumer.seen, writer)
    assert await asyncio.to_thread(consumer.check_gaps) == []


@pytest.mark.slow
async def test_broker_restart_after_catch_up_loses_nothing(rig):
    broker, writer, consumer, relay, _ = rig
    await asyncio.to_thread(writer.write, 30)
    await until(lambda: len(consumer.seen) == 30)
    joined = consumer.assignments
    await restart(broker, relay)  # the in-memory log and the group's offsets start empty
    # The consumer still holds its old offsets, and a commit in flight at the restart may land
    # on the new broker; either would skip what the new log holds below them unless the
    # consumer sees that the log is shorter than its offset and reads it from the beginning.
    await asyncio.to_thread(writer.write, 10)
    await until(lambda: consumer.assignments > joined)
    await asyncio.to_thread(writer.write, 20)
    await until(lambda: len(consumer.seen) == writer.total)
    assert_exactly_once_in_order(consumer.seen, writer)


@pytest.mark.slow
async def test_a_committed_offset_beyond_the_log_end_rereads_the_log(rig):
    broker, writer, consumer, relay, tasks = rig
    await asyncio.to_thread(writer.write, 10)
    await until(lambda: len(consumer.seen) == 10)
    tasks[1].cancel()
    await asyncio.gather(tasks[1], return_exceptions=True)

    # What a broker that lost its log may still hold: an offset committed to the old log.
    topic = relay.settings.topic("identity")
    stale = AIOKafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        group_id=f"{relay.settings.kafka_topic_prefix}.{consumer.name}",
        enable_auto_commit=False,
    )
    stale.subscribe([topic])
    await stale.start()
    try:
        while not stale.assignment():
            await stale.getmany(timeout_ms=100)
        await stale.commit(dict.fromkeys(stale.assignment(), 1000))
    finally:
        await stale.stop()

    await asyncio.to_thread(writer.write, 10)
    tasks[1] = asyncio.create_task(consumer.run())
    await until(lambda: len(consumer.seen) == 20)
    await asyncio.sleep(1)  # give any redelivery the chance to (wrongly) apply twice
    assert_exactly_once_in_order(consumer.seen, writer)


@pytest.mark.slow
async def test_events_lost_by_a_restart_are_reported_as_a_gap(rig):
    broker, writer, consumer, relay, tasks = rig
    await asyncio.to_thread(writer.write, 10)
    await until(lambda: len(consumer.seen) == 10)

    tasks[1].cancel()  # the consumer is down while 10 more events are published...
    await asyncio.gather(tasks[1], return_exceptions=True)
    published = relay.published
    await asyncio.to_thread(writer.write, 10)
    await until(lambda: relay.published == published + 10)
    await restart(broker, relay)  # ...and the restart loses them before anyone read them

    tasks[1] = asyncio.create_task(consumer.run())
    await asyncio.to_thread(writer.write, 5)
    await until(lambda: len(consumer.seen) == 15)

    gaps: list[dict] = []
    deadline = asyncio.get_running_loop().time() + 30
    while not gaps and asyncio.get_running_loop().time() < deadline:
        gaps = await asyncio.to_thread(consumer.gaps)
        await asyncio.sleep(0.2)
    assert [(g["first_missing"], g["last_missing"]) for g in gaps] == [(11, 20)]


async def test_a_lingering_consumer_takes_a_trickle_of_events_in_one_transaction(rig, settings):
    broker, writer, _, _, _ = rig
    s = settings.model_copy(update={"kafka_bootstrap_servers": broker.bootstrap})
    lingering = Recorder(
        "linger-probe", [s.topic("identity")], Database(s.database_url_for("audit")), s
    )
    lingering.linger_seconds = 1.5
    task = asyncio.create_task(lingering.run())
    try:
        await until(lambda: lingering.assignments > 0)
        for _ in range(5):  # five commits, five relay publishes, a few ms apart
            await asyncio.to_thread(writer.write, 1)
            await asyncio.sleep(0.02)
        await until(lambda: len(lingering.seen) == 5)
        assert_exactly_once_in_order(lingering.seen, writer)
        # Without the linger each event would be a transaction of its own.
        assert len(lingering.batches) <= 2, lingering.batches
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        lingering.db.dispose()
