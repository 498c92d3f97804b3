"""Asking consent how current each person's policy state is, for many reads in one call.

P6 needs, for every recipient read, a revision that consent computed after the read began.
Reads that arrive while a call is in flight wait for it to finish and then go together in the
next call, which is sent only after each of them queued: every answer is still fresh for
every read it serves. Under load this is one call per batch instead of one per read; a read
on its own costs one call, as before. A failed call fails every read it carried (fail
closed): none of them discloses.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from concurrent.futures import Future

from shared.app import ServiceContext

Fetch = Callable[[list[str]], dict[str, int]]


class RevisionBatcher:
    def __init__(self, fetch: Fetch, max_batch: int = 100) -> None:
        self._fetch = fetch
        self._max_batch = max_batch
        self._changed = threading.Condition()
        self._waiting: dict[str, list[Future[int]]] = {}
        self._in_flight = False

    def revision(self, person_id: str) -> int:
        """The person's revision, from a call sent after this method was entered."""
        mine: Future[int] = Future()
        with self._changed:
            self._waiting.setdefault(person_id, []).append(mine)
        while not mine.done():
            with self._changed:
                while self._in_flight and not mine.done():
                    self._changed.wait()
                if mine.done():
                    break
                self._in_flight = True  # ours is still waiting: we make the next call
                batch = self._take()
            self._call(batch)
        return mine.result()

    def _take(self) -> dict[str, list[Future[int]]]:
        persons = list(self._waiting)[: self._max_batch]
        return {p: self._waiting.pop(p) for p in persons}

    def _call(self, batch: dict[str, list[Future[int]]]) -> None:
        try:
            answers = self._fetch(list(batch))
            for person, futures in batch.items():
                for future in futures:
                    future.set_result(answers[person])
        except BaseException as exc:  # noqa: BLE001 - every read it carried must fail
            for futures in batch.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(copy.copy(exc))
        finally:
            with self._changed:
                self._in_flight = False
                self._changed.notify_all()


def revision_batcher(ctx: ServiceContext, fetch: Fetch) -> RevisionBatcher:
    batcher = ctx.state.get("revision_batcher")
    if batcher is None:
        batcher = ctx.state.setdefault("revision_batcher", RevisionBatcher(fetch))
    return batcher  # type: ignore[no-any-return]
