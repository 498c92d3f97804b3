"""The partner gateway: delivers events to partner systems, filtered to what each may see.

A service of its own because webhook delivery has its own failure modes (slow or dead
receivers, retries over hours) and its own state (partners, secrets, the delivery log); it
consumes the other services' topics like any consumer and imports none of their code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI

from services.partner.deliveries.endpoints import router as deliveries_router
from services.partner.deliveries.worker import DeliveryWorker
from services.partner.docs import router as docs_router
from services.partner.feed.endpoints import router as feed_router
from services.partner.models import metadata
from services.partner.partners.endpoints import router as partners_router
from services.partner.routing.consumer import PartnerRouter
from services.partner.runtime import partner_settings
from services.partner.settings import PartnerSettings
from services.partner.subscriptions.endpoints import router as endpoints_router
from shared.app import ServiceContext, ServiceSpec, create_app
from shared.events.consumer import EventConsumer
from shared.settings import Settings


def _worker(ctx: ServiceContext) -> DeliveryWorker:
    worker = ctx.state.get("delivery_worker")
    if worker is None:
        worker = ctx.state["delivery_worker"] = DeliveryWorker(ctx, partner_settings(ctx))
    return worker  # type: ignore[no-any-return]


def _consumers(ctx: ServiceContext) -> list[EventConsumer]:
    return [PartnerRouter(ctx, _worker(ctx).wake)]


def _background(ctx: ServiceContext) -> list[Callable[[], Awaitable[None]]]:
    return [_worker(ctx).run]


SPEC = ServiceSpec(
    name="partner",
    metadata=metadata,
    routers=[partners_router, endpoints_router, deliveries_router, feed_router, docs_router],
    description="Signed webhooks and a pull feed of events for partner systems.",
    consumers=_consumers,
    background=_background,
)


def build(settings: Settings | None = None, partner: PartnerSettings | None = None) -> FastAPI:
    if partner is None:
        return create_app(SPEC, settings)
    from dataclasses import replace

    def keep(ctx: ServiceContext) -> None:
        ctx.state["partner_settings"] = partner

    return create_app(replace(SPEC, on_start=keep), settings)
