"""P3 for refusals: a denied attempt is audited in a transaction of its own, then raised."""

from __future__ import annotations

from shared.access_log import record_refusal
from shared.app import ServiceContext
from shared.auth import Principal
from shared.errors import Problem


def refuse(
    ctx: ServiceContext,
    user: Principal,
    problem: Problem,
    *,
    action: str,
    resource: str,
    person_id: str | None = None,
    person_ref: str | None = None,
    categories: list[str] | None = None,
    purpose: str | None = None,
) -> Problem:
    """Audit the refusal and hand back the problem to raise.

    Call it only while the request's own session holds no transaction: on SQLite the
    refusal's transaction would otherwise wait for the request's write lock.
    """
    record_refusal(
        ctx.db,
        ctx.events,
        user,
        action=action,
        resource=resource,
        person_id=person_id,
        person_ref=person_ref,
        categories=categories or [],
        purpose=purpose,
        reason=problem.slug,
    )
    return problem
