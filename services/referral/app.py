"""The referral service: cross-agency referrals that disclose only what a basis permits."""

from __future__ import annotations

import threading

from fastapi import FastAPI

from services.referral.endpoints import router, status_router
from services.referral.models import metadata
from services.referral.projection import ReferralProjection
from services.referral.reevaluation import run_reevaluation
from services.referral.settings import ReferralSettings
from shared.app import ServiceContext, ServiceSpec, create_app
from shared.events.consumer import EventConsumer
from shared.settings import Settings


def _wake(ctx: ServiceContext) -> threading.Event:
    return ctx.state.setdefault("reevaluate", threading.Event())  # type: ignore[no-any-return]


def _consumers(ctx: ServiceContext) -> list[EventConsumer]:
    config = ReferralSettings()
    return [ReferralProjection(ctx, _wake(ctx), delay=config.projection_delay_seconds)]


def _background(ctx: ServiceContext):  # type: ignore[no-untyped-def]
    config = ReferralSettings()

    async def reevaluation() -> None:
        await run_reevaluation(ctx, _wake(ctx), config.reevaluation_interval_seconds)

    return [reevaluation]


SPEC = ServiceSpec(
    name="referral",
    metadata=metadata,
    routers=[router, status_router],
    description="Refers clients between agencies, sharing only what consent or law permits, "
    "re-checked at every read.",
    consumers=_consumers,
    background=_background,
)


def build(settings: Settings | None = None) -> FastAPI:
    return create_app(SPEC, settings)
