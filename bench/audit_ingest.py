"""Audit: ingest throughput with tamper evidence vs a bare insert, query latency, verification
and proof generation.

Figures, all in one run on one database backend:
- ingest: events/s from Kafka to committed, chained, Merkle-tree entries (AuditIngest), beside
  the same events consumed by the same consumer base and inserted into the same table with no
  hashing, no tree and no head lock (the cost of tamper evidence, as a ratio);
- population: direct ledger appends (no Kafka) up to --entries entries;
- query: p50/p99 of "a person's last 100 accesses" at that size;
- verify: full offline verification of a JSON Lines export, seconds per million entries;
- proofs: inclusion-proof generation p50/p99 from the stored tree.

    python -m bench.audit_ingest --events 20000 --entries 200000          # a few minutes
    python -m bench.audit_ingest --events 100000 --entries 1000000        # the issue's 1M
    python -m bench.audit_ingest --events 100000 --entries 10000000       # the issue's 10M
    python -m bench.audit_ingest --events 100000 --ingest-base 1000000    # ingest into a 1M log
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import insert
from sqlmodel import Session

from bench.common import fmt, peak_rss_mb, percentiles, scratch_database
from casebridge.broker import EmbeddedBroker
from services.audit.checkpoints.service import issue_checkpoint
from services.audit.checkpoints.signing import Signer
from services.audit.entries.queries import EntryFilter, search
from services.audit.entries.schemas import EntryOut
from services.audit.export import formats
from services.audit.export.service import export_header, exported_entries
from services.audit.ingest import ACCESS_EVENT, AuditIngest, arrival_of
from services.audit.ledger import (
    ROW_COLUMNS,
    Arrival,
    append,
    entries_table,
    entry_of,
    row_of,
    row_tuple,
)
from services.audit.log import merkle
from services.audit.log.rows import datetime_converter, insert_rows
from services.audit.log.store import node_fetcher
from services.audit.records import fields_of
from services.audit.verify import verify_export
from shared.access_log import AccessRecorded, Actor, Basis, ConsentRef
from shared.collector import settle_heap
from shared.db import Database
from shared.events import CloudEvent, EventWriter
from shared.events.envelope import source_of
from shared.events.kafka import ensure_topics
from shared.migrations import upgrade
from shared.models import new_id
from shared.settings import Settings

PRODUCERS = ("identity", "consent", "referral")
AGENCIES = ("housing", "council-asc", "nhs-mh", "police", "school-oak", "gp-elm")


def record(i: int, persons: int, when: datetime) -> AccessRecorded:
    rnd = random.Random(i)
    agency = AGENCIES[i % len(AGENCIES)]
    return AccessRecorded(
        actor=Actor(sub=f"user-{i % 997}", agency=agency, roles=["caseworker"]),
        person_id=f"person-{rnd.randrange(persons):08d}",
        person_ref=f"psn_{uuid.UUID(int=rnd.getrandbits(128)).hex[:26]}",
        action="referral.case.read",
        resource=f"referrals/{i}",
        categories=["housing", "health.mental"],
        purpose="integrated_care",
        basis=Basis(consents=[ConsentRef(id=f"c-{i % 5000}", version=1)]),
        decision="permitted" if i % 20 else "denied",
        service=PRODUCERS[i % 3],
        trace_id=uuid.UUID(int=rnd.getrandbits(128)).hex,
        occurred_at=when,
    )


def envelopes(n: int, persons: int) -> list[CloudEvent]:
    now = datetime.now(UTC)
    seq = dict.fromkeys(PRODUCERS, 0)
    out = []
    for i in range(n):
        r = record(i, persons, now)
        seq[r.service] += 1
        out.append(
            CloudEvent(
                source=source_of(r.service),
                type=ACCESS_EVENT,
                sequence=seq[r.service],
                partitionkey=r.person_id,
                data=r.model_dump(mode="json"),
            )
        )
    return out


async def publish(settings: Settings, events: list[CloudEvent]) -> None:
    await ensure_topics(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_idempotence=False,
        linger_ms=20,
        max_batch_size=1 << 20,
    )
    await producer.start()
    try:
        futures = [
            await producer.send(
                settings.topic(e.producer), e.to_bytes(), key=(e.partitionkey or "").encode()
            )
            for e in events
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


class BareInsert(AuditIngest):
    """The same consumer, rows and row writer, without hashing, tree or head lock: the baseline."""

    def handle_batch(self, session: Session, events: list[CloudEvent]) -> None:
        zero = b"\x00" * 32
        now = datetime.now(UTC)
        to_db = datetime_converter(entries_table, "occurred_at", session.get_bind().dialect)
        stored_at = to_db(now)
        start = self.appended
        rows = []
        for n, e in enumerate((e for e in events if e.type == ACCESS_EVENT), start=1):
            arrival = arrival_of(e)
            entry = entry_of(start + n, arrival, now)
            rows.append(row_tuple(entry, arrival, stored_at, zero, zero, to_db))
        insert_rows(session, entries_table, ROW_COLUMNS, rows)
        self.appended += len(rows)


class BareInsertOrm(AuditIngest):
    """The baseline as measured before 2026-12-03: rows through SQLAlchemy's executemany."""

    def handle_batch(self, session: Session, events: list[CloudEvent]) -> None:
        zero = b"\x00" * 32
        now = datetime.now(UTC)
        start = self.appended
        rows = []
        for n, e in enumerate((e for e in events if e.type == ACCESS_EVENT), start=1):
            rows.append(row_of(entry_of(start + n, arrival_of(e), now), zero, zero))
        if rows:
            session.execute(insert(entries_table), rows)
        self.appended += len(rows)


async def consume_until(consumer: AuditIngest, n: int) -> tuple[float, float, float]:
    """Seconds from start and from the first committed batch to ingest n events, and the
    process CPU seconds spent meanwhile (the machine is shared: CPU time shows the cost)."""
    task = asyncio.create_task(consumer.run())
    t0, cpu0 = time.perf_counter(), time.process_time()
    first: float | None = None
    start = consumer.appended
    try:
        while consumer.appended < start + n:
            await asyncio.sleep(0.02)
            if first is None and consumer.appended > start:
                first = time.perf_counter()
        end, cpu = time.perf_counter(), time.process_time() - cpu0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return end - t0, end - (first or t0), cpu


def ingest_bench(args: argparse.Namespace, tmp: Path, broker: EmbeddedBroker) -> None:
    base = args.ingest_base
    print(f"\n== ingest: {args.events} events from Kafka into a log of {base} entries ({args.db})")
    rates: dict[type, float] = {}
    for label, cls in (
        ("chained + Merkle (AuditIngest)", AuditIngest),
        ("bare insert", BareInsert),
        ("bare insert, SQLAlchemy rows (old)", BareInsertOrm),
    ):
        settings = Settings(
            env="test",
            data_dir=tmp,
            kafka_bootstrap_servers=broker.bootstrap,
            kafka_topic_prefix=f"bench{uuid.uuid4().hex[:8]}",
            kafka_partitions=3,
        )
        events = envelopes(args.events, max(1, args.events // 50))
        asyncio.run(publish(settings, events))
        with scratch_database(args.db, tmp, f"ingest_{cls.__name__.lower()}") as url:
            db = Database(url)
            upgrade(db, "audit")
            if base:
                populate(db, base, max(1, base // 200))
            writer = EventWriter("audit", settings.topic("audit"))
            consumer = cls(db, settings, writer)
            consumer.appended = base  # the bare baselines number their rows from here
            settle_heap()  # as `casebridge serve` does before serving
            total, steady, cpu = asyncio.run(consume_until(consumer, args.events))
            db.dispose()
        rate = args.events / steady
        print(
            f"  {label:36s} {rate:8.0f} events/s steady ({args.events / total:6.0f}/s incl. "
            f"group join, {total:.1f}s); {args.events / cpu:8.0f} events per CPU-second"
        )
        rates[cls] = rate
    chained, bare = rates[AuditIngest], rates[BareInsert]
    print(
        f"  cost of tamper evidence: chained/bare = {chained / bare:.2f} "
        f"(chained/old bare = {chained / rates[BareInsertOrm]:.2f})"
    )


def populate(db: Database, entries: int, persons: int) -> float:
    now = datetime.now(UTC) - timedelta(days=1)
    t0 = time.perf_counter()
    done = 0
    while done < entries:
        n = min(2000, entries - done)
        with db.session() as s:
            append(
                s,
                (
                    Arrival(
                        new_id(),
                        source_of("referral"),
                        None,
                        fields_of(record(i, persons, now)),
                    )
                    for i in range(done, done + n)
                ),
            )
        done += n
    return entries / (time.perf_counter() - t0)


def query_bench(db: Database, args: argparse.Namespace, persons: int) -> None:
    rnd = random.Random(7)
    samples, cpu = [], []
    with db.session() as s:
        for _ in range(args.queries):
            person = f"person-{rnd.randrange(persons):08d}"
            t0, c0 = time.perf_counter(), time.process_time()
            page = search(s, EntryFilter(person_id=person), limit=100)
            [EntryOut.of(r) for r in page.rows]
            samples.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    print(f"  query: a person's last 100 accesses  wall {fmt(percentiles(samples))}")
    print(f"                                       CPU  {fmt(percentiles(cpu))}")


def proof_bench(db: Database, args: argparse.Namespace, size: int) -> None:
    rnd = random.Random(11)
    samples, cpu = [], []
    with db.session() as s:
        fetch = node_fetcher(s)
        for _ in range(args.proofs):
            index = rnd.randrange(size)
            t0, c0 = time.perf_counter(), time.process_time()
            merkle.inclusion_proof(index, size, fetch)
            samples.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    print(f"  inclusion proof generation            wall {fmt(percentiles(samples))}")
    print(f"                                        CPU  {fmt(percentiles(cpu))}")


def verify_bench(db: Database, tmp: Path) -> None:
    signer = Signer(Ed25519PrivateKey.generate())
    path = tmp / "export.jsonl"
    t0 = time.perf_counter()
    with db.session() as s:
        checkpoint = issue_checkpoint(s, signer)
        header = export_header(s, checkpoint, EntryFilter(), signer)
    with path.open("wb") as fh:
        fh.write(formats.header_line(header))
        for entry, leaf, chain, _, _ in exported_entries(db, EntryFilter(), checkpoint.size):
            fh.write(formats.entry_line(entry, leaf, chain))
    exported = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    with path.open("rb") as fh:
        report = verify_export(fh, signer.public)
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert report.ok, report.problems
    million = 1_000_000 / report.entries
    print(
        f"  export: {report.entries} entries in {exported:.1f}s "
        f"({path.stat().st_size / 1e6:.0f} MB); offline verify {took:.2f}s wall, {cpu:.2f}s CPU"
        f" = {took * million:.2f}s wall, {cpu * million:.2f}s CPU per million entries"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="events through Kafka")
    parser.add_argument("--entries", type=int, default=200_000, help="log size for queries")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--proofs", type=int, default=500)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument(
        "--ingest-base", type=int, default=0, help="entries already in the log before ingest"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if not args.skip_ingest:
            broker = EmbeddedBroker().start()
            try:
                ingest_bench(args, tmp, broker)
            finally:
                broker.stop()
        persons = max(1, args.entries // 200)  # about 200 accesses per person
        print(f"\n== a log of {args.entries} entries, {persons} persons ({args.db})")
        with scratch_database(args.db, tmp, "log") as url:
            db = Database(url)
            upgrade(db, "audit")
            c0 = time.process_time()
            rate = populate(db, args.entries, persons)
            cpu_rate = args.entries / (time.process_time() - c0)
            print(
                f"  direct ledger append (no Kafka)       {rate:8.0f} entries/s wall, "
                f"{cpu_rate:8.0f} per CPU-second (incl. building the records)"
            )
            query_bench(db, args, persons)
            proof_bench(db, args, args.entries)
            verify_bench(db, tmp)
            db.dispose()
    print(f"\npeak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
