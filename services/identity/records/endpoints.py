"""Record endpoints: thin. Parse, authorise by agency, call the logic, audit, return."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.identity import index
from services.identity.models import ClientRecord, NewRecord
from services.identity.pseudonyms import issue
from services.identity.records import search as record_search
from services.identity.records.schemas import (
    BatchIn,
    BatchOut,
    PersonView,
    RecordIn,
    RecordOut,
    Registered,
    SearchHit,
    SearchIn,
)
from services.identity.records.service import (
    Cleaned,
    Registration,
    clean_batch,
    lock_batch,
    register,
)
from services.identity.refusals import refuse
from services.identity.runtime import Identity
from shared.access_log import record_access
from shared.app import Context, Events
from shared.auth import Caseworker, Principal
from shared.db import SessionDep
from shared.errors import NotFound, Unprocessable
from shared.events.outbox import EventWriter

router = APIRouter(prefix="/records", tags=["records"])


def _out(record: ClientRecord | NewRecord, pseudonym: str) -> dict[str, object]:
    return {
        "record_id": record.id,
        "agency": record.agency,
        "local_id": record.local_id,
        "person": pseudonym,
        "given_name": record.given_name,
        "family_name": record.family_name,
        "other_names": record.other_names,
        "birth_date": record.birth_date,
        "sex": record.sex,
        "postcode": record.postcode,
        "address_line": record.address_line,
        "identifiers": record.identifiers,
        "version": record.version,
    }


def own_record(
    ctx: Context, session: SessionDep, user: Principal, local_id: str, action: str
) -> ClientRecord:
    """The caller's agency's record, or a 404 (recorded as a refusal): other agencies' records
    are indistinguishable from records that do not exist."""
    assert user.agency is not None
    record = index.record_by_local_id(session, user.agency, local_id)
    if record is None:
        refuse(
            ctx,
            session,
            user,
            action=action,
            resource=f"record/{user.agency}/{local_id}",
            reason="no such record in the caller's agency",
        )
        raise NotFound("No such record in your agency.", slug="record-not-found")
    return record


def audit_registration(
    session: SessionDep, events: EventWriter, user: Principal, done: Registration
) -> None:
    """A registration's audit record, in its transaction (P3)."""
    record_access(
        session,
        events,
        user,
        action="identity.record.register",
        resource=f"record/{done.record.id}",
        person_id=done.link.person_id,
        person_ref=done.pseudonym,
        categories=["identity"],
    )


def _register_audited(
    session: SessionDep,
    events: EventWriter,
    ctx: Context,
    user: Principal,
    body: RecordIn,
    cleaned: Cleaned | None = None,
) -> dict[str, object]:
    """One registration of the caller's agency, audited, and its answer (single or batch)."""
    assert user.agency is not None
    identity = Identity.of(ctx)
    done = register(
        session,
        events,
        identity.config,
        identity.secret,
        agency=user.agency,
        body=body,
        actor=user.sub,
        cleaned=cleaned,
    )
    audit_registration(session, events, user, done)
    return {
        **_out(done.record, done.pseudonym),
        "created": done.created,
        "link": done.link.explanation,
    }


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Registered)
def register_record(
    body: RecordIn, user: Caseworker, ctx: Context, session: SessionDep, events: Events
) -> dict[str, object]:
    """Register (or update, by local id) a client record of the caller's agency, and link it.

    The response carries the person's pseudonym for this agency and the link decision with
    its explanation (field weights, total, thresholds, rule)."""
    return _register_audited(session, events, ctx, user, body)


@router.post("/batch", response_model=BatchOut)
def register_batch(
    body: BatchIn, user: Caseworker, ctx: Context, session: SessionDep, events: Events
) -> dict[str, object]:
    """Register (or update) up to `MAX_BATCH` (100) records of the caller's agency in one
    transaction: an agency's onboarding or nightly feed.

    All or nothing: every record is checked first, and one bad record is a 422 naming its
    index and field, with nothing written. Then each is registered exactly as `POST /records`
    would in the order sent (same decision, events and audit record; a record may link to an
    earlier one of the same batch)."""
    assert user.agency is not None
    config = Identity.of(ctx).config
    items = list(zip(body.records, clean_batch(body.records, config), strict=True))
    lock_batch(session, config, user.agency, items)
    return {
        "records": [
            _register_audited(session, events, ctx, user, record, checked)
            for record, checked in items
        ]
    }


@router.post("/search", response_model=list[SearchHit])
def search_records(
    body: SearchIn, user: Caseworker, ctx: Context, session: SessionDep, events: Events
) -> list[dict[str, object]]:
    """Search the caller's agency's own records by demographics (never other agencies').

    A POST so that names and dates of birth stay out of URLs and access logs."""
    assert user.agency is not None
    criteria = (body.given_name, body.family_name, body.birth_date, body.postcode)
    if sum(v is not None for v in criteria) < 2:
        raise Unprocessable(
            "Search needs at least two of given_name, family_name, birth_date, postcode.",
            slug="search-too-broad",
            errors=[{"field": "query", "message": "at least two criteria", "code": "too_broad"}],
        )
    identity = Identity.of(ctx)
    hits = record_search.search(
        session,
        identity.config,
        agency=user.agency,
        given_name=body.given_name,
        family_name=body.family_name,
        birth_date=body.birth_date,
        postcode=body.postcode,
    )
    out = []
    for record, weight in hits:
        pseudonym = issue(session, identity.secret, user.agency, record.person_id)
        record_access(
            session,
            events,
            user,
            action="identity.record.search",
            resource=f"record/{record.id}",
            person_id=record.person_id,
            person_ref=pseudonym,
            categories=["identity"],
        )
        out.append({**_out(record, pseudonym), "weight": round(weight, 3)})
    if not hits:
        record_access(
            session,
            events,
            user,
            action="identity.record.search",
            resource=f"records/{user.agency}",
            categories=["identity"],
            reason="no results",
        )
    return out


@router.get("/{local_id}", response_model=RecordOut)
def read_record(
    local_id: str, user: Caseworker, ctx: Context, session: SessionDep, events: Events
) -> dict[str, object]:
    """Read one of the caller's agency's records (an audited access to personal data)."""
    record = own_record(ctx, session, user, local_id, "identity.record.read")
    pseudonym = issue(session, Identity.of(ctx).secret, record.agency, record.person_id)
    record_access(
        session,
        events,
        user,
        action="identity.record.read",
        resource=f"record/{record.id}",
        person_id=record.person_id,
        person_ref=pseudonym,
        categories=["identity"],
    )
    return _out(record, pseudonym)


@router.get("/{local_id}/person", response_model=PersonView)
def person_behind_record(
    local_id: str, user: Caseworker, ctx: Context, session: SessionDep, events: Events
) -> PersonView:
    """The person behind one of the caller's records: its pseudonym and the caller's agency's
    other records of that person. Which other agencies know the person is never shown."""
    record = own_record(ctx, session, user, local_id, "identity.person.lookup")
    pseudonym = issue(session, Identity.of(ctx).secret, record.agency, record.person_id)
    own = index.records_of_person(session, record.person_id, agency=record.agency)
    record_access(
        session,
        events,
        user,
        action="identity.person.lookup",
        resource=f"record/{record.id}",
        person_id=record.person_id,
        person_ref=pseudonym,
        categories=["identity"],
    )
    return PersonView(person=pseudonym, records=[r.local_id for r in own])
