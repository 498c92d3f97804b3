"""What a partner receives: the event's references, with persons under the agency's pseudonym.

Every field naming an internal person id (`person_id`, `survivor_person_id`, ...) becomes the
same name without `_id`, holding the partner agency's pseudonym. Fields that would tell a
partner more than a reference (who decided, another agency's pseudonym) are dropped. The
partner fetches any details through the API, which checks the basis at that moment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

DROPPED_FIELDS = frozenset({"pseudonym", "decided_by", "granted_by"})


def person_fields(data: dict[str, Any]) -> list[str]:
    """The fields of an event's data that hold internal person ids, in order."""
    return [k for k, v in data.items() if k.endswith("person_id") and isinstance(v, str)]


def partner_data(data: dict[str, Any], pseudonym: Callable[[str], str]) -> dict[str, Any]:
    """The event's data as a partner sees it; `pseudonym(person_id)` gives the agency's."""
    shown: dict[str, Any] = {}
    for key, value in data.items():
        if key in DROPPED_FIELDS:
            continue
        if key.endswith("person_id"):
            shown[key[: -len("_id")]] = pseudonym(value) if isinstance(value, str) else None
        else:
            shown[key] = value
    return shown


def envelope(
    *,
    message_id: str,
    source: str,
    event_type: str,
    time: str,
    subject: str | None,
    data: dict[str, Any],
    sequence: int | None = None,
) -> dict[str, Any]:
    """A CloudEvents 1.0 envelope for a partner; `sequence` is per webhook endpoint."""
    body: dict[str, Any] = {
        "specversion": "1.0",
        "id": message_id,
        "source": source,
        "type": event_type,
        "time": time,
        "datacontenttype": "application/json",
    }
    if subject is not None:
        body["subject"] = subject
    if sequence is not None:
        body["sequence"] = sequence
    body["data"] = data
    return body
