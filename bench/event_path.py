"""The event path: outbox write -> relay -> broker -> consumer commit, beside a bare broker.

Prints latency from the producer's commit to the consumer's commit (p50/p99), throughput,
peak memory, and the cold start of the whole system; the baseline is the same messages sent
straight through aiokafka (no database, no outbox, no dedupe), measured in the same run.

    python -m bench.event_path --events 2000 --rate 200 --db sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from pydantic import BaseModel
from sqlalchemy import event as sa_event
from sqlmodel import Session

from bench.common import fmt, peak_rss_mb, percentiles, scratch_database
from casebridge.broker import EmbeddedBroker
from shared.db import Database
from shared.events import CloudEvent, EventWriter, event_type
from shared.events.consumer import EventConsumer
from shared.events.kafka import ensure_topics, make_producer
from shared.events.relay import OutboxRelay
from shared.migrations import upgrade
from shared.settings import SERVICES, Settings
from shared.testing import RunningSystem


@event_type("identity.bench_probe.v1")
class Probe(BaseModel):
    n: int
    written_at: float


class Timing(EventConsumer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.latencies: list[float] = []

    def handle_batch(self, session: Session, events: list[CloudEvent]) -> None:
        written = [e.data["written_at"] for e in events]

        @sa_event.listens_for(session, "after_commit", once=True)
        def _stamp(_s: Session) -> None:
            now = time.time()
            self.latencies.extend((now - w) * 1000 for w in written)


async def outbox_path(settings: Settings, db_url: str, consumer_url: str, n: int, rate: float):
    producer_db, consumer_db = Database(db_url), Database(consumer_url)
    upgrade(producer_db, "identity")
    upgrade(consumer_db, "audit")
    relay = OutboxRelay(producer_db, settings, source="identity")
    writer = EventWriter("identity", settings.topic("identity"), relay.wake)
    consumer = Timing("bench", [settings.topic("identity")], consumer_db, settings)
    tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consumer.run())]
    while not consumer.connected:
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)

    def write(count: int, pace: float | None) -> float:
        start = time.perf_counter()
        for i in range(count):
            with producer_db.session() as s:
                writer.emit(s, Probe(n=i, written_at=time.time()), key=f"p{i % 50}")
            if pace:
                time.sleep(1 / pace)
        return time.perf_counter() - start

    await asyncio.to_thread(write, n, rate)
    while len(consumer.latencies) < n:
        await asyncio.sleep(0.05)
    paced = percentiles(consumer.latencies)

    consumer.latencies.clear()
    start = time.perf_counter()
    await asyncio.to_thread(write, n, None)
    while len(consumer.latencies) < n:
        await asyncio.sleep(0.02)
    throughput = n / (time.perf_counter() - start)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    producer_db.dispose()
    consumer_db.dispose()
    return paced, throughput


async def bare_path(settings: Settings, n: int, rate: float):
    topic = f"{settings.kafka_topic_prefix}.bare"
    await ensure_topics(settings, [topic])
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id="bare",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
    )
    await consumer.start()
    producer = make_producer(settings)
    await producer.start()
    latencies: list[float] = []

    async def drain(target: int) -> None:
        while len(latencies) < target:
            batches = await consumer.getmany(timeout_ms=100)
            for msgs in batches.values():
                for m in msgs:
                    latencies.append((time.time() - float(m.value.decode())) * 1000)
            if batches:
                await consumer.commit()

    reader = asyncio.create_task(drain(n))
    await asyncio.sleep(1.0)
    for i in range(n):
        await producer.send_and_wait(topic, str(time.time()).encode(), key=f"p{i % 50}".encode())
        await asyncio.sleep(1 / rate)
    await reader
    paced = percentiles(latencies)
    latencies.clear()
    reader = asyncio.create_task(drain(n))
    start = time.perf_counter()
    futures = [
        await producer.send(topic, str(time.time()).encode(), key=f"p{i % 50}".encode())
        for i in range(n)
    ]
    await asyncio.gather(*futures)
    await reader
    throughput = n / (time.perf_counter() - start)
    await producer.stop()
    await consumer.stop()
    return paced, throughput


def cold_start(settings: Settings) -> float:
    start = time.perf_counter()
    system = RunningSystem(settings).start()
    elapsed = time.perf_counter() - start
    system.stop()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="paced writes per second")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--skip-cold-start", action="store_true")
    args = parser.parse_args()

    broker = EmbeddedBroker().start()
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            settings = Settings(
                env="test",
                data_dir=tmp,
                kafka_bootstrap_servers=broker.bootstrap,
                kafka_topic_prefix="bench",
                kafka_partitions=6,
                service="identity",
            )
            with (
                scratch_database(args.db, tmp, "producer") as p_url,
                scratch_database(args.db, tmp, "consumer") as c_url,
            ):
                outbox_paced, outbox_tput = asyncio.run(
                    outbox_path(settings, p_url, c_url, args.events, args.rate)
                )
            bare_paced, bare_tput = asyncio.run(bare_path(settings, args.events, args.rate))
            started = None
            if not args.skip_cold_start:
                started = cold_start(
                    settings.model_copy(update={"database_url": f"sqlite:///{tmp}/{{service}}.db"})
                )
    finally:
        broker.stop()

    print(f"event path on {args.db}, {args.events} events, paced at {args.rate:.0f}/s")
    print(f"  outbox -> consumer commit : {fmt(outbox_paced)}")
    print(f"  bare produce -> consume   : {fmt(bare_paced)}")
    print(f"  p50 ratio outbox/bare     : {outbox_paced['p50'] / bare_paced['p50']:.1f}x")
    print(f"  throughput outbox         : {outbox_tput:,.0f} events/s (one transaction per event)")
    print(f"  throughput bare           : {bare_tput:,.0f} events/s")
    print(f"  peak memory (this process): {peak_rss_mb():.0f} MiB")
    if started is not None:
        print(f"  cold start, {len(SERVICES)} services to ready (broker up): {started:.1f}s")


if __name__ == "__main__":
    main()
