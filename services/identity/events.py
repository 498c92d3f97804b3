"""The identity topic's event types. Ids and pseudonyms only: never names, dates or identifiers.

Every event is keyed by the internal person id it concerns, so one person's events stay in
order on one partition.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shared.events import event_type


@event_type("identity.record_registered.v1")
class RecordRegistered(BaseModel):
    """An agency registered a client record, or updated one (`created` false)."""

    record_id: str = Field(description="The identity service's id of the record.")
    agency: str = Field(description="The agency that holds the record.")
    person_id: str = Field(description="Internal id of the person the record is linked to.")
    pseudonym: str = Field(description="The person's pseudonym for that agency.")
    created: bool = Field(description="True for a new record, false for an update.")


@event_type("identity.person_linked.v1")
class PersonLinked(BaseModel):
    """A record was linked to a person (a new one, an existing one, or another after review)."""

    record_id: str
    agency: str
    person_id: str = Field(description="The person the record now belongs to.")
    previous_person_id: str | None = Field(description="Its person before, if it changed.")
    rule: str = Field(description="The rule that fired, e.g. deterministic:nhs_number.")
    decision: Literal["linked", "new_person", "review", "manual"]
    weight: float | None = Field(description="The match weight, for a probabilistic decision.")


@event_type("identity.review_queued.v1")
class ReviewQueued(BaseModel):
    """An uncertain pair waits for a reviewer."""

    review_id: str
    record_id: str
    agency: str
    person_id: str = Field(description="The record's (provisional) person.")
    candidate_person_id: str = Field(description="The person it may be.")
    weight: float


@event_type("identity.review_decided.v1")
class ReviewDecided(BaseModel):
    """A reviewer accepted (the persons are merged) or rejected a queued pair."""

    review_id: str
    record_id: str
    person_id: str = Field(description="The record's person after the decision.")
    decision: Literal["accepted", "rejected"]
    decided_by: str
    merge_id: str | None = None


@event_type("identity.persons_merged.v1")
class PersonsMerged(BaseModel):
    """Two persons are one: the merged person's records and pseudonyms now lead to the survivor."""

    merge_id: str
    survivor_person_id: str
    merged_person_id: str


@event_type("identity.person_unmerged.v1")
class PersonUnmerged(BaseModel):
    """A merge or link was undone: `restored_person_id` is a person of its own again."""

    person_id: str = Field(description="The person that kept the other records.")
    restored_person_id: str = Field(description="The person split off (again).")
    merge_id: str | None = Field(None, description="The merge undone, if it was one.")
