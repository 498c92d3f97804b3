"""The baselines for bench/referral_throughput.py: the same referral writes and reads over HTTP,
with the same tables, validation, token check and one transaction per request, but without
the identity resolution, the consent decision, the re-check, or the audit record.

Two stacks, so that the cost of the decision and audit steps is shown apart from the cost of
running as a service at all:

* `bare`: a plain FastAPI app; no tracing, no events, a minimal response.
* `service`: built by `shared.app.create_app` like every service (tracing middleware, outbox
  relay to the broker, health routes), emitting the same `referral.sent` event and returning
  the same referral view as the real service. Only the decision and audit steps are missing.

    python -m bench.referral_baseline --port 8199 --db sqlite:///tmp/base.db --data-dir DIR \
        [--stack service --kafka HOST:PORT --topic-prefix PREFIX]
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI
from sqlmodel import Session

from services.referral import queries
from services.referral.creation import announce
from services.referral.models import Referral, ReferralSection, metadata
from services.referral.schemas import ReferralIn, ReferralOut
from services.referral.views import referral_view
from shared.app import Events, ServiceSpec, create_app
from shared.auth import Caseworker, Principal
from shared.auth.tokens import TokenVerifier
from shared.db import Database, SessionDep
from shared.errors import NotFound, install_problem_handlers
from shared.migrations import upgrade
from shared.settings import Settings


def store(session: Session, user: Principal, body: ReferralIn) -> Referral:
    """The rows a referral sharing every requested category writes: referral, sections, change."""
    categories = sorted(body.details)
    referral = Referral(
        from_agency=str(user.agency),
        to_agency=body.to_agency,
        created_by=user.sub,
        person_id=body.person,
        original_person_id=body.person,
        sender_person_ref=body.person,
        purpose=body.purpose,
        urgency=body.urgency,
        summary=body.summary,
        requested_categories=categories,
        shared_categories=categories,
        withheld=[],
        bases=[],
        reasons=[],
        suggestions=[],
        decision_revision=0,
    )
    session.add(referral)
    for c in categories:
        session.add(ReferralSection(referral_id=referral.id, category=c, fields=body.details[c]))
    queries.add_change(session, referral, referral.status, user.sub, shared=categories)
    return referral


def visible(session: Session, user: Principal, referral_id: str) -> Referral:
    referral = queries.get_referral(session, referral_id)
    if referral is None or user.agency not in (referral.from_agency, referral.to_agency):
        raise NotFound("No such referral.")
    return referral


def bare_app(settings: Settings) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url_for("referral"))
        upgrade(db, "referral")
        app.state.db = db
        app.state.verifier = TokenVerifier(settings)
        yield
        db.dispose()

    app = FastAPI(lifespan=lifespan)
    install_problem_handlers(app)

    @app.post("/referrals", status_code=201)
    def create(body: ReferralIn, user: Caseworker, session: SessionDep) -> dict[str, Any]:
        referral = store(session, user, body)
        return {"id": referral.id, "status": referral.status}

    @app.get("/referrals/{referral_id}")
    def read(referral_id: str, user: Caseworker, session: SessionDep) -> dict[str, Any]:
        referral = visible(session, user, referral_id)
        return {
            "id": referral.id,
            "status": referral.status,
            "details": queries.sections_of(session, referral.id),
            "history": [h.change for h in queries.history_of(session, referral.id)],
        }

    return app


def service_app(settings: Settings) -> FastAPI:
    router = APIRouter()

    @router.post("/referrals", status_code=201, response_model=ReferralOut)
    def create(
        body: ReferralIn, user: Caseworker, session: SessionDep, events: Events
    ) -> ReferralOut:
        referral = store(session, user, body)
        announce(session, events, referral)
        return view(session, referral, "sender", body.details)

    @router.get("/referrals/{referral_id}", response_model=ReferralOut)
    def read(referral_id: str, user: Caseworker, session: SessionDep) -> ReferralOut:
        referral = visible(session, user, referral_id)
        return view(session, referral, "recipient", queries.sections_of(session, referral.id))

    spec = ServiceSpec(name="referral", metadata=metadata, routers=[router])
    return create_app(spec, settings)


def view(
    session: Session, referral: Referral, side: str, details: dict[str, dict[str, Any]]
) -> ReferralOut:
    return referral_view(
        referral,
        side=side,
        person=referral.sender_person_ref,
        details=details,
        history=queries.history_of(session, referral.id),
        disclosure="sender" if side == "sender" else "stored-current",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--stack", choices=["bare", "service"], default="bare")
    parser.add_argument("--kafka", help="bootstrap servers (service stack)")
    parser.add_argument("--topic-prefix", default="baseline", help="(service stack)")
    args = parser.parse_args()
    settings = Settings(
        env="test",
        data_dir=args.data_dir,
        database_url=args.db,
        kafka_bootstrap_servers=args.kafka or "127.0.0.1:9092",
        kafka_topic_prefix=args.topic_prefix,
    )
    app = service_app(settings) if args.stack == "service" else bare_app(settings)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
