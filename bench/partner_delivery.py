"""Partner webhooks: latency from an event's commit to its webhook's arrival, and throughput.

Runs identity and the partner gateway as real processes on a real broker, 100 webhook
endpoints (loopback HTTP/1.1 servers in a process of their own), and a producer writing
referral events through a transactional outbox (as the referral service does). Each event
concerns every subscribed partner, so one event is `--endpoints` deliveries.

Prints p50/p99 of commit -> webhook received while paced, deliveries per second for a burst,
and beside them a baseline of bare HTTP POSTs (same receivers, same body size, same
concurrency) measured in the same run.

    python -m bench.partner_delivery --events 200 --rate 10 --burst 100 --endpoints 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import tempfile
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from bench.common import fmt, peak_rss_mb, percentiles
from casebridge.broker import EmbeddedBroker
from shared.auth.tokens import mint_token
from shared.db import Database
from shared.events import EventWriter
from shared.events.relay import OutboxRelay
from shared.migrations import upgrade
from shared.settings import Settings
from shared.testing import RunningSystem, auth

AGENCIES = ("housing", "council-asc")
TYPE = "referral.accepted.v1"


# --- the receivers (a process of their own) ------------------------------------------------
class _Receiver(asyncio.Protocol):
    def __init__(self, log: list[tuple[float, str]]) -> None:
        self.log = log
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1").lower()
            length = 0
            for line in head.split("\r\n"):
                if line.startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            body, self.buffer = self.buffer[head_end + 4 : end], self.buffer[end:]
            self.log.append((time.time(), _tag(body)))
            self.transport.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")  # type: ignore[attr-defined]


def _tag(body: bytes) -> str:
    try:
        loaded = json.loads(body)
        return str(loaded.get("data", {}).get("referral_id") or loaded.get("tag"))
    except ValueError:
        return "?"


def _serve(count: int, conn: Connection) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        log: list[tuple[float, str]] = []
        servers = [
            await loop.create_server(lambda: _Receiver(log), "127.0.0.1", 0) for _ in range(count)
        ]
        conn.send([s.sockets[0].getsockname()[1] for s in servers])
        while True:
            if await loop.run_in_executor(None, conn.poll, 0.2):
                if conn.recv() == "stop":
                    return
                conn.send(list(log))
                log.clear()

    asyncio.run(main())


class Receivers:
    def __init__(self, count: int) -> None:
        self.conn, child = mp.Pipe()
        self.process = mp.Process(target=_serve, args=(count, child), daemon=True)
        self.process.start()
        self.ports: list[int] = self.conn.recv()

    def drain(self) -> list[tuple[float, str]]:
        self.conn.send("report")
        got: list[tuple[float, str]] = self.conn.recv()
        return got

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(5)


# --- the system under test ------------------------------------------------------------------
def setup_partners(system: RunningSystem, settings: Settings, ports: list[int]) -> list[str]:
    """Partners for two agencies, endpoints spread over them; returns the persons' ids."""
    admin = auth(mint_token(settings, sub="bench-admin", agency="council-asc", roles=["admin"]))
    partner_url = system.url("partner")
    per_partner = 10
    partners = []
    for n in range(max(1, len(ports) // per_partner)):
        created = httpx.post(
            f"{partner_url}/partners",
            json={"agency": AGENCIES[n % 2], "name": f"bench {n}", "allowed_types": [TYPE]},
            headers=admin,
        ).json()
        issued = httpx.post(
            f"{partner_url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": created["client_id"],
                "client_secret": created["client_secret"],
            },
        ).json()
        partners.append(auth(issued["access_token"]))
    for i, port in enumerate(ports):
        made = httpx.post(
            f"{partner_url}/endpoints",
            json={"url": f"http://127.0.0.1:{port}/hook", "event_types": [TYPE]},
            headers=partners[i % len(partners)],
        )
        assert made.status_code == 201, made.text
    identity_url = system.url("identity")
    caseworker = auth(mint_token(settings, sub="bench-cw", agency="housing", roles=["caseworker"]))
    service = auth(mint_token(settings, sub="bench", agency=None, roles=["service"]))
    persons = []
    for n in range(20):
        registered = httpx.post(
            f"{identity_url}/records",
            json={"local_id": f"bench-{n}", "family_name": f"Bench{n}", "given_name": "P"},
            headers=caseworker,
            timeout=10,
        ).json()
        resolved = httpx.get(
            f"{identity_url}/internal/resolve",
            params={"agency": "housing", "pseudonym": registered["person"]},
            headers=service,
        ).json()
        persons.append(resolved["person_id"])
    return persons


async def webhook_path(
    settings: Settings,
    db_url: str,
    receivers: Receivers,
    persons: list[str],
    endpoints: int,
    events: int,
    rate: float,
    burst: int,
) -> dict[str, Any]:
    from services.referral.events import ReferralAccepted

    db = Database(db_url)
    upgrade(db, "partner")  # any service's history carries the outbox tables
    relay = OutboxRelay(db, settings, source="referral")
    writer = EventWriter("referral", settings.topic("referral"), relay.wake)
    relay_task = asyncio.create_task(relay.run())
    committed: dict[str, float] = {}

    def write(count: int, pace: float | None, tag: str) -> None:
        for i in range(count):
            referral_id = f"{tag}-{i}"
            person = persons[i % len(persons)]
            with db.session() as s:
                writer.emit(
                    s,
                    ReferralAccepted(
                        referral_id=referral_id,
                        from_agency="housing",
                        to_agency="council-asc",
                        person_id=person,
                    ),
                    key=person,
                )
            committed[referral_id] = time.time()
            if pace:
                time.sleep(1 / pace)

    async def collect(prefix: str, expected: int, within: float) -> list[tuple[float, str]]:
        got: list[tuple[float, str]] = []
        deadline = time.monotonic() + within
        while len(got) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            got += [r for r in receivers.drain() if r[1].startswith(prefix)]
        return got

    # Warm-up: every (agency, person) pseudonym cached, connections open.
    await asyncio.to_thread(write, len(persons), None, "warm")
    await collect("warm", len(persons) * endpoints, 120)

    await asyncio.to_thread(write, events, rate, "paced")
    paced = await collect("paced", events * endpoints, 300)
    latencies = [(t - committed[tag]) * 1000 for t, tag in paced]

    start = time.time()
    await asyncio.to_thread(write, burst, None, "burst")
    bursted = await collect("burst", burst * endpoints, 300)
    span = max(t for t, _ in bursted) - start if bursted else float("nan")
    relay_task.cancel()
    await asyncio.gather(relay_task, return_exceptions=True)
    db.dispose()
    return {
        "paced": percentiles(latencies) if latencies else None,
        "paced_missing": events * endpoints - len(paced),
        "burst_rate": len(bursted) / span if bursted else 0.0,
        "burst_missing": burst * endpoints - len(bursted),
        "burst_n": len(bursted),
    }


async def bare_path(
    receivers: Receivers, endpoints: int, events: int, rate: float, burst: int
) -> dict[str, Any]:
    """The same number of POSTs, same body size, straight from aiohttp (the worker's client,
    with the same small pool per receiver) to the receivers."""
    ports = receivers.ports[:endpoints]
    body_pad = "x" * 300
    clients = {
        p: aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=8), timeout=aiohttp.ClientTimeout(total=10)
        )
        for p in ports
    }
    sent: dict[str, float] = {}
    sem = asyncio.Semaphore(256)

    async def post(port: int, tag: str) -> None:
        async with (
            sem,
            clients[port].post(
                f"http://127.0.0.1:{port}/hook",
                data=json.dumps({"tag": tag, "pad": body_pad}).encode(),
            ) as response,
        ):
            await response.read()

    async def fan_out(tag: str) -> None:
        sent[tag] = time.time()
        await asyncio.gather(*(post(p, tag) for p in ports))

    await asyncio.gather(*(fan_out(f"bwarm-{i}") for i in range(3)))
    receivers.drain()
    tasks = []
    for i in range(events):
        tasks.append(asyncio.create_task(fan_out(f"bpaced-{i}")))
        await asyncio.sleep(1 / rate)
    await asyncio.gather(*tasks)
    await asyncio.sleep(0.3)
    got = receivers.drain()
    latencies = [(t - sent[tag]) * 1000 for t, tag in got if tag.startswith("bpaced")]
    start = time.time()
    await asyncio.gather(*(fan_out(f"bburst-{i}") for i in range(burst)))
    await asyncio.sleep(0.3)
    got = [r for r in receivers.drain() if r[1].startswith("bburst")]
    span = max(t for t, _ in got) - start
    for client in clients.values():
        await client.close()
    return {"paced": percentiles(latencies), "burst_rate": len(got) / span, "burst_n": len(got)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200, help="paced events")
    parser.add_argument("--rate", type=float, default=10.0, help="paced events per second")
    parser.add_argument("--burst", type=int, default=100, help="events written at once")
    parser.add_argument("--endpoints", type=int, default=100)
    args = parser.parse_args()

    broker = EmbeddedBroker().start()
    receivers = Receivers(args.endpoints)
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            settings = Settings(
                env="test",
                data_dir=tmp,
                database_url=f"sqlite:///{tmp.as_posix()}/{{service}}.db",
                kafka_bootstrap_servers=broker.bootstrap,
                kafka_topic_prefix=f"bench{uuid.uuid4().hex[:6]}",
                kafka_partitions=6,
            )
            os.environ["CASEBRIDGE_PARTNER_MAX_IN_FLIGHT"] = "256"
            system = RunningSystem(settings, services=("identity", "partner")).start()
            try:
                persons = setup_partners(system, settings, receivers.ports)
                webhooks = asyncio.run(
                    webhook_path(
                        settings,
                        f"sqlite:///{tmp.as_posix()}/producer.db",
                        receivers,
                        persons,
                        args.endpoints,
                        args.events,
                        args.rate,
                        args.burst,
                    )
                )
            finally:
                system.stop()
            bare = asyncio.run(
                bare_path(receivers, args.endpoints, args.events, args.rate, args.burst)
            )
    finally:
        receivers.stop()
        broker.stop()

    per_s = args.rate * args.endpoints
    print(
        f"partner webhooks: {args.endpoints} endpoints, {args.events} events paced at "
        f"{args.rate:.0f}/s (= {per_s:,.0f} deliveries/s), burst of {args.burst} events"
    )
    if webhooks["paced"]:
        print(f"  commit -> webhook received  : {fmt(webhooks['paced'])}")
    print(f"  bare POST -> received       : {fmt(bare['paced'])}")
    print(
        f"  burst deliveries/s webhooks : {webhooks['burst_rate']:,.0f} "
        f"(n={webhooks['burst_n']}, commit of first event -> last received)"
    )
    print(f"  burst POSTs/s bare          : {bare['burst_rate']:,.0f} (n={bare['burst_n']})")
    if webhooks["paced_missing"] or webhooks["burst_missing"]:
        print(f"  MISSING: paced {webhooks['paced_missing']}, burst {webhooks['burst_missing']}")
    print(f"  peak memory (bench process): {peak_rss_mb():.0f} MiB")


if __name__ == "__main__":
    main()
