"""Asking consent how current each person's policy state is, for many reads in one call.

P6 needs, for every recipient read, a revision that consent computed after the read began.
Reads that arrive while a call is in flight wait for it to finish and then go together in the
next call, which is sent only after each of them queued: every answer is still fresh for
every read it serves. Under load this is one call per batch instead of one per read; a read
on its own costs one call, as before. A failed call fails every read it carried (fail
closed): none of them discloses. The call's span links every read it served, so each read's
trace shows the check that cleared it.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from concurrent.futures import Future

from opentelemetry import trace

from shared.app import ServiceContext

Fetch = Callable[[list[str]], dict[str, int]]


class Waiter(Future[int]):
    """One read's place in the next call, and the trace it belongs to."""

    def __init__(self) -> None:
        super().__init__()
        self.span = trace.get_current_span().get_span_context()


class RevisionBatcher:
    def __init__(
        self, fetch: Fetch, max_batch: int = 100, tracer: trace.Tracer | None = None
    ) -> None:
        self._fetch = fetch
        self._max_batch = max_batch
        self._tracer = tracer or trace.get_tracer(__name__)
        self._changed = threading.Condition()
        self._waiting: dict[str, list[Waiter]] = {}
        self._in_flight = False

    def revision(self, person_id: str) -> int:
        """The person's revision, from a call sent after this method was entered."""
        mine = Waiter()
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

    def _take(self) -> dict[str, list[Waiter]]:
        persons = list(self._waiting)[: self._max_batch]
        return {p: self._waiting.pop(p) for p in persons}

    def _call(self, batch: dict[str, list[Waiter]]) -> None:
        reads = [w.span for waiters in batch.values() for w in waiters]
        try:
            with self._tracer.start_as_current_span(
                "consent revision check",
                links=[trace.Link(span) for span in reads if span.is_valid],
                attributes={"casebridge.reads": len(reads), "casebridge.persons": len(batch)},
            ):
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
