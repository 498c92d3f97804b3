"""Auditors search the log; each search is itself an audited access."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from services.audit.entries.queries import EntryFilter, search
from services.audit.entries.schemas import EntryOut
from shared.access_log import record_access
from shared.app import Events
from shared.auth import Auditor
from shared.db import SessionDep

router = APIRouter(prefix="/entries", tags=["entries"])


def entry_filter(
    person_id: Annotated[
        str | None, Query(max_length=64, description="Internal person id.")
    ] = None,
    user: Annotated[str | None, Query(max_length=200, description="The actor's subject.")] = None,
    agency: Annotated[str | None, Query(max_length=64, description="The actor's agency.")] = None,
    purpose: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=200)] = None,
    decision: Literal["permitted", "denied"] | None = None,
    service: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="occurred_at >= since")] = None,
    until: Annotated[datetime | None, Query(description="occurred_at < until")] = None,
) -> EntryFilter:
    return EntryFilter(person_id, user, agency, purpose, action, decision, service, since, until)


Filter = Annotated[EntryFilter, Depends(entry_filter)]


def set_next_link(request: Request, response: Response, cursor: str | None) -> None:
    """RFC 8288 `Link: <...>; rel="next"`, and the bare cursor in `X-Next-Cursor`."""
    if cursor is None:
        return
    url = request.url.include_query_params(cursor=cursor)
    response.headers["Link"] = f'<{url}>; rel="next"'
    response.headers["X-Next-Cursor"] = cursor


@router.get("", response_model=list[EntryOut])
def list_entries(
    auditor: Auditor,
    session: SessionDep,
    events: Events,
    where: Filter,
    request: Request,
    response: Response,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[EntryOut]:
    """Search the log, newest first; follow the `Link` header (rel=next) for more."""
    page = search(session, where, limit=limit, cursor=cursor)
    record_access(
        session,
        events,
        auditor,
        action="audit.entries.searched",
        resource="audit:entries",
        person_id=where.person_id,
        reason=where.describe(),
    )
    set_next_link(request, response, page.next_cursor)
    return [EntryOut.of(r) for r in page.rows]
