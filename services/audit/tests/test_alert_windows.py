"""The per-user alert windows, as pure logic: exact counts on the entries' own times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.audit.alerts import AlertRules
from services.audit.settings import AuditSettings

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def read(person: str, minute: float, sub: str = "mo") -> dict[str, Any]:
    return {
        "position": 1,
        "occurred_at": (T0 + timedelta(minutes=minute)).isoformat(),
        "actor": {"sub": sub, "agency": "housing", "roles": ["caseworker"]},
        "basis": {},
        "decision": "permitted",
        "person_id": person,
        "action": "referral.case.read",
        "purpose": "integrated_care",
        "service": "referral",
    }


def rules(threshold: int = 3, window_minutes: int = 10) -> AlertRules:
    return AlertRules(
        AuditSettings(
            many_persons_threshold=threshold, many_persons_window_seconds=window_minutes * 60
        )
    )


def test_distinct_persons_within_the_window_raise_one_alert():
    drafts = rules().observe([read("a", 0), read("b", 1), read("c", 2), read("d", 3)])
    assert [(d.kind, d.actor_sub, d.detail["distinct_persons"]) for d in drafts] == [
        ("many_persons", "mo", 3)
    ]


def test_rereading_one_person_does_not_count_twice():
    assert rules().observe([read("a", 0), read("a", 1), read("b", 2), read("a", 3)]) == []


def test_reads_spread_wider_than_the_window_raise_nothing():
    assert rules().observe([read("a", 0), read("b", 6), read("c", 12), read("d", 18)]) == []


def test_a_rereading_keeps_a_person_in_the_window():
    # a at 0 and again at 9: still within ten minutes of c at 15, with b at 8.
    drafts = rules().observe([read("a", 0), read("b", 8), read("a", 9), read("c", 15)])
    assert [d.detail["distinct_persons"] for d in drafts] == [3]


def test_a_late_arrival_is_counted_by_its_own_time():
    # a arrives after c but happened at minute 0: outside the window ending at b's minute 14.
    assert rules().observe([read("c", 12), read("a", 0), read("b", 14)]) == []
    drafts = rules().observe([read("c", 12), read("a", 0), read("b", 14), read("d", 15)])
    assert [d.detail["distinct_persons"] for d in drafts] == [3]


def test_users_are_counted_apart_and_alerted_once_per_window():
    window = rules()
    first = window.observe([read(p, i, sub="mo") for i, p in enumerate("abcdef")])
    others = window.observe([read(p, 6 + i, sub="jo") for i, p in enumerate("ab")])
    again = window.observe([read("g", 20, sub="mo"), read("h", 21, sub="mo")])
    later = window.observe([read("i", 22, sub="mo")])
    assert [d.actor_sub for d in first] == ["mo"]
    assert others == []
    assert again == []  # two in the window after the first alert's window closed
    assert [d.detail["distinct_persons"] for d in later] == [3]
