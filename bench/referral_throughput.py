"""Referral throughput end to end: referrals created and read per second over HTTP, with the
identity resolution, the consent decision, the re-check at each read and the audit record,
beside baselines doing the same writes and reads without those steps (bench.referral_baseline,
same tables, same token check, same transaction per request): `bare` (a plain app: no tracing,
no events) and `service` (the service stack: tracing, the outbox relay and the referral.sent
event, the same response). The ratios are their cost, in throughput, latency and CPU per
operation summed over every process involved.

    python -m bench.referral_throughput --referrals 200 --concurrency 4 --db sqlite
    python -m bench.referral_throughput --referrals 5000 --concurrency 8 --db postgresql  # full
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import httpx

from bench.common import cpu_seconds, fmt, peak_rss_mb, percentiles
from bench.referral_common import Driver, postgres_databases, running_system
from casebridge.broker import free_port

# Long enough for the relays and consumers to finish what a phase set going.
SETTLE_SECONDS = 1.5
IDLE_SECONDS = 3.0


def timed_calls(
    n: int, concurrency: int, call: Callable[[httpx.Client, int], httpx.Response]
) -> tuple[list[float], float, list[httpx.Response]]:
    """Run `call` n times over `concurrency` threads; latencies (ms), throughput, responses."""
    clients = [httpx.Client(timeout=60) for _ in range(concurrency)]

    def one(i: int) -> tuple[float, httpx.Response]:
        start = time.perf_counter()
        r = call(clients[i % concurrency], i)
        return (time.perf_counter() - start) * 1000, r

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(n)))
    elapsed = time.perf_counter() - start
    for c in clients:
        c.close()
    bad = [r for _, r in results if r.status_code >= 300]
    if bad:
        raise SystemExit(
            f"{len(bad)} calls failed, first: {bad[0].status_code} {bad[0].text[:300]}"
        )
    return [ms for ms, _ in results], n / elapsed, [r for _, r in results]


Phase = tuple[list[float], float, dict[str, float]]  # latencies, throughput, CPU ms per op
Call = Callable[[httpx.Client, int], httpx.Response]
STEPS = ("create", "read (first)", "read (repeat)")
# bench.referral_baseline's stacks: a plain app, and the service stack without the decision
# and audit steps (tracing, outbox relay, the referral.sent event, the same response).
STACKS = ("bare", "service")


def idle_cpu(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds per second each process spends doing nothing (polling the broker and the
    outbox), measured over IDLE_SECONDS: subtracted from a phase so it counts only its work."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    time.sleep(IDLE_SECONDS)
    return {name: (cpu_seconds(pid) - before[name]) / IDLE_SECONDS for name, pid in pids.items()}


def timed_phase(
    pids: dict[str, int],
    idle: dict[str, float],
    n: int,
    concurrency: int,
    call: Call,
) -> tuple[Phase, list[httpx.Response]]:
    """`timed_calls`, and the CPU each process spent per call beyond idling, including the
    asynchronous work the calls caused (relays, consumers), given SETTLE_SECONDS to finish."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    start = time.perf_counter()
    lat, tput, rs = timed_calls(n, concurrency, call)
    time.sleep(SETTLE_SECONDS)
    wall = time.perf_counter() - start
    cpu = {
        name: max(0.0, cpu_seconds(pid) - before[name] - idle[name] * wall) * 1000 / n
        for name, pid in pids.items()
    }
    return (lat, tput, cpu), rs


def create_then_read(
    pids: dict[str, int],
    n: int,
    concurrency: int,
    create: Call,
    read: Callable[[httpx.Client, str], httpx.Response],
) -> tuple[dict[str, Phase], dict[str, list[httpx.Response]]]:
    """The three timed steps the full path and the baseline share: n creates, then every
    created referral read twice; each step's figures and responses."""
    idle = idle_cpu(pids)
    out, responses = {}, {}
    out["create"], responses["create"] = timed_phase(pids, idle, n, concurrency, create)
    ids = [r.json()["id"] for r in responses["create"]]
    for label in STEPS[1:]:
        out[label], responses[label] = timed_phase(
            pids, idle, n, concurrency, lambda h, i: read(h, ids[i])
        )
    return out, responses


def full_path(d: Driver, n: int, persons: int, concurrency: int) -> dict[str, Phase]:
    people = []
    for i in range(persons):
        p = d.register("housing", i)
        d.consent("housing", p, ["council-asc"])
        people.append(p)
    time.sleep(SETTLE_SECONDS)
    out, responses = create_then_read(
        d.pids,
        n,
        concurrency,
        lambda h, i: d.refer("housing", people[i % persons], "council-asc", h),
        lambda h, referral_id: d.read("council-asc", referral_id, h),
    )
    assert all(r.json()["status"] == "sent" for r in responses["create"])
    assert all(r.json()["details"] for step in STEPS[1:] for r in responses[step])
    return out


def baseline(d: Driver, db: str, n: int, concurrency: int, stack: str) -> dict[str, Phase]:
    """The same writes and reads on a baseline server (bench.referral_baseline) of `stack`."""
    port = free_port()
    url = f"sqlite:///{d.settings.data_dir}/baseline-{stack}.db" if db == "sqlite" else db
    command = [sys.executable, "-m", "bench.referral_baseline", "--port", str(port)]
    command += ["--db", url, "--data-dir", str(d.settings.data_dir), "--stack", stack]
    command += ["--kafka", d.settings.kafka_bootstrap_servers]
    command += ["--topic-prefix", f"{d.settings.kafka_topic_prefix}-baseline"]
    proc = subprocess.Popen(command)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        ready = f"{base}/readyz" if stack == "service" else f"{base}/docs"
        for _ in range(300):
            try:
                if httpx.get(ready, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit(f"the {stack} baseline never became ready")
        sender, recipient = (
            d.headers("caseworker", "housing"),
            d.headers("caseworker", "council-asc"),
        )
        body = {
            "person": "psn_BASELINE",
            "to_agency": "council-asc",
            "purpose": "housing_support",
            "urgency": "urgent",
            "summary": "Needs support to keep the tenancy.",
            "details": {
                "housing": {"tenancy": "secure", "arrears_gbp": 420},
                "health.summary": {"summary": "Type 2 diabetes."},
            },
        }
        pids = {"baseline": proc.pid}
        if stack == "service" and "broker" in d.pids:
            pids["broker"] = d.pids["broker"]  # it carries the service baseline's events
        out, _ = create_then_read(
            pids,
            n,
            concurrency,
            lambda h, i: h.post(f"{base}/referrals", json=body, headers=sender),
            lambda h, referral_id: h.get(f"{base}/referrals/{referral_id}", headers=recipient),
        )
        if stack == "service":  # its events really went to the broker, as the service's do
            unsent = httpx.get(ready).json()["checks"]["outbox"]["unsent"]
            if unsent:
                raise SystemExit(f"the service baseline left {unsent} events unsent")
        return out
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--referrals", type=int, default=200)
    parser.add_argument("--persons", type=int, default=20, help="distinct clients referred")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()

    with running_system(args.db) as d:
        full = full_path(d, args.referrals, args.persons, args.concurrency)
        bases = {}
        for stack in STACKS:
            with ExitStack() as stack_dbs:
                db = args.db
                if args.db == "postgresql":
                    db = stack_dbs.enter_context(postgres_databases()).replace(
                        "{service}", "referral"
                    )
                bases[stack] = baseline(d, db, args.referrals, args.concurrency, stack)

    print(
        f"referral throughput on {args.db}: {args.referrals} referrals, "
        f"concurrency {args.concurrency}"
    )
    for step in STEPS:
        flat, ftput, fcpu = full[step]
        fp, ftotal = percentiles(flat), sum(fcpu.values())
        split = ", ".join(f"{k} {v:.1f}" for k, v in sorted(fcpu.items(), key=lambda kv: -kv[1]))
        print(f"  {step}")
        print(f"    full path        : {ftput:7.1f}/s  {fmt(fp)}  CPU {ftotal:.1f} ms ({split})")
        for stack in STACKS:
            blat, btput, bcpu = bases[stack][step]
            bp, btotal = percentiles(blat), sum(bcpu.values())
            print(
                f"    {stack + ' baseline':<17}: {btput:7.1f}/s  {fmt(bp)}  CPU {btotal:.1f} ms; "
                f"full path costs: throughput {btput / ftput:.2f}x, "
                f"p50 {fp['p50'] / bp['p50']:.2f}x, p99 {fp['p99'] / bp['p99']:.2f}x, "
                f"CPU {ftotal / btotal:.2f}x"
            )
    print(f"  peak memory (bench process): {peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    main()
