"""What a caller sends and gets back for a client record."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from shared.events.envelope import utcnow

Sex = Literal["female", "male", "other", "unknown"]


class RecordIn(BaseModel):
    """An agency's client record. `family_name` must be given, as null when unknown."""

    local_id: str = Field(min_length=1, max_length=128, description="The agency's own reference.")
    given_name: str | None = Field(None, max_length=200)
    family_name: str | None = Field(max_length=200)
    other_names: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Aliases, former or maiden names, middle names.",
    )
    birth_date: date | None = None
    sex: Sex | None = None
    postcode: str | None = Field(None, max_length=16)
    address_line: str | None = Field(None, max_length=300)
    identifiers: dict[str, str] = Field(
        default_factory=dict,
        description='Strong identifiers by type, e.g. {"nhs_number": "943 476 5919"}.',
        max_length=10,
    )

    @field_validator("birth_date")
    @classmethod
    def _not_in_future(cls, value: date | None) -> date | None:
        if value is not None and value > utcnow().date():
            raise ValueError("a date of birth cannot be in the future")
        return value


class RecordOut(BaseModel):
    record_id: str
    agency: str
    local_id: str
    person: str = Field(description="The person's pseudonym for the caller's agency.")
    given_name: str | None
    family_name: str | None
    other_names: list[str]
    birth_date: date | None
    sex: str | None
    postcode: str | None
    address_line: str | None
    identifiers: dict[str, str]
    version: int


class Registered(RecordOut):
    created: bool
    link: dict[str, Any] = Field(description="The link decision and its explanation.")


# Most records in one `POST /records/batch`. The batch is one transaction, and on SQLite it
# holds the only write lock throughout (every audited read waits for it): 100 records take
# about 0.3-0.6 s at 100,000 persons and 1 s at a million; beyond about 50 the commit is already
# amortised, so a bigger batch would only lengthen that wait.
MAX_BATCH = 100


class BatchIn(BaseModel):
    """An agency feed: records registered in this order, in one transaction."""

    records: list[RecordIn] = Field(min_length=1, max_length=MAX_BATCH)


class BatchOut(BaseModel):
    """One result per record, in the order sent; each as `POST /records` returns it."""

    records: list[Registered]


class PersonView(BaseModel):
    """The person behind a record, as the caller's agency sees it: its own records only."""

    person: str
    records: list[str] = Field(
        description="Local ids of the caller's agency's records of this person."
    )


class SearchIn(BaseModel):
    """At least two criteria."""

    given_name: str | None = Field(None, max_length=200)
    family_name: str | None = Field(None, max_length=200)
    birth_date: date | None = None
    postcode: str | None = Field(None, max_length=16)


class SearchHit(BaseModel):
    local_id: str
    person: str
    given_name: str | None
    family_name: str | None
    birth_date: date | None
    postcode: str | None
    weight: float


class ReasonIn(BaseModel):
    reason: str = Field(min_length=3, max_length=1000)
