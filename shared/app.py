"""Building a service: the same FastAPI shape, lifespan and health checks for every service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import MetaData, func, select

from shared.auth.tokens import TokenVerifier, mint_token
from shared.db import Database
from shared.errors import install_problem_handlers
from shared.events.consumer import EventConsumer
from shared.events.kafka import wait_for_broker
from shared.events.outbox import EventWriter
from shared.events.relay import OutboxRelay
from shared.events.tables import outbox
from shared.migrations import upgrade
from shared.settings import Settings
from shared.telemetry import instrument_app

log = logging.getLogger(__name__)


@dataclass
class ServiceContext:
    """Everything a service's requests and background work share, built in the lifespan."""

    name: str
    settings: Settings
    db: Database
    events: EventWriter
    relay: OutboxRelay
    verifier: TokenVerifier
    consumers: list[EventConsumer] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    _http: httpx.Client | None = None

    def service_token(self) -> str:
        """A short-lived token with the `service` role, for calls to the other services."""
        cached = self.state.get("service_token")
        if cached and cached[1] > time.time() + 60:
            return str(cached[0])
        token = mint_token(
            self.settings,
            sub=f"service:{self.name}",
            agency=None,
            roles=["service"],
            ttl_seconds=600,
        )
        self.state["service_token"] = (token, time.time() + 600)
        return token

    def http(self) -> httpx.Client:
        """A pooled client for synchronous calls to another service (tracing propagates)."""
        if self._http is None:
            self._http = httpx.Client(timeout=httpx.Timeout(5.0, connect=2.0))
        return self._http

    def call(self, service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.service_token()}"}
        headers.update(kwargs.pop("headers", {}))
        return self.http().request(
            method, f"{self.settings.url_of(service)}{path}", headers=headers, **kwargs
        )


@dataclass
class ServiceSpec:
    """What makes one service different from another."""

    name: str
    metadata: MetaData
    routers: Sequence[APIRouter]
    description: str = ""
    consumers: Callable[[ServiceContext], list[EventConsumer]] = lambda ctx: []
    background: Callable[[ServiceContext], list[Callable[[], Awaitable[None]]]] = lambda ctx: []
    on_start: Callable[[ServiceContext], None] | None = None


def get_context(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


async def _context(request: Request) -> ServiceContext:
    # async: a sync dependency would cost a thread-pool hop on every request
    return get_context(request)


Context = Annotated[ServiceContext, Depends(_context)]


async def _events(request: Request) -> EventWriter:
    events: EventWriter = request.app.state.ctx.events
    return events


Events = Annotated[EventWriter, Depends(_events)]


async def _supervise(name: str, job: Callable[[], Awaitable[None]]) -> None:
    """Keep a background job alive: log and restart it if it ever fails."""
    while True:
        try:
            await job()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job %s failed; restarting", name)
            await asyncio.sleep(1.0)


def build_context(spec: ServiceSpec, settings: Settings) -> ServiceContext:
    db = Database(settings.database_url_for(spec.name))
    upgrade(db, spec.name)
    relay = OutboxRelay(db, settings, source=spec.name)
    events = EventWriter(spec.name, settings.topic(spec.name), on_commit=relay.wake)
    ctx = ServiceContext(
        name=spec.name,
        settings=settings,
        db=db,
        events=events,
        relay=relay,
        verifier=TokenVerifier(settings),
    )
    ctx.consumers = spec.consumers(ctx)
    if spec.on_start:
        spec.on_start(ctx)
    return ctx


def create_app(spec: ServiceSpec, settings: Settings | None = None) -> FastAPI:
    settings = (settings or Settings()).model_copy(update={"service": spec.name})

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = await asyncio.to_thread(build_context, spec, settings)
        app.state.ctx = ctx
        app.state.db = ctx.db
        app.state.verifier = ctx.verifier
        jobs: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("topics", lambda: wait_for_broker(settings, within=3600)),
            ("relay", ctx.relay.run),
        ]
        jobs += [(f"consumer:{c.name}", c.run) for c in ctx.consumers]
        jobs += [(f"job:{i}", j) for i, j in enumerate(spec.background(ctx))]
        tasks = [asyncio.create_task(_supervise(n, j), name=n) for n, j in jobs]
        try:
            yield
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if ctx._http is not None:
                ctx._http.close()
            ctx.db.dispose()

    app = FastAPI(
        title=f"Casebridge {spec.name} service",
        description=spec.description,
        version="0.1.0",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    instrument_app(app, settings)
    app.include_router(_health_router())
    for router in spec.routers:
        app.include_router(router)
    return app


def _health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """Alive: the process answers."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(ctx: Context) -> JSONResponse:
        """Ready: the database and the broker answer and every consumer has joined its group;
        and how far behind the consumers are."""
        checks: dict[str, Any] = {}
        try:
            await asyncio.to_thread(ctx.db.ping)
            backlog = await asyncio.to_thread(_outbox_backlog, ctx.db)
            checks["database"] = {"ok": True}
            checks["outbox"] = {"unsent": backlog}
        except Exception as exc:  # noqa: BLE001
            checks["database"] = {"ok": False, "error": type(exc).__name__}
        checks["broker"] = {"ok": await _broker_answers(ctx)}
        checks["consumers"] = {
            c.name: {
                "connected": c.connected,
                "joined": c.assignments > 0,
                "lag": c.lag,
                "processed": c.processed,
            }
            for c in ctx.consumers
        }
        # A consumer that has not joined its group yet would leave the first events waiting
        # for the join (seconds); until then the service is not ready.
        joined = all(c["joined"] for c in checks["consumers"].values())
        ready = checks["database"]["ok"] and checks["broker"]["ok"] and joined
        return JSONResponse(
            {"service": ctx.name, "status": "ready" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    return router


def _outbox_backlog(db: Database) -> int:
    with db.session() as s:
        return int(s.execute(select(func.count()).where(outbox.c.sent_at.is_(None))).scalar_one())


async def _broker_answers(ctx: ServiceContext) -> bool:
    try:
        async with asyncio.timeout(3):
            producer = await ctx.relay.producer()
        async with asyncio.timeout(2):
            await producer.client.fetch_all_metadata()
        return True
    except Exception:  # noqa: BLE001
        return False
