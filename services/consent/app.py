"""The consent service: consents, objections, agreements, and the sharing decision."""

from __future__ import annotations

from fastapi import FastAPI

from services.consent import runtime
from services.consent.agreements import endpoints as agreements
from services.consent.consents import endpoints as consents
from services.consent.decisions import endpoints as decisions
from services.consent.merges import identity_followers
from services.consent.models import metadata
from services.consent.objections import endpoints as objections
from services.consent.sweep import sweeper
from shared.app import ServiceSpec, create_app
from shared.settings import Settings

SPEC = ServiceSpec(
    name="consent",
    metadata=metadata,
    routers=[
        consents.router,
        consents.client_router,
        consents.keys_router,
        objections.router,
        objections.client_router,
        agreements.router,
        decisions.router,
    ],
    description="Answers: may this agency share these data about this person, with whom, why.",
    consumers=identity_followers,
    background=lambda ctx: [sweeper(ctx)],
    on_start=runtime.start,
)


def build(settings: Settings | None = None) -> FastAPI:
    return create_app(SPEC, settings)
