"""Access records as the ingest reads them: validated once, into plain dicts.

An event's `data` is checked against the fields of `shared.access_log.AccessRecorded` by a
TypeAdapter over TypedDicts: the same types and the same coercions as the model, without
building five model instances per event and dumping the basis back to a dict (that cost half
the ingest's validation time). Fields a producer may leave out get the model's defaults when
the entry is built (`ledger.entry_of`). `tests/test_records.py` keeps the two in step: same
fields, same required ones, same entries.
"""

# No `from __future__ import annotations`: TypedDict reads NotRequired from real annotations
# only, and `__required_keys__` must be right (the test compares them with the model).
from datetime import UTC, datetime
from typing import Any, Literal, NotRequired

from pydantic import TypeAdapter
from typing_extensions import TypedDict

from shared.access_log import AccessRecorded
from shared.events.envelope import utcnow


class ActorFields(TypedDict):
    sub: str
    agency: str | None
    roles: list[str]


class ConsentRefFields(TypedDict):
    id: str
    version: int


class BasisFields(TypedDict):
    consents: NotRequired[list[ConsentRefFields]]
    agreements: NotRequired[list[str]]
    break_glass: NotRequired[str | None]


class AccessFields(TypedDict):
    """`AccessRecorded`'s fields; the ones with a default there may be absent here."""

    actor: ActorFields
    person_id: NotRequired[str | None]
    person_ref: NotRequired[str | None]
    action: str
    resource: str
    categories: NotRequired[list[str]]
    purpose: NotRequired[str | None]
    basis: NotRequired[BasisFields]
    decision: Literal["permitted", "denied"]
    reason: NotRequired[str | None]
    service: str
    trace_id: NotRequired[str | None]
    occurred_at: NotRequired[datetime]


_ACCESS = TypeAdapter(AccessFields)


def access_fields(data: dict[str, Any]) -> AccessFields:
    """An event's data, checked as `AccessRecorded` would check it (ValidationError if not),
    with `occurred_at` always present (the model's default: now) and in UTC."""
    fields = _ACCESS.validate_python(data)
    when = fields.get("occurred_at")
    fields["occurred_at"] = utcnow() if when is None else when.astimezone(UTC)
    return fields


def fields_of(record: AccessRecorded) -> AccessFields:
    """A record built in Python (the benchmark, direct appends) in the same form."""
    return access_fields(record.model_dump())
