"""Refusing a request: audit the denied attempt, then raise (P3).

The request's own transaction will roll back, so it is rolled back first: on SQLite it may
hold the write lock, which the refusal's own transaction needs.
"""

from __future__ import annotations

from typing import NoReturn

from sqlmodel import Session

from shared.access_log import record_refusal
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import Problem


def refuse(
    session: Session | None,
    ctx: ServiceContext,
    principal: Principal,
    problem: Problem,
    **fields: object,
) -> NoReturn:
    if session is not None:
        session.rollback()
    fields.setdefault("reason", problem.slug)
    record_refusal(ctx.db, ctx.events, principal, **fields)
    raise problem
