"""Sharing-decision latency: in-process and over HTTP, on SQLite and PostgreSQL, beside Cedar.

Loads N persons with their consent versions (history included) and 200 agreements, then asks
the same random questions of:
  * decide(): the pure policy core, terms already in memory (the like-for-like with Cedar);
  * Cedar (cedarpy): the same terms compiled to Cedar policies and entities (agreements and the
    vocabulary parsed once; per question the person's consent policies are added);
  * the service in-process: indexed queries for the person + agreement index + decide + the
    audit record, one committed transaction per decision (what POST /decisions does inside);
  * the service over HTTP: a real uvicorn process, one at a time and then paced at --rate
    requests per second by an open-loop client (bench/load.py).
It also checks that Cedar and decide() permit the same categories for every question.

    python -m bench.consent_decision --persons 2000 --versions 20000 --db both
    # issue size (loads for a long time here):
    python -m bench.consent_decision --persons 100000 --versions 1000000 --db both
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, update
from sqlmodel import select

from bench.common import fmt, peak_rss_mb, percentiles, scratch_database, settle
from bench.consent_cedar import CedarDecider, consent_policy
from bench.load import one_at_a_time, open_loop
from casebridge.broker import EmbeddedBroker, free_port
from services.consent.agreements.index import AgreementCache, terms_of
from services.consent.consents.queries import current_terms
from services.consent.consents.receipts import ReceiptSigner
from services.consent.decisions.schemas import DecisionRequest
from services.consent.decisions.service import load_state, make_decision
from services.consent.models import Agreement, Consent, ConsentVersion, RevisionMark
from services.consent.policy.decide import decide
from services.consent.policy.terms import PolicyState, Question
from services.consent.runtime import ConsentRuntime
from services.consent.settings import ConsentSettings
from shared.auth import Principal
from shared.auth.tokens import mint_token
from shared.db import Database
from shared.events.outbox import EventWriter
from shared.migrations import upgrade
from shared.settings import Settings
from shared.vocabulary import load_vocabulary

VOCAB = load_vocabulary()
AGENCIES = [a.id for a in VOCAB.agencies]
TYPES = sorted(VOCAB.agency_types())
PURPOSES = [p.id for p in VOCAB.purposes]
CATEGORIES = [c.id for c in VOCAB.categories]
CONSENTS_PER_PERSON = 2
NOW = datetime.now(UTC)


@dataclass
class Ask:
    person_id: str
    disclosing: str
    recipient: str
    purpose: str
    categories: list[str]


def _heads_and_versions(
    rng: random.Random, first: int, persons: int, per_consent: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    heads: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for i in range(first, first + persons):
        pid = f"p{i:07d}"
        for _ in range(CONSENTS_PER_PERSON):
            cid = str(uuid.UUID(int=rng.getrandbits(128)))
            expires = NOW + timedelta(days=rng.randint(-30, 300))  # about 1 in 11 lapsed
            status = "withdrawn" if rng.random() < 0.1 else "active"
            terms = {
                "purposes": rng.sample(PURPOSES, rng.randint(1, 2)),
                "categories": rng.sample(CATEGORIES, rng.randint(1, 3)),
                "recipients": rng.sample(AGENCIES, rng.randint(1, 3)),
                "recipient_types": rng.sample(TYPES, 1) if rng.random() < 0.2 else [],
                "source_agencies": rng.sample(AGENCIES, rng.randint(1, 2)),
            }
            heads.append(
                {
                    "id": cid,
                    "person_id": pid,
                    "agency": terms["source_agencies"][0],
                    "version": per_consent,
                    "status": status,
                    "expires_at": expires,
                    # lapsed before the load: announced when it lapsed, as a running system
                    # would have (else the sweep's catch-up would be timed with the decisions)
                    "expiry_announced_at": expires if expires <= NOW else None,
                    "created_at": NOW,
                }
            )
            for v in range(1, per_consent + 1):
                rows.append(
                    {
                        "consent_id": cid,
                        "version": v,
                        "person_id": pid,
                        "status": status if v == per_consent else "active",
                        "change": "granted" if v == 1 else "renewed",
                        **terms,
                        "withdrawn": {},
                        "starts_at": NOW - timedelta(days=40),
                        "expires_at": expires,
                        "data_life_days": 90,
                        "given_by": {"kind": "client"},
                        "evidence": {"method": "written", "reference": "b", "captured_by": "b"},
                        "recorded_by": "bench",
                        "recorded_by_agency": terms["source_agencies"][0],
                        "revision": 1,
                        "recorded_at": NOW,
                    }
                )
    return heads, rows


def _agreements(rng: random.Random, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        providers = rng.sample(AGENCIES, rng.randint(1, 2))
        recipients = rng.sample([a for a in AGENCIES if a not in providers], rng.randint(1, 2))
        roll = rng.random()
        out.append(
            {
                "id": f"agr-{i:04d}",
                "title": f"bench {i}",
                "tier": rng.choice(["strategic", "specific"]),
                "parties": providers + recipients,
                "providers": providers,
                "recipients": recipients,
                "purposes": rng.sample(PURPOSES, rng.randint(1, 2)),
                "categories": rng.sample(CATEGORIES, rng.randint(1, 3)),
                "data_fields": [],
                "legal_basis": rng.choice(["statutory_duty", "statutory_power", "public_task"]),
                "citation": "Bench Act 2026 s1",
                "frequency": "",
                "mechanism": "",
                "security": "",
                "starts_at": NOW - timedelta(days=100),
                "ends_at": NOW + timedelta(days=rng.randint(-10, 400)),
                "review_at": NOW + timedelta(days=100),
                "status": "active" if roll < 0.85 else "suspended" if roll < 0.95 else "draft",
                "created_by": "bench",
                "created_by_agency": providers[0],
                "created_at": NOW,
                "updated_at": NOW,
                "review_announced_for": None,
                "revision": 1,
            }
        )
    return out


def load(db: Database, persons: int, versions: int, agreements: int, seed: int) -> float:
    rng = random.Random(seed)
    started = time.perf_counter()
    per_consent = max(1, versions // (persons * CONSENTS_PER_PERSON))
    batch = 2_000  # persons per transaction: memory stays flat at any size
    for first in range(0, persons, batch):
        heads, rows = _heads_and_versions(rng, first, min(batch, persons - first), per_consent)
        with db.session() as s:
            s.execute(insert(Consent.__table__), heads)  # type: ignore[attr-defined]
            s.execute(insert(ConsentVersion.__table__), rows)  # type: ignore[attr-defined]
    with db.session() as s:
        s.execute(insert(Agreement.__table__), _agreements(rng, agreements))  # type: ignore[attr-defined]
        marks = RevisionMark.__table__  # type: ignore[attr-defined]
        s.execute(update(marks).values(revision=1))
    return time.perf_counter() - started


def questions(rng: random.Random, persons: int, n: int, db: Database) -> list[Ask]:
    """Mostly plausible questions: the disclosing agency is often one the consent names."""
    asks = []
    with db.session() as s:
        for _ in range(n):
            pid = f"p{rng.randrange(persons):07d}"
            terms = current_terms(s, pid)
            t = rng.choice(terms) if terms and rng.random() < 0.7 else None
            disclosing = rng.choice(sorted(t.source_agencies)) if t else rng.choice(AGENCIES)
            recipient = (
                rng.choice(sorted(t.recipients)) if t and t.recipients else rng.choice(AGENCIES)
            )
            purpose = rng.choice(sorted(t.purposes)) if t else rng.choice(PURPOSES)
            cats = rng.sample(CATEGORIES, rng.randint(1, 3))
            asks.append(Ask(pid, disclosing, recipient, purpose, cats))
    return asks


def _question(a: Ask) -> Question:
    agency = VOCAB.agency(a.recipient)
    assert agency is not None
    return Question(
        person_id=a.person_id,
        disclosing_agency=a.disclosing,
        recipient_agency=a.recipient,
        recipient_type=agency.type,
        purpose=a.purpose,
        categories=tuple(a.categories),
    )


def in_memory(db: Database, asks: list[Ask]) -> dict[str, Any]:
    """decide() and Cedar over the same terms held in memory; and whether they agree."""
    with db.session() as s:
        agreements = [terms_of(a) for a in s.exec(select(Agreement)).all()]
        states = {a.person_id: current_terms(s, a.person_id) for a in asks}
    by_pair: dict[tuple[str, str], list[Any]] = {}
    for ag in agreements:
        for p in ag.providers:
            for r in ag.recipients:
                by_pair.setdefault((p, r), []).append(ag)
    cedar = CedarDecider(agreements)
    texts = {pid: "".join(consent_policy(c) for c in cs) for pid, cs in states.items()}
    ours, theirs, mismatches = [], [], 0
    now_ts = int(NOW.timestamp())
    for a in asks:
        q = _question(a)
        t0 = time.perf_counter()
        state = PolicyState(
            revision=1,
            consents=states[a.person_id],
            agreements=by_pair.get((a.disclosing, a.recipient), []),
        )
        d = decide(q, state, now=NOW)
        ours.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        allowed = cedar.decide(
            a.person_id,
            texts[a.person_id],
            source=a.disclosing,
            recipient=a.recipient,
            purpose=a.purpose,
            categories=a.categories,
            now=now_ts,
        )
        theirs.append((time.perf_counter() - t0) * 1000)
        mismatches += sorted(allowed) != sorted(d.permitted)
    return {"decide": percentiles(ours), "cedar": percentiles(theirs), "mismatches": mismatches}


def service_in_process(db: Database, settings: Settings, asks: list[Ask]) -> dict[str, Any]:
    """What POST /decisions does, minus HTTP: queries + decide + audit record + commit."""
    own = ConsentSettings()
    runtime = ConsentRuntime(
        own=own, signer=ReceiptSigner.load(settings, own), agreements=AgreementCache()
    )
    events = EventWriter("consent", settings.topic("consent"))
    caller = Principal(sub="service:bench", agency=None, roles=frozenset({"service"}))
    full, read_only = [], []
    for a in asks:
        req = DecisionRequest(
            person_id=a.person_id,
            disclosing_agency=a.disclosing,
            recipient_agency=a.recipient,
            purpose=a.purpose,
            categories=a.categories,
        )
        rtype = VOCAB.agency(a.recipient).type  # type: ignore[union-attr]
        t0 = time.perf_counter()
        with db.session() as s:
            make_decision(
                s,
                events,
                runtime,
                caller,
                req,
                person_id=a.person_id,
                recipient_type=rtype,
                now=datetime.now(UTC),
            )
        full.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        with db.session() as s:
            state = load_state(
                s, runtime, a.person_id, a.disclosing, a.recipient, datetime.now(UTC)
            )
            decide(_question(a), state, now=datetime.now(UTC))
            s.rollback()
        read_only.append((time.perf_counter() - t0) * 1000)
    return {"with_audit": percentiles(full), "read_only": percentiles(read_only)}


def over_http(db_url: str, settings: Settings, asks: list[Ask], rate: float) -> dict[str, Any]:
    port = free_port()
    env = {
        **os.environ,
        "CASEBRIDGE_ENV": "test",
        "CASEBRIDGE_DATA_DIR": str(settings.data_dir),
        "CASEBRIDGE_DATABASE_URL": db_url,
        "CASEBRIDGE_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "CASEBRIDGE_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
        "CASEBRIDGE_LOG_LEVEL": "WARNING",
    }
    log = open(Path(settings.data_dir) / "consent-http.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "casebridge.cli", "serve", "consent", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("consent service did not start; see consent-http.log")
            time.sleep(0.2)
        token = mint_token(
            settings, sub="service:bench", agency=None, roles=["service"], ttl_seconds=3600
        )
        headers = {"Authorization": f"Bearer {token}"}
        bodies = [_body(a) for a in asks]
        one_at_a_time(url, headers, "/decisions", bodies[:20])  # warm up
        sequential = one_at_a_time(url, headers, "/decisions", bodies)
        paced = open_loop(url, headers, "/decisions", bodies, rate)
        return {
            "sequential": percentiles(sequential.samples_ms),
            "latency": percentiles(paced.samples_ms),
            "errors": len(sequential.failures) + len(paced.failures),
            "achieved_rps": paced.achieved_rps,
        }
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def _body(a: Ask) -> dict[str, Any]:
    return {
        "person_id": a.person_id,
        "disclosing_agency": a.disclosing,
        "recipient_agency": a.recipient,
        "purpose": a.purpose,
        "categories": a.categories,
    }


def run(
    backend: str, args: argparse.Namespace, tmp: Path, broker: EmbeddedBroker
) -> dict[str, Any]:
    with scratch_database(backend, tmp, "consent") as url:
        settings = Settings(
            env="test",
            data_dir=tmp,
            database_url=url,
            kafka_bootstrap_servers=broker.bootstrap,
            kafka_topic_prefix=f"bench{uuid.uuid4().hex[:6]}",
        )
        db = Database(url)
        try:
            upgrade(db, "consent")
            load_s = load(db, args.persons, args.versions, args.agreements, args.seed)
            settle(url)
            asks = questions(random.Random(args.seed + 1), args.persons, args.questions, db)
            result: dict[str, Any] = {"backend": backend, "load_seconds": load_s}
            result.update(in_memory(db, asks))
            result["service"] = service_in_process(db, settings, asks)
            if not args.no_http:
                result["http"] = over_http(url, settings, asks[: args.http_requests], args.rate)
        finally:
            db.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--versions", type=int, default=20000, help="consent versions in all")
    parser.add_argument("--agreements", type=int, default=200)
    parser.add_argument("--questions", type=int, default=2000)
    parser.add_argument("--http-requests", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="HTTP requests per second")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    broker = EmbeddedBroker().start()
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="consent-bench-") as tmp:
            for backend in backends:
                sub = Path(tmp) / backend
                sub.mkdir()
                results.append(run(backend, args, sub, broker))
    finally:
        broker.stop()
    print(
        f"consent decision benchmark: {args.persons} persons, {args.versions} consent versions "
        f"({CONSENTS_PER_PERSON} consents each), {args.agreements} agreements, "
        f"{args.questions} questions"
    )
    for r in results:
        print(f"\n[{r['backend']}] loaded in {r['load_seconds']:.1f}s")
        print(f"  decide() in memory      {fmt(r['decide'])}")
        print(
            f"  Cedar (cedarpy) memory  {fmt(r['cedar'])}   "
            f"disagreements with decide(): {r['mismatches']}"
        )
        print(f"  service, read only      {fmt(r['service']['read_only'])}")
        print(f"  service + audit commit  {fmt(r['service']['with_audit'])}")
        if "http" in r:
            h = r["http"]
            print(f"  HTTP one at a time      {fmt(h['sequential'])}")
            print(
                f"  HTTP at {args.rate:.0f}/s offered   {fmt(h['latency'])} "
                f"at {h['achieved_rps']:.0f} req/s, errors={h['errors']}"
            )
    print(f"\npeak RSS {peak_rss_mb():.0f} MB")
    if args.json:
        print(json.dumps(results, default=str, indent=2))


if __name__ == "__main__":
    main()
