"""The identity service: the master person index."""

from __future__ import annotations

from fastapi import FastAPI

from services.identity import internal, persons, reviews
from services.identity.models import metadata
from services.identity.records import endpoints as records
from shared.app import ServiceSpec, create_app
from shared.settings import Settings

SPEC = ServiceSpec(
    name="identity",
    metadata=metadata,
    routers=[records.router, persons.router, reviews.router, internal.router],
    description="Resolves clients across agencies and gives each agency its own pseudonyms.",
)


def build(settings: Settings | None = None) -> FastAPI:
    return create_app(SPEC, settings)
