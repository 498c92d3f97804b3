"""Runs the identity service's own registration logic in-process against a real database,
one record per transaction, as the HTTP endpoint does (minus HTTP and auth)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from services.identity.config import IdentitySettings
from services.identity.models import ClientRecord, ReviewItem
from services.identity.records.schemas import RecordIn
from services.identity.records.service import register
from services.identity.reviews import decide_review
from shared.db import Database
from shared.events.outbox import EventWriter
from shared.migrations import upgrade

SECRET = b"bench-secret"


@dataclass
class BenchRecord:
    truth: str
    agency: str
    body: dict[str, Any]


@dataclass
class RunResult:
    clusters: dict[tuple[str, str], str]  # (agency, local_id) -> person id
    reviews: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)


class Index:
    """A fresh identity database and an event writer (events stay in the outbox)."""

    def __init__(self, url: str, config: IdentitySettings) -> None:
        self.db = Database(url)
        upgrade(self.db, "identity")
        self.events = EventWriter("identity", "bench.identity")
        self.config = config

    def register(self, rec: BenchRecord) -> str:
        with self.db.session() as s:
            done = register(
                s,
                self.events,
                self.config,
                SECRET,
                agency=rec.agency,
                body=RecordIn.model_validate(rec.body),
                actor="bench",
            )
            return done.link.explanation["decision"]

    def run(self, records: Iterable[BenchRecord]) -> RunResult:
        latencies = []
        reviews = 0
        start = time.perf_counter()
        for rec in records:
            t = time.perf_counter()
            if self.register(rec) == "review":
                reviews += 1
            latencies.append((time.perf_counter() - t) * 1000)
        seconds = time.perf_counter() - start
        return RunResult(self.clusters(), reviews, seconds, latencies)

    def clusters(self) -> dict[tuple[str, str], str]:
        with self.db.session() as s:
            rows = s.exec(
                select(ClientRecord.agency, ClientRecord.local_id, ClientRecord.person_id)
            ).all()
        return {(a, lid): pid for a, lid, pid in rows}

    def resolve_reviews_by_oracle(self, truth: dict[tuple[str, str], str]) -> Counter[str]:
        """A perfect reviewer: accept a queued pair when the records are truly one person.
        Returns the rules that queued the pairs it accepted: what held true links back."""
        accepted: Counter[str] = Counter()
        with self.db.session() as s:
            items = s.exec(select(ReviewItem).where(ReviewItem.status == "pending")).all()
            for item in items:
                rec = s.get(ClientRecord, item.record_id)
                cand = (
                    s.get(ClientRecord, item.candidate_record_id)
                    if item.candidate_record_id
                    else None
                )
                if rec is None or cand is None:
                    continue
                same = truth[(rec.agency, rec.local_id)] == truth[(cand.agency, cand.local_id)]
                decide_review(
                    s, self.events, item, accept=same, actor="oracle", reason="benchmark oracle"
                )
                if same:
                    accepted[item.explanation.get("rule", "?")] += 1
        return accepted

    def dispose(self) -> None:
        self.db.dispose()


def pair_metrics(predicted: dict[Any, Any], truth: dict[Any, Any]) -> dict[str, float]:
    """Pairwise precision, recall and F1 of a clustering against the true clustering."""

    def pairs(counter: Counter[Any]) -> int:
        return sum(n * (n - 1) // 2 for n in counter.values())

    keys = list(truth)
    tp = pairs(Counter((predicted[k], truth[k]) for k in keys))
    pred = pairs(Counter(predicted[k] for k in keys))
    true = pairs(Counter(truth[k] for k in keys))
    precision = tp / pred if pred else 1.0
    recall = tp / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_pairs": true,
        "predicted_pairs": pred,
    }
