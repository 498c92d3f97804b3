"""The audit service: the append-only, tamper-evident record of every access."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from services.audit import oversight
from services.audit.checkpoints import endpoints as checkpoints
from services.audit.checkpoints.job import checkpoint_job
from services.audit.checkpoints.signing import load_signer
from services.audit.entries import clients
from services.audit.entries import endpoints as entries
from services.audit.export import endpoints as export
from services.audit.ingest import AuditIngest
from services.audit.models import metadata
from services.audit.proofs import endpoints as proofs
from services.audit.settings import AuditSettings
from shared.app import ServiceContext, ServiceSpec, create_app
from shared.events.consumer import EventConsumer
from shared.settings import Settings


def prepare(ctx: ServiceContext) -> None:
    """Load the audit settings and the checkpoint signing key once, into the context."""
    if "audit_settings" not in ctx.state:
        audit = AuditSettings()
        ctx.state["audit_settings"] = audit
        ctx.state["signer"] = load_signer(ctx.settings, audit)


def consumers(ctx: ServiceContext) -> list[EventConsumer]:
    prepare(ctx)
    return [AuditIngest(ctx.db, ctx.settings, ctx.events, ctx.state["audit_settings"])]


SPEC = ServiceSpec(
    name="audit",
    metadata=metadata,
    routers=[
        entries.router,
        clients.router,
        export.router,
        proofs.router,
        checkpoints.router,
        oversight.router,
    ],
    description="Keeps every access, for auditors and for the clients whose data it was.",
    consumers=consumers,
    background=lambda ctx: [
        checkpoint_job(ctx.db, ctx.state["signer"], ctx.state["audit_settings"])
    ],
    on_start=prepare,
)


def build(settings: Settings | None = None) -> FastAPI:
    app = create_app(SPEC, settings)
    app.middleware("http")(readiness_with_gaps)
    return app


async def readiness_with_gaps(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Add the producers' sequence gaps to the shared `/readyz` (informational: a gap is an
    alert for auditors, not a reason to stop serving)."""
    response = await call_next(request)
    if request.url.path != "/readyz" or request.method != "GET":
        return response
    body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
    report = json.loads(body)
    try:
        gaps = await asyncio.to_thread(oversight.gap_summary, request.app.state.ctx.db)
    except Exception as exc:  # noqa: BLE001 - the database check above already says why
        gaps = {"ok": False, "error": type(exc).__name__}
    report.setdefault("checks", {})["sequence_gaps"] = gaps
    return JSONResponse(report, status_code=response.status_code)
