"""Internal endpoints for the core services (the `service` role only): pseudonym <-> person."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.identity.models import Person
from services.identity.pseudonyms import current_person, issue, resolve
from services.identity.runtime import Identity
from shared.app import Context
from shared.auth import ServiceCaller
from shared.db import SessionDep
from shared.errors import NotFound, Unprocessable
from shared.vocabulary import load_vocabulary

router = APIRouter(prefix="/internal", tags=["internal"])

CLIENT_NAMESPACE = "client"


class Resolved(BaseModel):
    person_id: str
    agency: str
    pseudonym: str


class PseudonymOut(BaseModel):
    pseudonym: str


def _known_agency(agency: str) -> None:
    if agency != CLIENT_NAMESPACE and load_vocabulary().agency(agency) is None:
        raise Unprocessable(
            "Unknown agency.",
            errors=[
                {
                    "field": "query.agency",
                    "message": "not an agency id or 'client'",
                    "code": "unknown_agency",
                }
            ],
        )


@router.get("/resolve", response_model=Resolved)
def resolve_pseudonym(
    agency: Annotated[str, Query(min_length=1, max_length=64)],
    pseudonym: Annotated[str, Query(min_length=1, max_length=40)],
    _: ServiceCaller,
    session: SessionDep,
) -> Resolved:
    """The current internal person behind an agency's pseudonym (a merged person's resolves to
    the survivor)."""
    person = resolve(session, agency, pseudonym)
    if person is None:
        raise NotFound("No such pseudonym for that agency.", slug="pseudonym-not-found")
    return Resolved(person_id=person.id, agency=agency, pseudonym=pseudonym)


@router.get("/pseudonym", response_model=PseudonymOut)
def pseudonym_for(
    agency: Annotated[str, Query(min_length=1, max_length=64)],
    person_id: Annotated[str, Query(min_length=1, max_length=36)],
    _: ServiceCaller,
    ctx: Context,
    session: SessionDep,
) -> PseudonymOut:
    """The pseudonym of a person (followed to its survivor) for any agency, incl. `client`."""
    _known_agency(agency)
    if session.get(Person, person_id) is None:
        raise NotFound("No such person.", slug="person-not-found")
    person = current_person(session, person_id)
    assert person is not None
    return PseudonymOut(pseudonym=issue(session, Identity.of(ctx).secret, agency, person.id))
