"""Withdrawal to enforcement (P6): after the consent service acknowledges a withdrawal, can any
referral read still disclose under it?

Each trial: a referral the recipient can read; reader threads read it in a tight loop; the
client's consent is withdrawn; the readers go on for a window after the acknowledgement.
A *disclosure after acknowledgement* is a read that started after the withdrawal was
acknowledged and still returned case details: the rule is zero, in every trial. Reads already
in flight at the acknowledgement may finish after it (reported as the in-flight tail).

Also measured: the projection lag (consent event created -> applied by the referral service's
consumer, server-side clocks), and the time from acknowledgement until the referral is marked
revoked and the recipient's event emitted. Run twice: the consumer healthy, then delayed by
`--delay` seconds per batch; the reads must stay safe either way.

    python -m bench.referral_withdrawal --trials 20 --db sqlite
    python -m bench.referral_withdrawal --trials 200 --readers 4 --db postgresql   # full size
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass, field

from bench.common import fmt, percentiles
from bench.referral_common import Driver, running_system


@dataclass
class Read:
    start: float
    end: float
    disclosed: bool
    status: int


@dataclass
class Results:
    disclosures_after_ack: int = 0
    reads_after_ack: int = 0
    refused_503: int = 0
    inflight_tail_ms: list[float] = field(default_factory=list)
    first_hidden_ms: list[float] = field(default_factory=list)
    projection_lag_ms: list[float] = field(default_factory=list)
    ack_to_applied_ms: list[float] = field(default_factory=list)
    ack_to_revoked_ms: list[float] = field(default_factory=list)


def reader(d: Driver, referral_id: str, stop: threading.Event, out: list[Read]) -> None:
    import httpx

    with httpx.Client(timeout=30) as http:
        while not stop.is_set():
            start = time.perf_counter()
            r = d.read("council-asc", referral_id, http=http)
            end = time.perf_counter()
            disclosed = r.status_code == 200 and bool(r.json().get("details"))
            out.append(Read(start, end, disclosed, r.status_code))


def trial(d: Driver, n: int, readers: int, window: float, res: Results) -> None:
    person = d.register("housing", n)
    consent = d.consent("housing", person, ["council-asc"])
    referral = d.refer("housing", person, "council-asc").json()
    person_id = d.person_id("housing", person)
    assert d.read("council-asc", referral["id"]).json()["details"], "setup: must disclose first"

    stop, reads = threading.Event(), []  # type: ignore[var-annotated]
    threads = [
        threading.Thread(target=reader, args=(d, referral["id"], stop, reads))
        for _ in range(readers)
    ]
    for t in threads:
        t.start()
    time.sleep(0.05)
    withdrawn = d.withdraw("housing", consent["id"])
    ack = time.perf_counter()
    time.sleep(window)
    stop.set()
    for t in threads:
        t.join()

    after = [r for r in reads if r.start > ack]
    res.reads_after_ack += len(after)
    res.disclosures_after_ack += sum(r.disclosed for r in after)
    res.refused_503 += sum(r.status == 503 for r in after)
    tail = [r.end - ack for r in reads if r.disclosed and r.end > ack]
    res.inflight_tail_ms.append(max(tail, default=0.0) * 1000)
    hidden = [r.end - ack for r in after if not r.disclosed]
    if hidden:
        res.first_hidden_ms.append(min(hidden) * 1000)

    revision = int(withdrawn["revision"])
    deadline = time.perf_counter() + 30
    applied = revoked = None
    while time.perf_counter() < deadline and (applied is None or revoked is None):
        now = time.perf_counter()
        if applied is None:
            p = d.projection(person_id)
            if (p["person_revision"] or 0) >= revision:
                applied = now
                res.projection_lag_ms.append(float(p["person_lag_ms"]))
        if revoked is None:
            mine = d.read("housing", referral["id"]).json()
            if mine["status"] == "revoked":
                revoked = now
        time.sleep(0.01)
    if applied is not None:
        res.ack_to_applied_ms.append((applied - ack) * 1000)
    if revoked is not None:
        res.ack_to_revoked_ms.append((revoked - ack) * 1000)


def run(db: str, trials: int, readers: int, window: float, delay: float) -> Results:
    env = {"CASEBRIDGE_REFERRAL_PROJECTION_DELAY_SECONDS": str(delay)}
    res = Results()
    with running_system(db, env) as d:
        for n in range(trials):
            trial(d, n, readers, window, res)
    return res


def report(label: str, res: Results, trials: int) -> None:
    print(f"  [{label}]")
    print(
        f"    disclosures after acknowledgement: {res.disclosures_after_ack} "
        f"(of {res.reads_after_ack} reads started after ack, {trials} trials; rule: 0)"
    )
    print(f"    refused 503 after ack            : {res.refused_503}")
    for name, samples in (
        ("first hidden read after ack", res.first_hidden_ms),
        ("in-flight tail (read begun before ack)", res.inflight_tail_ms),
        ("projection lag (event -> applied)", res.projection_lag_ms),
        ("ack -> projection applied (client)", res.ack_to_applied_ms),
        ("ack -> referral marked revoked", res.ack_to_revoked_ms),
    ):
        print(f"    {name:<40}: {fmt(percentiles(samples)) if samples else 'no samples'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--readers", type=int, default=2, help="concurrent reader threads")
    parser.add_argument("--window", type=float, default=0.3, help="seconds of reads after ack")
    parser.add_argument("--delay", type=float, default=1.0, help="consumer delay, 2nd run (s)")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()

    healthy = run(args.db, args.trials, args.readers, args.window, 0.0)
    delayed = run(args.db, args.trials, args.readers, args.window, args.delay)
    print(f"withdrawal to enforcement on {args.db}: {args.trials} trials, {args.readers} readers")
    report("consumer healthy", healthy, args.trials)
    report(f"consumer delayed {args.delay:.1f}s per batch", delayed, args.trials)
    ok = healthy.disclosures_after_ack == 0 and delayed.disclosures_after_ack == 0
    print(f"  RESULT: {'zero disclosures after acknowledgement' if ok else 'VIOLATION'}")


if __name__ == "__main__":
    main()
