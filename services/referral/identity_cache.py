"""Pseudonym answers from identity, kept in memory between merges and unmerges.

A pseudonym names the same person for as long as no merge or unmerge touches it, so the
create path need not ask identity again for a client it has just resolved, nor the read path
for the recipient's pseudonym of a person it has just served. The projection clears the
cache on every merge or unmerge event (before and after its transaction commits), and an
answer fetched across a clear is not kept: it may predate the merge. This is the same
freshness as the pseudonym a referral row keeps (`recipient_person_ref`, cleared by the same
events); checks that must see identity as it is now (`upstream.confirm_person`) do not use it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from shared.app import ServiceContext

_MAX_ENTRIES = 100_000  # bounded: cleared whole when full, never evicts into a wrong answer


class IdentityCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._generation = 0
        self._entries: dict[tuple[str, str, str], str] = {}

    def get(self, key: tuple[str, str, str], fetch: Callable[[], str]) -> str:
        with self._lock:
            hit = self._entries.get(key)
            generation = self._generation
        if hit is not None:
            return hit
        value = fetch()
        with self._lock:
            if generation == self._generation:  # no merge/unmerge seen while we asked
                if len(self._entries) >= _MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key] = value
        return value

    def forget(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()


def identity_cache(ctx: ServiceContext) -> IdentityCache:
    return ctx.state.setdefault("identity_cache", IdentityCache())  # type: ignore[no-any-return]
