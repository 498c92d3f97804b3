"""The outbox relay: publishes committed events in sequence order, marks them sent on ack.

Sequence numbers are given here, in one locked transaction, so they are gap-free and in
publish order. A row is marked sent only after the broker acknowledged it; after a crash or
an outage it is published again with the same id and sequence (consumers deduplicate).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from opentelemetry import trace
from sqlalchemy import bindparam, select, update

from shared.db import Database, is_sqlite
from shared.events.envelope import CloudEvent, utcnow
from shared.events.kafka import ensure_topics, make_producer
from shared.events.tables import event_sequence, outbox
from shared.settings import Settings

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


# Built once: the relay claims a batch after every commit that wrote an event, and building
# these statements (and their cache keys) each time cost more than running them.
_MARK_SENT = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("rows", expanding=True)))
    .values(sent_at=bindparam("now"))
)
_SEQUENCE = select(event_sequence.c.value).where(event_sequence.c.source == bindparam("src"))
_SEQUENCE_LOCKED = _SEQUENCE.with_for_update()
_FRESH = (
    select(outbox.c.id)
    .where(outbox.c.sequence.is_(None))
    .order_by(outbox.c.id)
    .limit(bindparam("limit"))
)
_NUMBER = update(outbox).where(outbox.c.id == bindparam("row")).values(sequence=bindparam("number"))
_NEW_SEQUENCE = event_sequence.insert()
_ADVANCE_SEQUENCE = (
    update(event_sequence)
    .where(event_sequence.c.source == bindparam("src"))
    .values(value=bindparam("upto"))
)
_NUMBERED = (
    select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.envelope, outbox.c.sequence)
    .where(outbox.c.sent_at.is_(None), outbox.c.sequence.is_not(None))
    .order_by(outbox.c.sequence)
    .limit(bindparam("limit"))
)


@dataclass(frozen=True)
class PendingEvent:
    row_id: int
    topic: str
    key: str | None
    envelope: CloudEvent


class OutboxRelay:
    def __init__(self, db: Database, settings: Settings, source: str) -> None:
        self.db = db
        self.settings = settings
        self.source = source
        self.published = 0
        self.broker_ok = False
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._producer: AIOKafkaProducer | None = None

    def wake(self) -> None:
        """Called from any thread after a commit that wrote to the outbox."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def claim_batch(self, sent: Sequence[int] = ()) -> list[PendingEvent]:
        """Mark the last batch sent, number new rows and return the unsent ones, oldest first.

        One transaction a round: on SQLite every transaction holds the service's one write
        lock, which the requests are waiting for.
        """
        limit = {"limit": self.settings.relay_batch_size}
        with self.db.session() as s:
            conn = s.connection()
            if sent:
                conn.execute(_MARK_SENT, {"rows": list(sent), "now": utcnow()})
            lock = _SEQUENCE if is_sqlite(self.db.engine) else _SEQUENCE_LOCKED
            current = conn.execute(lock, {"src": self.source}).scalar()
            fresh = conn.execute(_FRESH, limit).scalars().all()
            if fresh:
                start = current or 0
                conn.execute(
                    _NUMBER, [{"row": r, "number": start + n} for n, r in enumerate(fresh, start=1)]
                )
                upto = start + len(fresh)
                if current is None:
                    conn.execute(_NEW_SEQUENCE, {"source": self.source, "value": upto})
                else:
                    conn.execute(_ADVANCE_SEQUENCE, {"src": self.source, "upto": upto})
            rows = conn.execute(_NUMBERED, limit).all()
        pending = []
        for r in rows:
            envelope = CloudEvent.model_validate_json(r.envelope)
            envelope.sequence = r.sequence
            pending.append(PendingEvent(r.id, r.topic, r.key, envelope))
        return pending

    def mark_sent(self, row_ids: list[int]) -> None:
        with self.db.session() as s:
            s.connection().execute(_MARK_SENT, {"rows": row_ids, "now": utcnow()})

    async def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = make_producer(self.settings)
            try:
                await producer.start()
            except Exception:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _drop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                async with asyncio.timeout(5):
                    await producer.stop()
            except Exception:  # noqa: BLE001 - a broken producer may fail to stop; drop it
                log.debug("producer stop failed", exc_info=True)

    async def _recreate_topics(self) -> None:
        """A restarted in-memory broker has forgotten its topics: create them again."""
        try:
            async with asyncio.timeout(5):
                await ensure_topics(self.settings)
        except Exception:  # noqa: BLE001 - the broker may still be away; the loop retries
            log.debug("topic creation failed", exc_info=True)

    async def publish(self, batch: list[PendingEvent], *, careful: bool = False) -> None:
        """Send a batch and wait for every acknowledgement.

        After a failure we send one event at a time: a pipelined batch that fails part-way
        could land a later event of a key before an earlier one that is retried.
        """
        producer = await self.producer()
        futures = []
        for item in batch:
            headers = [
                ("ce_type", item.envelope.type.encode()),
                ("ce_id", item.envelope.id.encode()),
            ]
            if item.envelope.traceparent:
                headers.append(("traceparent", item.envelope.traceparent.encode()))
            future = await producer.send(
                item.topic,
                item.envelope.to_bytes(),
                key=item.key.encode() if item.key else None,
                headers=headers,
            )
            if careful:
                async with asyncio.timeout(15):
                    await future
            else:
                futures.append(future)
        async with asyncio.timeout(15):
            await asyncio.gather(*futures)

    async def _wait_for_work(self) -> None:
        """Until a commit wakes the relay (then a linger, to gather its neighbours) or the
        interval passes."""
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel.
        try:
            async with asyncio.timeout(self.settings.relay_interval_seconds):
                await self._wake.wait()
        except TimeoutError:
            return
        await asyncio.sleep(self.settings.relay_linger_seconds)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        backoff = 0.2
        acked: list[int] = []  # published and acknowledged, marked sent by the next claim
        while True:
            try:
                self._wake.clear()  # before the claim: a commit during it wakes the next wait
                batch = await asyncio.to_thread(self.claim_batch, acked)
                acked = []
                if not batch:
                    await self._wait_for_work()
                    continue
                with tracer.start_as_current_span("outbox.publish") as span:
                    span.set_attribute("messaging.batch.message_count", len(batch))
                    await self.publish(batch, careful=not self.broker_ok)
                acked = [p.row_id for p in batch]
                self.published += len(batch)
                self.broker_ok = True
                backoff = 0.2
                if len(batch) < self.settings.relay_batch_size:
                    # Caught up. The acknowledged rows are marked sent by the next claim, made
                    # when more events arrive (or after the interval): one transaction per
                    # round instead of a second, empty one just to mark them.
                    await self._wait_for_work()
            except asyncio.CancelledError:
                if acked:
                    await asyncio.to_thread(self.mark_sent, acked)
                await self._drop_producer()
                raise
            except Exception as exc:  # noqa: BLE001 - keep relaying whatever the failure
                self.broker_ok = False
                log.warning("outbox relay: %s; retrying in %.1fs", exc, backoff)
                await self._drop_producer()
                await self._recreate_topics()
                await asyncio.sleep(backoff + random.uniform(0, backoff / 2))
                backoff = min(backoff * 2, 5.0)
