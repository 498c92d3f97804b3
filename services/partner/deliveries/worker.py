"""The delivery worker: sends due deliveries, signed, and records each attempt's outcome.

Runs as a background job in the service's event loop. It claims due deliveries from the
ledger (leased, in per-person order), sends them concurrently (aiohttp, a small pool per
receiver) and writes outcomes in batches, so one slow receiver never holds up the others.
aiohttp, not httpx as elsewhere: the fan-out is the gateway's hot path, and on loopback
aiohttp sends several times the POSTs per second for the same CPU (see bench/partner_delivery).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from urllib.parse import urlsplit

import aiohttp

from services.partner.deliveries import signing
from services.partner.deliveries.ledger import Claimed, Outcome, claim, record
from services.partner.settings import PartnerSettings
from shared.app import ServiceContext
from shared.events.envelope import utcnow

log = logging.getLogger(__name__)


class DeliveryWorker:
    def __init__(self, ctx: ServiceContext, config: PartnerSettings) -> None:
        self.ctx = ctx
        self.config = config
        self.sent = 0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._outcomes: list[Outcome] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._clients: dict[str, aiohttp.ClientSession] = {}

    def wake(self) -> None:
        """Called from any thread after a commit that created or reset deliveries."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    def _claim(self, limit: int) -> list[Claimed]:
        lease = self.config.delivery_timeout_seconds + 30
        with self.ctx.db.session() as session:
            return claim(session, limit, lease)

    def _record(self, outcomes: list[Outcome]) -> None:
        with self.ctx.db.session() as session:
            record(session, self.ctx.events, self.config, outcomes)

    async def _send(self, item: Claimed) -> None:
        timestamp = int(time.time())
        headers = signing.headers(item.secrets, item.message_id, timestamp, item.body)
        started = time.perf_counter()
        code: int | None = None
        error: str | None = None
        try:
            async with self._client(item.url).post(
                item.url, data=item.body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                code = response.status
            if not 200 <= code < 300:
                error = f"receiver answered {code}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        outcome = Outcome(
            item.delivery_id,
            item.lease_token,
            utcnow(),
            code,
            error,
            (time.perf_counter() - started) * 1000,
        )
        with self._lock:
            self._outcomes.append(outcome)
        self._wake.set()

    def _client(self, url: str) -> aiohttp.ClientSession:
        """One small pool per receiver: fair between receivers, and cheap to search (one
        pool shared by many receivers costs time in proportion to all its connections)."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        client = self._clients.get(origin)
        if client is None:
            size = self.config.connections_per_receiver
            # Not instrumented: partners are outside, our trace context is not theirs to see
            # (nor is a span per delivery worth its cost; the delivery log has every attempt).
            client = self._clients[origin] = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=size),
                timeout=aiohttp.ClientTimeout(total=self.config.delivery_timeout_seconds),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return client

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            await self._loop_forever()
        finally:
            for task in list(self._in_flight):
                task.cancel()
            clients, self._clients = self._clients, {}
            for client in clients.values():
                await client.close()

    async def _loop_forever(self) -> None:
        while True:
            self._wake.clear()
            with self._lock:
                done, self._outcomes = self._outcomes, []
            if done:
                await asyncio.to_thread(self._record, done)
                self.sent += len(done)
            room = self.config.max_in_flight - len(self._in_flight)
            claimed = await asyncio.to_thread(self._claim, room) if room > 0 else []
            for item in claimed:
                task = asyncio.create_task(self._send(item))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
            if claimed or done:
                continue
            # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that lands
            # with a wake-up, and the service then never stops.
            try:
                async with asyncio.timeout(self.config.poll_seconds):
                    await self._wake.wait()
            except TimeoutError:
                pass
