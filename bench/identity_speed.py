"""Identity service speed: online match latency and registration throughput with N persons
in the index, on SQLite and PostgreSQL, with peak memory.

The index is first filled with N persons (one record each) by a bulk loader that writes the
same rows and blocking keys the service writes. Then, against that index:
  * online match: the link decision for a new record (blocking query + scoring), p50/p99,
    and how many probes it links to their true person; `--caps 10,15` decides the same
    probes under those candidate caps too, side by side (speed against recall);
  * registration, single call: full registrations, one transaction each (validate, decide,
    insert the record, keys, pseudonym, events and the audit record), records/s, in
    one process and in `--workers` processes at once (as that many service workers), side by
    side;
  * registration, batch (`POST /records/batch`'s path): the same per record, `--batch`
    records per transaction, records/s. Not a single-call figure.
Baselines in the same run: a primary-key lookup, and a one-row insert transaction.

    .venv/bin/python -m bench.identity_speed --persons 20000
    .venv/bin/python -m bench.identity_speed --persons 100000 --backends sqlite,postgresql
    .venv/bin/python -m bench.identity_speed --persons 1000000   # the issue's full size
    .venv/bin/python -m bench.identity_speed --persons 1000000 --backends sqlite --caps 15,10
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import random
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from bench.common import fmt, peak_rss_mb, percentiles, scratch_database
from bench.identity_harness import SECRET
from bench.identity_synthetic import as_body, corrupt, make_population
from services.identity.config import IdentitySettings
from services.identity.index import clear_profile_cache, profile_of, sample_rows
from services.identity.linking import evaluate
from services.identity.matching.blocking import blocking_keys
from services.identity.matching.training import term_frequencies
from services.identity.models import BlockingKey, ClientRecord, Person, Pseudonym, RecordIdentifier
from services.identity.pseudonyms import pseudonym_of
from services.identity.records.endpoints import audit_registration
from services.identity.records.schemas import RecordIn
from services.identity.records.service import clean, clean_batch, lock_batch, register
from shared.auth import Principal
from shared.db import Database
from shared.events.envelope import utcnow
from shared.events.outbox import EventWriter
from shared.migrations import upgrade
from shared.models import new_id

AGENCIES = ["housing", "council-asc", "police"]


@dataclass(frozen=True)
class Loaded:
    """The population in the index, with each person's and record's id (by `pid`)."""

    people: list[Any]
    person_ids: list[str]
    record_ids: list[str]


def bulk_load(db: Database, config: IdentitySettings, n: int, chunk: int = 5000) -> Loaded:
    """Fill the index with n persons, one record each. Their ids are made as the service
    makes them (`new_id`), so that the index's keys lie in the order, and new keys land on
    the pages, of an index the service built: the first loader's "p00000001" ids put every
    new id at one end of the key order, and flattered the service when its ids were random."""
    people = make_population(n, seed=5)
    loaded = Loaded(people, [new_id() for _ in people], [new_id() for _ in people])
    rng = random.Random(5)
    now = utcnow()
    for start in range(0, n, chunk):
        persons, records, keys, ids, psns = [], [], [], [], []
        for p in people[start : start + chunk]:
            rec = corrupt(rng, p, rng.choice(AGENCIES), f"B-{p.pid}")
            body = RecordIn.model_validate(as_body(rec))
            identifiers, postcode = clean(body, config)
            pid, rid = loaded.person_ids[p.pid], loaded.record_ids[p.pid]
            row = {
                "id": rid,
                "agency": rec.agency,
                "local_id": rec.local_id,
                "given_name": body.given_name,
                "family_name": body.family_name,
                "other_names": body.other_names,
                "birth_date": body.birth_date,
                "sex": body.sex,
                "postcode": postcode,
                "address_line": body.address_line,
                "identifiers": identifiers,
                "person_id": pid,
                "link_locked": False,
                "link_explanation": {},
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
            profile = profile_of(config, type("Row", (), row))
            persons.append({"id": pid, "status": "active", "merged_into": None, "created_at": now})
            records.append(row)
            keys.extend({"key": k, "record_id": rid} for k in blocking_keys(profile))
            ids.extend(
                {"record_id": rid, "kind": k, "value": v}
                for k, v in identifiers.items()
                if k in config.verified_types
            )
            psns.append(
                {
                    "pseudonym": pseudonym_of(SECRET, rec.agency, pid),
                    "agency": rec.agency,
                    "person_id": pid,
                }
            )
        with db.session() as s:
            s.execute(insert(Person), persons)
            s.execute(insert(ClientRecord), records)
            s.execute(insert(BlockingKey), keys)
            if ids:
                s.execute(insert(RecordIdentifier), ids)
            s.execute(insert(Pseudonym), psns)
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return loaded


def probes(people: list, count: int, seed: int, truth: list | None = None) -> list[RecordIn]:
    """New records: 70% another agency's corrupted copy of a known person, 30% strangers.
    `truth`, if given, receives each probe's true person (`pid`; None for a stranger)."""
    rng = random.Random(seed)
    strangers = make_population(count, seed=seed + 100)
    out = []
    for i in range(count):
        if rng.random() < 0.7:
            p = rng.choice(people)
            rec = corrupt(rng, p, rng.choice(["nhs-mh", "dwp", "gp-elm"]), f"N-{seed}-{i}")
            if truth is not None:
                truth.append(p.pid)
        else:
            rec = corrupt(rng, strangers[i], "dwp", f"S-{seed}-{i}")
            if truth is not None:
                truth.append(None)
        out.append(RecordIn.model_validate(as_body(rec)))
    return out


def online_match(
    db: Database, config: IdentitySettings, online: list[RecordIn], truth: list, label: str
) -> None:
    """Decide each probe (read-only) as a registration would; print latency and accuracy."""
    samples, candidates, outcomes = [], [], {"link": 0, "review": 0, "new": 0}
    right = wrong = queued = 0  # links to the true person / to anyone else; true reviews
    strangers_queued = 0  # reviews of probes who are no one in the index
    for body, true_pid in zip(online, truth, strict=True):
        ids, pc = clean(body, config)
        rec = ClientRecord(
            id="probe",
            agency="dwp",
            local_id=body.local_id,
            person_id="",
            **{
                **body.model_dump(exclude={"local_id", "identifiers", "postcode"}),
                "identifiers": ids,
                "postcode": pc,
            },
        )
        t = time.perf_counter()
        with db.session() as s:
            decision = evaluate(s, config, rec, profile_of(config, rec), created=True)
            s.rollback()
        samples.append((time.perf_counter() - t) * 1000)
        candidates.append(decision.candidates)
        outcomes[decision.outcome] += 1
        if decision.outcome == "link":
            right += decision.person_id == true_pid
            wrong += decision.person_id != true_pid
        queued += decision.outcome == "review" and decision.person_id == true_pid
        strangers_queued += decision.outcome == "review" and true_pid is None
    cstats = percentiles([float(c) for c in candidates])
    print(
        f"  {label:<36} {fmt(percentiles(samples))}  "
        f"candidates p50={cstats['p50']:.0f} p99={cstats['p99']:.0f}  outcomes {outcomes}"
    )
    known = sum(t is not None for t in truth)
    print(
        f"    links to the true person {right}/{known} known probes, wrong links {wrong}, "
        f"reviews naming the true person {queued}, strangers sent to review "
        f"{strangers_queued}/{len(truth) - known}"
    )


def register_stream(
    url: str, config: IdentitySettings, bodies: list[RecordIn], size: int, start: Any = None
) -> list[float]:
    """One process's registrations, `size` records per transaction (`POST /records` or
    `POST /records/batch`'s path: all checked, the batch's locks, then each registered and
    audited); latencies in ms, per transaction."""
    db = Database(url)
    events = EventWriter("identity", "bench.identity")
    user = Principal(sub="bench", agency="nhs-mh", roles=frozenset({"caseworker"}))
    if start is not None:
        start.wait()
    lat = []
    for first in range(0, len(bodies), size):
        chunk = bodies[first : first + size]
        t = time.perf_counter()
        with db.session() as s:
            items = list(zip(chunk, clean_batch(chunk, config), strict=True))
            if size > 1:
                lock_batch(s, config, "nhs-mh", items)
            for body, checked in items:
                done = register(
                    s,
                    events,
                    config,
                    SECRET,
                    agency="nhs-mh",
                    body=body,
                    actor="bench",
                    cleaned=checked,
                )
                audit_registration(s, events, user, done)
        lat.append((time.perf_counter() - t) * 1000)
    db.dispose()
    return lat


def _worker(url: str, config: IdentitySettings, bodies: list, size: int, start: Any, out: Any):
    out.put(register_stream(url, config, bodies, size, start))


def registrations(
    url: str, config: IdentitySettings, bodies: list[RecordIn], size: int, procs: int
) -> tuple[list[float], float]:
    """`bodies` registered by `procs` processes at once (forked, so the population is not
    copied), as that many service workers would: all latencies, and wall seconds from a
    common start."""
    if procs == 1:
        t0 = time.perf_counter()
        lat = register_stream(url, config, bodies, size)
        return lat, time.perf_counter() - t0
    fork = multiprocessing.get_context("fork")
    start, out = fork.Barrier(procs + 1), fork.Queue()
    shares = [bodies[i::procs] for i in range(procs)]
    workers = [
        fork.Process(target=_worker, args=(url, config, share, size, start, out))
        for share in shares
    ]
    for w in workers:
        w.start()
    start.wait()
    t0 = time.perf_counter()
    results = [out.get() for _ in workers]
    seconds = time.perf_counter() - t0
    for w in workers:
        w.join()
    return [x for lat in results for x in lat], seconds


def measure(
    backend: str,
    n: int,
    n_probes: int,
    n_regs: int,
    batch: int,
    caps: list[int],
    workers: list[int],
    tmp: Path,
) -> None:
    config = IdentitySettings()
    clear_profile_cache()  # each backend starts cold
    with scratch_database(backend, tmp, f"identity_speed_{n}") as url:
        db = Database(url)
        upgrade(db, "identity")
        t = time.perf_counter()
        loaded = bulk_load(db, config, n)
        load_s = time.perf_counter() - t
        rate = n / load_s
        print(f"\n== {backend}: {n} persons in the index (bulk load {load_s:.0f}s, {rate:.0f}/s)")
        # The benchmark's own population (a million objects the service never holds) would make
        # every full collection walk it: 1.2 s of the 6.3 s that 1,000 registrations took at
        # 1,000,000 persons, and one 1.1 s pause. Frozen, the collector skips it.
        gc.collect()
        gc.freeze()

        # Baselines: what one round trip and one write transaction cost on this database.
        lookups = []
        for i in range(500):
            t = time.perf_counter()
            with db.session() as s:
                s.execute(
                    select(ClientRecord.id).where(ClientRecord.id == loaded.record_ids[i * 7 % n])
                ).first()
            lookups.append((time.perf_counter() - t) * 1000)
        print(f"  baseline: primary-key lookup         {fmt(percentiles(lookups))}")
        writes = []
        for i in range(300):
            t = time.perf_counter()
            with db.session() as s:
                s.execute(
                    insert(Person).values(id=f"baseline-{i}", status="active", created_at=utcnow())
                )
            writes.append((time.perf_counter() - t) * 1000)
        print(
            f"  baseline: one-row insert transaction {fmt(percentiles(writes))}  "
            f"({1000 / percentiles(writes)['mean']:.0f}/s)"
        )

        # Online match: the decision only (read-only), as a search or a registration makes it.
        # A first pass reads the probes' blocks from disk; then the same probes again under
        # each cap, so that caps are compared on equally warm pages (speed against recall).
        pids: list = []
        online = probes(loaded.people, n_probes, seed=1, truth=pids)
        truth = [None if pid is None else loaded.person_ids[pid] for pid in pids]
        online_match(db, config, online, truth, "online match, first pass (cold pages)")
        for cap in [config.max_candidates, *caps]:
            clear_profile_cache()  # each cap starts cold
            label = f"online match (decision), cap {cap}"
            online_match(
                db, config.model_copy(update={"max_candidates": cap}), online, truth, label
            )
        # Baseline: the same probes with the thresholds as set, not raised for the index size.
        unraised = config.model_copy(update={"threshold_reference_persons": 0})
        online_match(db, unraised, online, truth, "online match, thresholds not raised")
        # And with common names weighed by their share of the index, as a model written by
        # `identity estimate` weighs them (the same sample of records it reads).
        with db.session() as s:
            rows = sample_rows(s, 200_000)
        shares = term_frequencies([profile_of(config, r) for r in rows], config.model.u)
        weighted = config.with_model(replace(config.model, term_frequencies=shares))
        print(f"    common names counted: {', '.join(f'{f} {len(n)}' for f, n in shares.items())}")
        online_match(db, weighted, online, truth, "online match, common names weighed")

        # Registration: the whole write path (validate, decide, insert, audit), as
        # `POST /records` (batch 1) and `POST /records/batch` make it, in one process and in
        # `--workers` processes at once, as that many service workers would.
        db.dispose()  # nothing pooled crosses a fork
        seed = 2
        for size in [1, batch] if batch > 1 else [1]:
            for procs in [1, *workers]:
                regs = probes(loaded.people, n_regs, seed=seed)
                seed += 2
                lat, seconds = registrations(db.url, config, regs, size, procs)
                kind = "single call (1/txn)" if size == 1 else f"BATCH of {size} per txn"
                unit = "" if size == 1 else "per batch "
                print(
                    f"  registration, {kind}, {procs} process{'es' if procs > 1 else ''}"
                    f"\n    {unit}{fmt(percentiles(lat))}  "
                    f"{len(regs) / seconds:.0f} records/s sustained"
                )
        print(f"  peak RSS so far {peak_rss_mb():.0f} MB")
        db.dispose()
        gc.unfreeze()


def measure_http(n: int, backend: str, batch: int, tmp: Path) -> None:
    """Registrations through the real HTTP endpoints (TestClient, in process): JWT check,
    validation, linking, audit record, commit before the response; the relay publishes to a
    real (embedded) broker meanwhile. First n single `POST /records`, then n more records
    (other people) as `POST /records/batch` of `batch` records each."""
    from casebridge.broker import EmbeddedBroker
    from shared.auth.tokens import mint_token
    from shared.settings import Settings
    from shared.testing import service_client

    broker = EmbeddedBroker().start()
    try:
        with scratch_database(backend, tmp, "identity_http") as url:
            settings = Settings(
                env="test",
                data_dir=tmp,
                database_url=url,
                kafka_bootstrap_servers=broker.bootstrap,
                kafka_topic_prefix="benchid",
            )
            token = mint_token(settings, sub="bench", agency="housing", roles=["caseworker"])
            headers = {"Authorization": f"Bearer {token}"}
            records = probes(make_population(n, seed=9), n, seed=3)
            fed = probes(make_population(n, seed=19), n, seed=13)
            with service_client("identity", settings) as client:
                lat = []
                t0 = time.perf_counter()
                for body in records:
                    t = time.perf_counter()
                    r = client.post("/records", json=body.model_dump(mode="json"), headers=headers)
                    assert r.status_code == 201, r.text
                    lat.append((time.perf_counter() - t) * 1000)
                seconds = time.perf_counter() - t0
                print(
                    f"\n== {backend}: HTTP, index growing from 0 to {2 * n} records\n"
                    f"  POST /records, single call          {fmt(percentiles(lat))}  "
                    f"{n / seconds:.0f}/s sustained"
                )
                if batch > 1:
                    lat = []
                    t0 = time.perf_counter()
                    for start in range(0, n, batch):
                        items = [b.model_dump(mode="json") for b in fed[start : start + batch]]
                        t = time.perf_counter()
                        r = client.post("/records/batch", json={"records": items}, headers=headers)
                        assert r.status_code == 200, r.text
                        lat.append((time.perf_counter() - t) * 1000)
                    seconds = time.perf_counter() - t0
                    print(
                        f"  POST /records/batch of {batch}         per batch "
                        f"{fmt(percentiles(lat))}  {n / seconds:.0f} records/s sustained "
                        f"(batch path, not single-call)"
                    )
    finally:
        broker.stop()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--persons", type=int, default=20_000, help="persons in the index")
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--probes", type=int, default=1000, help="online match samples")
    ap.add_argument("--registrations", type=int, default=2000, help="timed registrations")
    ap.add_argument(
        "--batch", type=int, default=100, help="records per batch transaction (1: skip batches)"
    )
    ap.add_argument(
        "--caps",
        default="",
        help="also decide the probes under these MAX_CANDIDATES (comma-separated), side by side",
    )
    ap.add_argument(
        "--workers",
        default="2",
        help="also register in this many processes at once (comma-separated), side by side",
    )
    ap.add_argument("--http", type=int, default=0, help="also register this many over HTTP")
    args = ap.parse_args()
    caps = [int(c) for c in args.caps.split(",") if c]
    workers = [int(w) for w in args.workers.split(",") if w]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            measure(
                backend,
                args.persons,
                args.probes,
                args.registrations,
                args.batch,
                caps,
                workers,
                Path(tmp),
            )
            if args.http:
                measure_http(args.http, backend, args.batch, Path(tmp))
    print(f"\npeak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
