"""Which agencies an event concerns: the rule per event type, and nothing for unknown types.

A partner hears of an event only if its agency is concerned. The rules read the event's own
fields and, where an event names no agency, what routing remembers (`Memory`): the parties a
consent or objection named when it was recorded, and the agencies already told about a person.
An event type without a rule concerns no one (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

CLIENT_NAMESPACE = "client"


class Memory(Protocol):
    def parties(self, subject_id: str) -> set[str]:
        """The agencies a consent or objection named when it was recorded."""
        ...

    def agencies_knowing(self, person_ids: Iterable[str]) -> set[str]:
        """The agencies already told about any of these persons."""
        ...


Rule = Callable[[dict[str, Any], Memory], set[str]]


def _agencies(*groups: Iterable[Any] | Any) -> set[str]:
    found: set[str] = set()
    for group in groups:
        items = [group] if isinstance(group, str) or group is None else list(group)
        found.update(a for a in items if isinstance(a, str) and a and a != CLIENT_NAMESPACE)
    return found


def _scope(data: dict[str, Any], name: str) -> dict[str, Any]:
    scope = data.get(name)
    return scope if isinstance(scope, dict) else {}


def _referral(data: dict[str, Any], _: Memory) -> set[str]:
    return _agencies(data.get("from_agency"), data.get("to_agency"))


def _record(data: dict[str, Any], _: Memory) -> set[str]:
    return _agencies(data.get("agency"))


def _merged(data: dict[str, Any], memory: Memory) -> set[str]:
    return memory.agencies_knowing(
        [data["survivor_person_id"], data["merged_person_id"]],
    )


def _unmerged(data: dict[str, Any], memory: Memory) -> set[str]:
    return memory.agencies_knowing([data["person_id"], data["restored_person_id"]])


def _consent_granted(data: dict[str, Any], _: Memory) -> set[str]:
    scope = _scope(data, "scope")
    return _agencies(
        data.get("agency"), scope.get("recipients", []), data.get("source_agencies", [])
    )


def _consent_later(data: dict[str, Any], memory: Memory) -> set[str]:
    withdrawn = _scope(data, "withdrawn")
    return memory.parties(data["consent_id"]) | _agencies(withdrawn.get("recipients", []))


def _objection_recorded(data: dict[str, Any], memory: Memory) -> set[str]:
    # An objection to "all recipients" concerns the agencies that already know the person,
    # not every agency in the region.
    recipients = _agencies(_scope(data, "scope").get("recipients", []))
    return recipients or memory.agencies_knowing([data["person_id"]])


def _objection_lifted(data: dict[str, Any], memory: Memory) -> set[str]:
    return memory.parties(data["objection_id"])


def _agreement(data: dict[str, Any], _: Memory) -> set[str]:
    return _agencies(data.get("providers", []), data.get("recipients", []))


def _agreement_review(data: dict[str, Any], _: Memory) -> set[str]:
    return _agencies(data.get("parties", []))


def _break_glass(data: dict[str, Any], _: Memory) -> set[str]:
    return _agencies(data.get("disclosing_agency"), data.get("recipient_agency"))


RULES: dict[str, Rule] = {
    "identity.record_registered.v1": _record,
    "identity.person_linked.v1": _record,
    "identity.persons_merged.v1": _merged,
    "identity.person_unmerged.v1": _unmerged,
    "consent.granted.v1": _consent_granted,
    "consent.withdrawn.v1": _consent_later,
    "consent.renewed.v1": _consent_later,
    "consent.expired.v1": _consent_later,
    "objection.recorded.v1": _objection_recorded,
    "objection.lifted.v1": _objection_lifted,
    "agreement.activated.v1": _agreement,
    "agreement.suspended.v1": _agreement,
    "agreement.expired.v1": _agreement,
    "agreement.retired.v1": _agreement,
    "agreement.review_due.v1": _agreement_review,
    "consent.break_glass_used.v1": _break_glass,
    **{
        f"referral.{change}.v1": _referral
        for change in (
            "sent",
            "accepted",
            "declined",
            "progressed",
            "completed",
            "withdrawn",
            "revoked",
            "disclosure_restricted",
        )
    },
}

# What a partner may subscribe to: the event types routing knows how to address.
DELIVERABLE_TYPES: frozenset[str] = frozenset(RULES)

# The parties to remember when a consent or objection is first recorded.
REMEMBERED_SCOPES: dict[str, str] = {
    "consent.granted.v1": "consent_id",
    "objection.recorded.v1": "objection_id",
}


def concerned_agencies(event_type: str, data: dict[str, Any], memory: Memory) -> set[str]:
    """The agencies an event concerns; empty for a type without a rule or a malformed event."""
    rule = RULES.get(event_type)
    if rule is None:
        return set()
    try:
        return rule(data, memory)
    except (KeyError, TypeError, AttributeError):
        return set()
