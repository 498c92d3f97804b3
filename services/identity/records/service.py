"""Registering and updating records: validate by configuration, store, index, link."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from services.identity import index
from services.identity.config import IdentitySettings
from services.identity.events import RecordRegistered
from services.identity.linking import LinkResult, link_record
from services.identity.matching.postcodes import parse_postcode
from services.identity.models import ClientRecord, NewRecord, new_id
from services.identity.pseudonyms import issue
from services.identity.records.schemas import RecordIn
from shared.errors import Conflict, Unprocessable
from shared.events.envelope import utcnow
from shared.events.outbox import EventWriter


@dataclass(frozen=True)
class Registration:
    record: ClientRecord | NewRecord
    pseudonym: str
    created: bool
    link: LinkResult


Cleaned = tuple[dict[str, str], str | None]


def clean(body: RecordIn, config: IdentitySettings) -> Cleaned:
    """Identifiers and postcode checked against their configured rules: 422 naming each field."""
    identifiers, postcode, errors = _check(body, config, "body")
    if errors:
        raise Unprocessable("The record has invalid fields.", errors=errors)
    return identifiers, postcode


def clean_batch(bodies: list[RecordIn], config: IdentitySettings) -> list[Cleaned]:
    """Every record of a batch checked before anything is written: one 422 naming each bad
    field by the item's index (`body.records.3.postcode`), so a bad item changes nothing."""
    cleaned: list[Cleaned] = []
    errors: list[dict[str, Any]] = []
    for i, body in enumerate(bodies):
        identifiers, postcode, problems = _check(body, config, f"body.records.{i}")
        cleaned.append((identifiers, postcode))
        errors.extend(problems)
    if errors:
        raise Unprocessable("Records in the batch have invalid fields.", errors=errors)
    return cleaned


def _check(
    body: RecordIn, config: IdentitySettings, where: str
) -> tuple[dict[str, str], str | None, list[dict[str, Any]]]:
    errors: list[dict[str, Any]] = []
    identifiers: dict[str, str] = {}
    registry = config.identifier_registry
    for kind, raw in body.identifiers.items():
        field = f"{where}.identifiers.{kind}"
        id_type = registry.get(kind)
        if id_type is None:
            errors.append(
                {
                    "field": field,
                    "message": f"unknown identifier type; known: {sorted(registry)}",
                    "code": "unknown_identifier_type",
                }
            )
            continue
        problem = id_type.problem(raw)
        if problem:
            errors.append(
                {"field": field, "message": f"{kind} {problem}", "code": "invalid_identifier"}
            )
        else:
            identifiers[kind] = id_type.normalise(raw)
    postcode = None
    if body.postcode and body.postcode.strip():
        parsed = parse_postcode(body.postcode, config.formats)
        if parsed is None:
            errors.append(
                {
                    "field": f"{where}.postcode",
                    "message": f"not a postcode in the accepted formats {config.postcode_formats}",
                    "code": "invalid_postcode",
                }
            )
        else:
            postcode = parsed.full
    return identifiers, postcode, errors


def lock_batch(
    session: Session, config: IdentitySettings, agency: str, items: list[tuple[RecordIn, Cleaned]]
) -> None:
    """Take a batch's locks (`index.lock`) before any of its records is written."""
    profiles = (
        (body.local_id, index.profile_of(config, _new_record(agency, body, cleaned)))
        for body, cleaned in items
    )
    index.lock(session, config, agency, profiles)


def _new_record(agency: str, body: RecordIn, cleaned: Cleaned) -> NewRecord:
    identifiers, postcode = cleaned
    now = utcnow()
    return NewRecord(
        id=new_id(),
        agency=agency,
        local_id=body.local_id,
        given_name=body.given_name,
        family_name=body.family_name,
        other_names=list(body.other_names),
        birth_date=body.birth_date,
        sex=body.sex,
        postcode=postcode,
        address_line=body.address_line,
        identifiers=identifiers,
        created_at=now,
        updated_at=now,
    )


def register(
    session: Session,
    events: EventWriter,
    config: IdentitySettings,
    secret: bytes,
    *,
    agency: str,
    body: RecordIn,
    actor: str,
    cleaned: Cleaned | None = None,
) -> Registration:
    """Register the agency's record, or update it if the local id is known; then (re)link it.

    `cleaned` is `clean(body)` when the caller has checked it already (a batch checks every
    item before writing any)."""
    checked = cleaned if cleaned is not None else clean(body, config)
    identifiers, postcode = checked
    record: ClientRecord | NewRecord = _new_record(agency, body, checked)
    profile = index.profile_of(config, record)  # an update's too: the same fields
    index.lock(session, config, agency, [(body.local_id, profile)])
    existing = index.record_by_local_id(session, agency, body.local_id)
    created = existing is None
    if existing is not None:
        record = existing
        record.version += 1
        record.updated_at = utcnow()
        record.given_name = body.given_name
        record.family_name = body.family_name
        record.other_names = list(body.other_names)
        record.birth_date = body.birth_date
        record.sex = body.sex
        record.postcode = postcode
        record.address_line = body.address_line
        record.identifiers = identifiers
    try:
        link = link_record(session, events, config, record, profile, created=created, actor=actor)
    except IntegrityError as exc:
        # Another writer than `register` (which locks the local id) inserted it meanwhile:
        # the caller may simply retry, which then updates.
        raise Conflict(
            "This local id was registered concurrently; retry to update it.",
            slug="concurrent-registration",
        ) from exc
    index.index_record(session, config, record, profile, created=created)
    pseudonym = issue(session, secret, agency, link.person_id)
    events.emit(
        session,
        RecordRegistered(
            record_id=record.id,
            agency=agency,
            person_id=link.person_id,
            pseudonym=pseudonym,
            created=created,
        ),
        key=link.person_id,
    )
    return Registration(record, pseudonym, created, link)
