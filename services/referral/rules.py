"""The referral rules that need no database and no network: pure, and unit-tested as such.

Lifecycle (who may move a referral where), whether a stored decision is still current (P6),
what a fresh decision leaves of a referral's sections (P7), and the list cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from shared.access_log import Basis, ConsentRef

URGENCIES = ("routine", "urgent", "emergency")
STATUSES = (
    "sent",
    "accepted",
    "declined",
    "in_progress",
    "completed",
    "withdrawn",
    "revoked",
    "blocked",
)
OUTCOMES = ("support_provided", "no_further_action", "referred_on", "client_declined", "other")

# While a referral is in one of these, its recipient may read the case details (re-checked).
DISCLOSING = frozenset({"sent", "accepted", "in_progress", "completed"})

Party = Literal["sender", "recipient"]


@dataclass(frozen=True)
class Transition:
    party: Party
    sources: frozenset[str]
    target: str
    event: str


TRANSITIONS: dict[str, Transition] = {
    "accept": Transition("recipient", frozenset({"sent"}), "accepted", "referral.accepted.v1"),
    "decline": Transition("recipient", frozenset({"sent"}), "declined", "referral.declined.v1"),
    "start": Transition(
        "recipient", frozenset({"accepted"}), "in_progress", "referral.progressed.v1"
    ),
    "complete": Transition(
        "recipient", frozenset({"accepted", "in_progress"}), "completed", "referral.completed.v1"
    ),
    "withdraw": Transition(
        "sender",
        frozenset({"sent", "accepted", "in_progress"}),
        "withdrawn",
        "referral.withdrawn.v1",
    ),
}


class LifecycleError(ValueError):
    """A move the referral's state or the caller's side does not allow."""

    def __init__(self, message: str, slug: str) -> None:
        super().__init__(message)
        self.slug = slug


def next_status(action: str, current: str, party: Party) -> str:
    """The status `action` by `party` leads to from `current`, or why it may not happen."""
    move = TRANSITIONS.get(action)
    if move is None:
        raise LifecycleError(f"Unknown action {action!r}.", "unknown-action")
    if move.party != party:
        raise LifecycleError(
            f"Only the {move.party} agency may {action} a referral.", "wrong-party"
        )
    if current not in move.sources:
        raise LifecycleError(
            f"A referral that is {current} cannot be {move.target}.", "invalid-transition"
        )
    return move.target


# --- the decision a referral rests on --------------------------------------------------


class Withheld(BaseModel):
    category: str
    reasons: list[str] = Field(default_factory=list)


class Decision(BaseModel):
    """The consent service's answer (the cross-service contract), as far as we rely on it."""

    decision: Literal["permit", "deny", "partial"]
    permitted: list[str] = Field(default_factory=list)
    withheld: list[Withheld] = Field(default_factory=list)
    bases: list[dict[str, Any]] = Field(default_factory=list)
    obligations: list[Any] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    revision: int
    valid_until: datetime | None = None
    suggestions: list[Any] = Field(default_factory=list)

    def permitted_categories(self, sections: Iterable[str]) -> list[str]:
        """Which of `sections` this decision permits."""
        return permitted_sections(sections, self.permitted)


def covers(granted: str, requested: str) -> bool:
    """A permitted parent category covers its children (`health` covers `health.mental`)."""
    return requested == granted or requested.startswith(granted + ".")


def permitted_sections(sections: Iterable[str], permitted: Iterable[str]) -> list[str]:
    """The sections a decision's permitted categories cover, in a stable order."""
    allowed = list(permitted)
    return sorted(s for s in set(sections) if any(covers(p, s) for p in allowed))


@dataclass(frozen=True)
class Restriction:
    kept: list[str]
    stopped: list[str]

    @property
    def revoked(self) -> bool:
        return not self.kept

    @property
    def changed(self) -> bool:
        return bool(self.stopped)


def restrict(shared: Iterable[str], decision: Decision) -> Restriction:
    """What a fresh decision leaves of what a referral shares; it never widens it."""
    current = sorted(set(shared))
    kept = permitted_sections(current, decision.permitted)
    return Restriction(kept=kept, stopped=[c for c in current if c not in kept])


def stop_reasons(stopped: Iterable[str], decision: Decision) -> dict[str, list[str]]:
    """For each stopped category, the reason codes the fresh decision gave (or its general ones)."""
    by_category = {w.category: w.reasons for w in decision.withheld}
    out: dict[str, list[str]] = {}
    for category in stopped:
        reasons = next(
            (r for c, r in by_category.items() if covers(c, category) or covers(category, c)),
            None,
        )
        out[category] = list(reasons or decision.reasons or ["basis_ended"])
    return out


def decision_is_current(
    decision_revision: int, person_revision: int, valid_until: datetime | None, now: datetime
) -> bool:
    """P6: a stored decision may be served only if nothing about the person changed since it
    was made and none of its bases has expired."""
    if decision_revision < 0 or person_revision > decision_revision:
        return False
    return valid_until is None or now < valid_until


def audit_basis(bases: Iterable[dict[str, Any]]) -> Basis:
    """The bases of a decision, in the shape the audit record carries."""
    consents, agreements = [], []
    for b in bases:
        if b.get("kind") == "consent" and b.get("consent_id"):
            consents.append(ConsentRef(id=str(b["consent_id"]), version=int(b.get("version") or 0)))
        elif b.get("kind") == "agreement" and b.get("agreement_id"):
            agreements.append(str(b["agreement_id"]))
    return Basis(consents=consents, agreements=agreements)


def basis_keys(bases: Iterable[dict[str, Any]]) -> list[tuple[str, str, int | None]]:
    """(kind, id, version) of each basis, so an event naming a consent or agreement finds it."""
    keys: dict[tuple[str, str], int | None] = {}
    for b in bases:
        kind = b.get("kind")
        ref = b.get("consent_id") if kind == "consent" else b.get("agreement_id")
        if kind in ("consent", "agreement") and ref:
            version = b.get("version")
            keys[(str(kind), str(ref))] = int(version) if version is not None else None
    return [(k, i, v) for (k, i), v in keys.items()]


# --- consent events that may end a basis -----------------------------------------------

# These can only narrow what may be shared; the others (granted, renewed, lifted, activated)
# never widen an existing referral, so they only move the projection forward.
RESTRICTING_EVENTS = frozenset(
    {
        "consent.withdrawn.v1",
        "consent.expired.v1",
        "objection.recorded.v1",
        "agreement.suspended.v1",
        "agreement.expired.v1",
        "agreement.retired.v1",
    }
)


@dataclass(frozen=True)
class EventTargets:
    person_id: str | None
    consent_id: str | None
    agreement_id: str | None
    revision: int | None


def event_targets(data: dict[str, Any]) -> EventTargets:
    """The person, consent and agreement a consent-topic event is about, and its revision."""

    def text(key: str) -> str | None:
        value = data.get(key)
        return str(value) if value not in (None, "") else None

    revision = data.get("revision")
    return EventTargets(
        person_id=text("person_id"),
        consent_id=text("consent_id"),
        agreement_id=text("agreement_id"),
        revision=int(revision)
        if isinstance(revision, int | str) and str(revision).isdigit()
        else None,
    )


# --- cursor pagination -----------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """The last item of a page: lists are ordered newest first by (created_at, id)."""

    created_at: datetime
    id: str

    def encode(self) -> str:
        raw = json.dumps([self.created_at.isoformat(), self.id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            created, ident = json.loads(raw)
            at = datetime.fromisoformat(created)
            if at.tzinfo is None or not isinstance(ident, str):
                raise ValueError("bad cursor")
        except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
            raise ValueError("The cursor is not one this service gave out.") from exc
        return cls(created_at=at, id=ident)
