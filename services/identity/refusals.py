"""Recording a refusal (P3) from inside a request.

The refusal is committed in a transaction of its own; the request's transaction is rolled
back first, both because nothing of it may persist and because on SQLite it holds the only
write lock, which the refusal's transaction would otherwise wait on forever.
"""

from __future__ import annotations

from sqlmodel import Session

from shared.access_log import record_refusal
from shared.app import ServiceContext
from shared.auth import Principal


def refuse(ctx: ServiceContext, session: Session, user: Principal, **fields: object) -> None:
    session.rollback()
    record_refusal(ctx.db, ctx.events, user, **fields)
