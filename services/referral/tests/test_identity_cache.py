"""The pseudonym cache never keeps an answer that may predate a merge or unmerge."""

from __future__ import annotations

import pytest

from services.referral.identity_cache import IdentityCache

KEY = ("resolve", "housing", "psn_A")


def test_answers_from_memory_until_cleared() -> None:
    cache, calls = IdentityCache(), []

    def fetch() -> str:
        calls.append(1)
        return f"person-{len(calls)}"

    assert cache.get(KEY, fetch) == "person-1"
    assert cache.get(KEY, fetch) == "person-1"
    cache.clear()
    assert cache.get(KEY, fetch) == "person-2"
    assert len(calls) == 2


def test_answer_fetched_across_a_clear_is_not_kept() -> None:
    cache = IdentityCache()

    def fetch_during_merge() -> str:
        cache.clear()  # the projection applies a merge while identity is being asked
        return "person-before-merge"

    assert cache.get(KEY, fetch_during_merge) == "person-before-merge"
    assert cache.get(KEY, lambda: "survivor") == "survivor"


def test_forget_drops_one_answer_and_failures_are_not_kept() -> None:
    cache = IdentityCache()
    other = ("resolve", "housing", "psn_B")
    cache.get(KEY, lambda: "a")
    cache.get(other, lambda: "b")
    cache.forget(KEY)
    assert cache.get(KEY, lambda: "a2") == "a2"
    assert cache.get(other, lambda: "b2") == "b"

    def unreachable() -> str:
        raise RuntimeError("identity down")

    missing = ("pseudonym", "council-asc", "p1")
    with pytest.raises(RuntimeError):
        cache.get(missing, unreachable)
    assert cache.get(missing, lambda: "psn_X") == "psn_X"
