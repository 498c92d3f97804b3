"""The baseline for bench/referral_throughput.py: the same referral writes and reads over HTTP,
with the same tables, validation, token check and one transaction per request, but without
the identity resolution, the consent decision, the re-check, the audit record or the events.

    python -m bench.referral_baseline --port 8199 --db sqlite:///tmp/base.db --data-dir DIR
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI

from services.referral import queries
from services.referral.models import Referral, ReferralChange, ReferralSection
from services.referral.schemas import ReferralIn
from shared.auth import Caseworker
from shared.auth.tokens import TokenVerifier
from shared.db import Database, SessionDep
from shared.errors import NotFound, install_problem_handlers
from shared.migrations import upgrade
from shared.settings import Settings


def build(settings: Settings) -> FastAPI:
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
        session.flush()
        for c in categories:
            session.add(
                ReferralSection(referral_id=referral.id, category=c, fields=body.details[c])
            )
        session.add(
            ReferralChange(
                referral_id=referral.id, change="sent", status="sent", actor=user.sub, detail={}
            )
        )
        return {"id": referral.id, "status": referral.status}

    @app.get("/referrals/{referral_id}")
    def read(referral_id: str, user: Caseworker, session: SessionDep) -> dict[str, Any]:
        referral = queries.get_referral(session, referral_id)
        if referral is None or user.agency not in (referral.from_agency, referral.to_agency):
            raise NotFound("No such referral.")
        return {
            "id": referral.id,
            "status": referral.status,
            "details": queries.sections_of(session, referral.id),
            "history": [h.change for h in queries.history_of(session, referral.id)],
        }

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args()
    settings = Settings(env="test", data_dir=args.data_dir, database_url=args.db)
    uvicorn.run(
        build(settings), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
