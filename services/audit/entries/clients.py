"""Who accessed my data: a client's view of every access to their own records.

The client's token names them by their pseudonym in the `client` namespace; the identity
service resolves it to the internal person id the entries carry. If it cannot be asked, we
refuse (503) rather than guess.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Query, Request, Response

from services.audit.context import AuditSettingsDep
from services.audit.entries.endpoints import set_next_link
from services.audit.entries.queries import EntryFilter, search
from services.audit.entries.schemas import AccessSeen
from services.audit.persons import ids_of_person
from shared.access_log import record_access
from shared.app import Context, Events
from shared.auth import Client
from shared.db import SessionDep
from shared.errors import Forbidden, NotFound, Unavailable
from shared.vocabulary import load_vocabulary

router = APIRouter(prefix="/me", tags=["clients"])

CLIENT_NAMESPACE = "client"


def resolve_client(ctx: Context, pseudonym: str) -> str:
    """The internal person id behind a client's pseudonym, from the identity service."""
    try:
        r = ctx.call(
            "identity",
            "GET",
            "/internal/resolve",
            params={"agency": CLIENT_NAMESPACE, "pseudonym": pseudonym},
        )
    except httpx.HTTPError as exc:
        raise Unavailable(
            "The identity service cannot be reached to say who you are.",
            slug="identity-unavailable",
        ) from exc
    if r.status_code == 404:
        raise NotFound("No record is held about you.", slug="unknown-person")
    if r.status_code != 200:
        raise Unavailable(
            f"The identity service answered {r.status_code}.", slug="identity-unavailable"
        )
    person_id = r.json().get("person_id")
    if not isinstance(person_id, str) or not person_id:
        raise Unavailable("The identity service gave no person id.", slug="identity-unavailable")
    return person_id


def seen_by_client(row: Any, *, show_official: bool) -> AccessSeen:
    vocabulary = load_vocabulary()
    agencies = {a.id: a.name for a in vocabulary.agencies}
    purposes = {p.id: p.name for p in vocabulary.purposes}
    return AccessSeen(
        occurred_at=row.occurred_at.astimezone(UTC),
        agency=row.actor_agency,
        agency_name=agencies.get(row.actor_agency or ""),
        roles=row.actor_roles,
        official=row.actor_sub if show_official else None,
        service=row.service,
        action=row.action,
        categories=row.categories,
        purpose=row.purpose,
        purpose_name=purposes.get(row.purpose or ""),
        basis=row.basis,
        decision=row.decision,
    )


@router.get("/accesses", response_model=list[AccessSeen])
def my_accesses(
    client: Client,
    ctx: Context,
    session: SessionDep,
    events: Events,
    audit: AuditSettingsDep,
    request: Request,
    response: Response,
    since: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AccessSeen]:
    """Every access to your records, across all agencies, newest first."""
    if not client.person:
        raise Forbidden("A client token must name its person.", slug="wrong-person")
    person_id = resolve_client(ctx, client.person)
    page = search(
        session,
        EntryFilter(person_ids=tuple(ids_of_person(session, person_id)), since=since),
        limit=limit,
        cursor=cursor,
    )
    record_access(
        session,
        events,
        client,
        action="audit.own_accesses.viewed",
        resource="audit:entries",
        person_id=person_id,
        person_ref=client.person,
    )
    set_next_link(request, response, page.next_cursor)
    return [seen_by_client(r, show_official=audit.show_official_names) for r in page.rows]
