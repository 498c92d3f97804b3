"""Consuming events: idempotent, gap-detecting, offsets committed only after our commit.

A subclass (or a handlers mapping) says what to do with each event type inside a database
transaction. The processed-event ids are written in that same transaction, so a redelivered
event changes nothing; Kafka offsets are committed only once it has committed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from opentelemetry import trace
from opentelemetry.propagate import extract
from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Dialect
from sqlmodel import Session

from shared.db import Database
from shared.errors import Problem
from shared.events.envelope import CloudEvent, utcnow
from shared.events.tables import (
    dead_events,
    processed_events,
    sequence_gaps,
    source_watermarks,
)
from shared.settings import Settings

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

Handler = Callable[[Session, CloudEvent], None]

# A handler raising one of these rejects the event for good (it goes to dead_events);
# anything else is treated as transient and the batch is retried.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (ValidationError, Problem, ValueError)


# One expanding parameter: `in_(ids)` would coerce every id into a bound literal per batch.
_PROCESSED = select(processed_events.c.event_id).where(
    processed_events.c.consumer == bindparam("consumer"),
    processed_events.c.event_id.in_(bindparam("ids", expanding=True)),
)
_REMEMBERED = ("consumer", "event_id", "source", "sequence", "processed_at")


@cache
def _remember_sql(paramstyle: str) -> str:
    mark = "?" if paramstyle == "qmark" else "%s"
    names = ", ".join(processed_events.c[c].name for c in _REMEMBERED)
    marks = ", ".join(mark for _ in _REMEMBERED)
    return f"INSERT INTO {processed_events.name} ({names}) VALUES ({marks})"  # noqa: S608 - metadata names


def _bind_processed_at(dialect: Dialect) -> Callable[[datetime], Any]:
    """The column's own bind processing (SQLite's DATETIME text; the value itself elsewhere)."""
    column_type = processed_events.c.processed_at.type
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else _same


def _same(value: datetime) -> Any:
    return value


@dataclass(frozen=True)
class Gap:
    source: str
    first_missing: int
    last_missing: int


class EventConsumer:
    """Consume `topics` as consumer group `name`, one transaction per batch."""

    gap_grace_seconds = 3.0
    # How long a partition's log must stay shorter than our offset before we call it lost.
    lost_log_grace_seconds = 1.0
    # Records per batch (one transaction); a consumer whose batches are cheap per row may raise it.
    batch_records = 1000
    # After a part-full fetch, wait this long for more before the transaction, so that a
    # trickle of events shares one (Kafka's linger.ms, consumer side). Costs that much latency.
    linger_seconds = 0.0

    def __init__(
        self,
        name: str,
        topics: Iterable[str],
        db: Database,
        settings: Settings,
        handlers: dict[str, Handler] | None = None,
    ) -> None:
        self.name = name
        self.topics = list(topics)
        self.db = db
        self.settings = settings
        self.handlers = handlers or {}
        self.processed = 0
        self.lag: int | None = None
        self.connected = False
        self.last_caught_up: float | None = None
        self.assignments = 0
        self._missing_since: dict[tuple[str, int], float] = {}
        self._short_since: dict[TopicPartition, float] = {}
        self.on_gap: Callable[[Session, Gap], None] | None = None

    # --- the part a service customises -------------------------------------------------
    def handle_batch(self, session: Session, events: list[CloudEvent]) -> None:
        for event in events:
            self.handle(session, event)

    def wants(self, event_type: str) -> bool:
        """Whether to act on events of this type. Records of other types are passed over
        before any transaction (a handlers mapping wants its own types; otherwise all)."""
        return not self.handlers or event_type in self.handlers

    @property
    def sees_whole_sequence(self) -> bool:
        """Only a consumer that passes nothing over can tell a lost event from a skipped one,
        so only such a consumer keeps watermarks and looks for gaps."""
        return type(self).wants is EventConsumer.wants and not self.handlers

    def handle(self, session: Session, event: CloudEvent) -> None:
        handler = self.handlers.get(event.type)
        if handler is None:
            return
        ctx = extract({"traceparent": event.traceparent} if event.traceparent else {})
        with tracer.start_as_current_span(f"consume {event.type}", context=ctx):
            handler(session, event)

    # --- the machinery ---------------------------------------------------------------
    def _new_ids(self, session: Session, events: list[CloudEvent]) -> list[CloudEvent]:
        if not events:
            return []
        seen = set(
            session.execute(_PROCESSED, {"consumer": self.name, "ids": [e.id for e in events]})
            .scalars()
            .all()
        )
        fresh: list[CloudEvent] = []
        for e in events:
            if e.id not in seen:
                seen.add(e.id)
                fresh.append(e)
        return fresh

    def _remember(self, session: Session, events: list[CloudEvent]) -> None:
        if not events:
            return
        # One driver-level executemany of plain tuples: SQLAlchemy's executemany would build
        # a parameter dict and run the datetime's bind processing for every row.
        connection = session.connection()
        dialect = connection.dialect
        now = _bind_processed_at(dialect)(utcnow())
        name = self.name
        connection.exec_driver_sql(
            _remember_sql(dialect.paramstyle),
            [(name, e.id, e.source, e.sequence, now) for e in events],
        )
        if not self.sees_whole_sequence:
            return
        top: dict[str, int] = {}
        for e in events:
            if e.sequence is not None:
                top[e.source] = max(top.get(e.source, 0), e.sequence)
        for source, seq in top.items():
            row = session.execute(
                select(source_watermarks.c.max_seen).where(
                    source_watermarks.c.consumer == self.name,
                    source_watermarks.c.source == source,
                )
            ).first()
            if row is None:
                session.execute(
                    insert(source_watermarks).values(
                        consumer=self.name, source=source, contiguous=0, max_seen=seq
                    )
                )
            elif seq > row.max_seen:
                session.execute(
                    update(source_watermarks)
                    .where(
                        source_watermarks.c.consumer == self.name,
                        source_watermarks.c.source == source,
                    )
                    .values(max_seen=seq)
                )

    def process(self, records: list[ConsumerRecord]) -> int:
        """Apply a batch in one transaction; fall back to one by one if the batch fails."""
        events, rejected = self._decode(records)
        try:
            with self.db.session() as session:
                for raw, error in rejected:
                    self._dead(session, raw, error)
                fresh = self._new_ids(session, events)
                self.handle_batch(session, fresh)
                self._remember(session, fresh)
            return len(fresh)
        except PERMANENT_ERRORS:
            if len(events) == 1:
                raise
        count = 0
        for event in events:
            try:
                with self.db.session() as session:
                    fresh = self._new_ids(session, [event])
                    self.handle_batch(session, fresh)
                    self._remember(session, fresh)
                    count += len(fresh)
            except PERMANENT_ERRORS as exc:
                log.warning("consumer %s rejected event %s: %s", self.name, event.id, exc)
                with self.db.session() as session:
                    self._dead(session, None, "".join(traceback.format_exception_only(exc)), event)
                    self._remember(session, [event])
        return count

    def _decode(
        self, records: list[ConsumerRecord]
    ) -> tuple[list[CloudEvent], list[tuple[ConsumerRecord, str]]]:
        events, rejected = [], []
        for r in records:
            try:
                events.append(CloudEvent.from_bytes(r.value))
            except ValidationError as exc:
                rejected.append((r, str(exc)))
        return events, rejected

    def _dead(
        self,
        session: Session,
        record: ConsumerRecord | None,
        error: str,
        event: CloudEvent | None = None,
    ) -> None:
        session.execute(
            insert(dead_events).values(
                consumer=self.name,
                event_id=event.id if event else None,
                topic=record.topic if record else "",
                error=error[:2000],
                raw=(record.value or b"").decode(errors="replace")
                if record
                else (event.model_dump_json() if event else ""),
                failed_at=utcnow(),
            )
        )

    # --- gaps ------------------------------------------------------------------------
    def check_gaps(self, now: float | None = None) -> list[Gap]:
        """Report sequence numbers still missing once we have caught up on every partition.

        Events of one source spread over partitions, so a hole may be an event on its way;
        only a hole that outlives the grace period while we are caught up is a gap.
        """
        now = time.monotonic() if now is None else now
        found: list[Gap] = []
        with self.db.session() as session:
            marks = session.execute(
                select(source_watermarks).where(
                    source_watermarks.c.consumer == self.name,
                    source_watermarks.c.max_seen > source_watermarks.c.contiguous,
                )
            ).all()
            for mark in marks:
                seen = (
                    session.execute(
                        select(processed_events.c.sequence)
                        .where(
                            processed_events.c.consumer == self.name,
                            processed_events.c.source == mark.source,
                            processed_events.c.sequence > mark.contiguous,
                        )
                        .order_by(processed_events.c.sequence)
                    )
                    .scalars()
                    .all()
                )
                contiguous, present = mark.contiguous, set(seen)
                while contiguous < mark.max_seen:
                    nxt = contiguous + 1
                    if nxt in present:
                        contiguous = nxt
                        continue
                    first = self._missing_since.setdefault((mark.source, nxt), now)
                    if now - first < self.gap_grace_seconds:
                        break
                    last = nxt
                    while last + 1 <= mark.max_seen and last + 1 not in present:
                        last += 1
                    gap = Gap(mark.source, nxt, last)
                    found.append(gap)
                    session.execute(
                        insert(sequence_gaps).values(
                            consumer=self.name,
                            source=mark.source,
                            first_missing=nxt,
                            last_missing=last,
                            detected_at=utcnow(),
                        )
                    )
                    if self.on_gap is not None:
                        self.on_gap(session, gap)
                    log.error(
                        "consumer %s: events %s..%s from %s are missing",
                        self.name,
                        nxt,
                        last,
                        mark.source,
                    )
                    self._missing_since.pop((mark.source, nxt), None)
                    contiguous = last
                if contiguous != mark.contiguous:
                    session.execute(
                        update(source_watermarks)
                        .where(
                            source_watermarks.c.consumer == self.name,
                            source_watermarks.c.source == mark.source,
                        )
                        .values(contiguous=contiguous)
                    )
        return found

    def gaps(self) -> list[dict[str, object]]:
        with self.db.session() as session:
            rows = session.execute(
                select(sequence_gaps).where(sequence_gaps.c.consumer == self.name)
            ).all()
        return [dict(r._mapping) for r in rows]

    # --- the loop --------------------------------------------------------------------
    def _make_consumer(self) -> AIOKafkaConsumer:
        # The group is namespaced like the topics: deployments (or test runs) sharing a broker
        # would otherwise wait on each other's members at every rebalance.
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=f"{self.settings.kafka_topic_prefix}.{self.name}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.batch_records,
            fetch_max_wait_ms=self.settings.kafka_fetch_max_wait_ms,
            client_id=f"casebridge-{self.name}",
        )
        consumer.subscribe(self.topics, listener=_CountAssignments(self, consumer))
        return consumer

    async def _linger(
        self, consumer: AIOKafkaConsumer, batches: dict[TopicPartition, list[ConsumerRecord]]
    ) -> None:
        room = self.batch_records - sum(len(records) for records in batches.values())
        if room <= 0:
            return
        await asyncio.sleep(self.linger_seconds)
        more = await consumer.getmany(timeout_ms=0, max_records=room)
        for tp, records in more.items():
            batches.setdefault(tp, []).extend(records)  # fetched after: still in order

    def _wanted(self, record: ConsumerRecord) -> bool:
        for key, value in record.headers or ():
            if key == "ce_type":
                return self.wants(value.decode(errors="replace"))
        return True  # no type header: decode it, and dead-letter it if it is no event

    async def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        total, now = 0, time.monotonic()
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                self.lag = None
                return
            position = await consumer.position(tp)
            if high >= position:
                self._short_since.pop(tp, None)
                total += high - position
                continue
            # A new leader's end may trail ours for a moment; a log that stays short is lost.
            self.lag = None
            if now - self._short_since.setdefault(tp, now) >= self.lost_log_grace_seconds:
                _log_lost(self.name, tp, position, high)
                consumer.seek(tp, 0)
                del self._short_since[tp]
            return
        self.lag = total
        if total == 0:
            self.last_caught_up = now

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        last_gap_check = 0.0
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=self.batch_records)
            if self.linger_seconds and batches:
                await self._linger(consumer, batches)
            records = [r for tp in sorted(batches, key=str) for r in batches[tp] if self._wanted(r)]
            if records:
                try:
                    self.processed += await asyncio.to_thread(self.process, records)
                except Exception:
                    # Transient failure: rewind to the first record of each partition.
                    for tp, msgs in batches.items():
                        consumer.seek(tp, msgs[0].offset)
                    raise
            if batches:
                offsets = {tp: msgs[-1].offset + 1 for tp, msgs in batches.items()}
                await consumer.commit(offsets)
            await self._update_lag(consumer)
            now = time.monotonic()
            if self.sees_whole_sequence and self.lag == 0 and now - last_gap_check > 1.0:
                last_gap_check = now
                await asyncio.to_thread(self.check_gaps, now)

    async def run(self) -> None:
        backoff = 0.2
        while True:
            consumer = self._make_consumer()
            try:
                await consumer.start()
                self.connected = True
                backoff = 0.2
                await self._consume(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect whatever went wrong
                self.connected = False
                log.warning("consumer %s: %s; reconnecting in %.1fs", self.name, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self.connected = False
                try:
                    async with asyncio.timeout(5):
                        await consumer.stop()
                except Exception:  # noqa: BLE001
                    log.debug("consumer stop failed", exc_info=True)


def _log_lost(name: str, tp: TopicPartition, offset: int, end: int) -> None:
    log.warning(
        "consumer %s: %s ends at %s, below our offset %s; the broker lost its log, "
        "reading it again from the beginning",
        name,
        tp,
        end,
        offset,
    )


class _CountAssignments(ConsumerRebalanceListener):  # type: ignore[misc]
    """Counts group (re)joins and rereads a partition whose log is shorter than our offset.

    A broker that lost its log (the embedded one on restart, a Kafka after an unclean leader
    election) may still hold an offset committed to the old one; starting there would skip
    whatever the new log holds below it. Processed event ids make reading again harmless, and
    offset 0 below a retention limit is out of range, which resets to the earliest held.
    """

    def __init__(self, owner: EventConsumer, consumer: AIOKafkaConsumer) -> None:
        self.owner = owner
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        try:
            short = await self._short(assigned)
            if short:
                await asyncio.sleep(self.owner.lost_log_grace_seconds)  # a new leader may trail
                for tp, (committed, end) in (await self._short(set(short))).items():
                    _log_lost(self.owner.name, tp, committed, end)
                    self.consumer.seek(tp, 0)
        finally:
            self.owner.assignments += 1

    async def _short(self, tps: set[TopicPartition]) -> dict[TopicPartition, tuple[int, int]]:
        """Partitions whose committed offset lies beyond the end of their log."""
        if not tps:
            return {}
        ends = await self.consumer.end_offsets(list(tps))
        short = {}
        for tp in tps:
            committed = await self.consumer.committed(tp)
            if committed is not None and committed > ends[tp]:
                short[tp] = (committed, ends[tp])
        return short
