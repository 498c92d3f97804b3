"""Alerts: break-glass use, repeated denied attempts, one user reading many people, and gaps.

Each alert is a row for auditors and an `audit.alert_raised.v1` event for whoever watches.
The per-user windows run on the entries' own times and live in the ingest consumer's memory:
the log has one writer at a time (the head lock), so one consumer sees every entry in order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import Session

from services.audit.models import Alert
from services.audit.settings import AuditSettings
from shared.events.catalog import event_type
from shared.events.outbox import EventWriter
from shared.models import new_id

AlertKind = Literal["break_glass", "denied_attempts", "many_persons", "sequence_gap"]


@event_type("audit.alert_raised.v1")
class AlertRaised(BaseModel):
    """Something in the access log an auditor should look at."""

    alert_id: str = Field(description="Stable id of the alert (the event id as well).")
    kind: AlertKind = Field(
        description="break_glass: emergency access used; denied_attempts: a user was refused "
        "too often; many_persons: a user read many different people's records in a short "
        "window; sequence_gap: events from a producer are missing."
    )
    actor_sub: str | None = Field(None, description="The user concerned, if any.")
    actor_agency: str | None = Field(None, description="Their agency.")
    person_id: str | None = Field(None, description="Internal id of the person, if one.")
    detail: dict[str, Any] = Field(default_factory=dict, description="Counts, windows, ranges.")
    raised_at: datetime


@dataclass(frozen=True)
class AlertDraft:
    kind: AlertKind
    detail: dict[str, Any]
    actor_sub: str | None = None
    actor_agency: str | None = None
    person_id: str | None = None


# Built once: `insert(...).values(...)` per alert rebuilds the statement and its cache key.
_INSERT_ALERT = Alert.__table__.insert()  # type: ignore[attr-defined]


def raise_alert(session: Session, events: EventWriter, draft: AlertDraft) -> AlertRaised:
    """Record the alert and announce it, in the caller's transaction."""
    alert = AlertRaised(
        alert_id=new_id(),
        kind=draft.kind,
        actor_sub=draft.actor_sub,
        actor_agency=draft.actor_agency,
        person_id=draft.person_id,
        detail=draft.detail,
        raised_at=datetime.now(UTC),
    )
    session.connection().execute(
        _INSERT_ALERT,
        {
            "kind": alert.kind,
            "actor_sub": alert.actor_sub,
            "actor_agency": alert.actor_agency,
            "person_id": alert.person_id,
            "detail": alert.detail,
            "raised_at": alert.raised_at,
            "event_id": alert.alert_id,
        },
    )
    events.emit(session, alert, key=draft.person_id or draft.actor_sub or draft.kind)
    return alert


@dataclass
class _UserWindow:
    denied: deque[datetime] = field(default_factory=deque)
    persons: dict[str, datetime] = field(default_factory=dict)
    denied_alerted_at: datetime | None = None
    persons_alerted_at: datetime | None = None


def _drop_seen_before(persons: dict[str, datetime], cutoff: datetime) -> None:
    """Forget the front of a window kept in order of sighting, up to the first recent one."""
    stale = []
    for person, seen in persons.items():
        if seen >= cutoff:
            break
        stale.append(person)
    for person in stale:
        del persons[person]


class AlertRules:
    """Turns appended entries into alerts (thresholds from AuditSettings)."""

    def __init__(self, settings: AuditSettings) -> None:
        self.settings = settings
        self.denied_window = timedelta(seconds=settings.denied_window_seconds)
        self.persons_window = timedelta(seconds=settings.many_persons_window_seconds)
        self.users: dict[str, _UserWindow] = {}

    def observe(self, entries: Iterable[dict[str, Any]]) -> list[AlertDraft]:
        drafts: list[AlertDraft] = []
        for entry in entries:
            when = datetime.fromisoformat(entry["occurred_at"])
            actor = entry["actor"]
            if entry["basis"].get("break_glass"):
                drafts.append(self._break_glass(entry))
            if entry["decision"] == "denied":
                drafts.extend(self._denied(actor, when))
            if entry["person_id"] and entry["decision"] == "permitted":
                drafts.extend(self._person_read(actor, entry["person_id"], when))
        if len(self.users) > 10_000:
            self._forget_idle()
        return drafts

    def _break_glass(self, entry: dict[str, Any]) -> AlertDraft:
        return AlertDraft(
            "break_glass",
            {
                "position": entry["position"],
                "action": entry["action"],
                "purpose": entry["purpose"],
                "justification": entry["basis"]["break_glass"],
                "service": entry["service"],
            },
            entry["actor"]["sub"],
            entry["actor"]["agency"],
            entry["person_id"],
        )

    def _denied(self, actor: dict[str, Any], when: datetime) -> list[AlertDraft]:
        user = self.users.setdefault(actor["sub"], _UserWindow())
        user.denied.append(when)
        while user.denied and user.denied[0] < when - self.denied_window:
            user.denied.popleft()
        recent = user.denied_alerted_at and user.denied_alerted_at > when - self.denied_window
        if len(user.denied) < self.settings.denied_threshold or recent:
            return []
        user.denied_alerted_at = when
        detail = {
            "denied": len(user.denied),
            "window_seconds": int(self.denied_window.total_seconds()),
        }
        return [AlertDraft("denied_attempts", detail, actor["sub"], actor["agency"])]

    def _person_read(self, actor: dict[str, Any], person: str, when: datetime) -> list[AlertDraft]:
        user = self.users.setdefault(actor["sub"], _UserWindow())
        # Kept in order of last sighting, so the stale ones are at the front: re-reading a
        # person moves them to the back.
        user.persons.pop(person, None)
        user.persons[person] = when
        threshold = self.settings.many_persons_threshold
        if len(user.persons) < threshold:
            return []
        cutoff = when - self.persons_window
        _drop_seen_before(user.persons, cutoff)
        recent = user.persons_alerted_at and user.persons_alerted_at > cutoff
        if len(user.persons) < threshold or recent:
            return []
        # Sources interleave, so sightings are only nearly in time order: count exactly (this
        # runs only when an alert is about to be raised, not for every read in a busy window).
        user.persons = {p: t for p, t in user.persons.items() if t >= cutoff}
        if len(user.persons) < threshold:
            return []
        user.persons_alerted_at = when
        detail = {
            "distinct_persons": len(user.persons),
            "window_seconds": int(self.persons_window.total_seconds()),
        }
        return [AlertDraft("many_persons", detail, actor["sub"], actor["agency"])]

    def _forget_idle(self) -> None:
        self.users = {sub: u for sub, u in self.users.items() if u.denied or len(u.persons) > 1}
