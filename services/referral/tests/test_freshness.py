"""The revision batcher: shared calls, but never an answer older than the read it serves."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.referral.freshness import RevisionBatcher
from shared.errors import Unavailable


class Consent:
    """A stand-in for the consent call: counts revisions and can hold a call open."""

    def __init__(self) -> None:
        self.revision = 0
        self.calls: list[list[str]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()
        self.fail = False

    def fetch(self, persons: list[str]) -> dict[str, int]:
        self.calls.append(sorted(persons))
        answer = self.revision  # the state as of the moment the call is made
        self.entered.set()
        self.hold.wait(5)
        if self.fail:
            raise Unavailable("consent is down", slug="consent-unavailable")
        return {p: answer for p in persons}


def wait_for_waiters(batcher: RevisionBatcher, n: int) -> None:
    deadline = time.monotonic() + 5
    while sum(len(f) for f in batcher._waiting.values()) < n:
        assert time.monotonic() < deadline, "readers never queued"
        time.sleep(0.001)


def test_a_read_on_its_own_makes_one_call_for_its_person():
    consent = Consent()
    batcher = RevisionBatcher(consent.fetch)
    assert batcher.revision("p1") == 0
    consent.revision = 7
    assert batcher.revision("p1") == 7  # nothing remembered between reads
    assert consent.calls == [["p1"], ["p1"]]


def test_reads_during_a_call_share_the_next_one_and_see_what_changed_before_they_began():
    consent = Consent()
    batcher = RevisionBatcher(consent.fetch)
    consent.hold.clear()
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(batcher.revision, "p1")
        assert consent.entered.wait(5)
        # A withdrawal lands after the first call read the state, before the others begin:
        consent.revision = 5
        later = [pool.submit(batcher.revision, p) for p in ("p1", "p2", "p3")]
        wait_for_waiters(batcher, 3)
        consent.hold.set()
        assert first.result(5) == 0
        assert [f.result(5) for f in later] == [5, 5, 5]
    assert consent.calls == [["p1"], ["p1", "p2", "p3"]]


def test_a_failed_call_fails_every_read_it_carried_and_the_next_read_asks_again():
    consent = Consent()
    batcher = RevisionBatcher(consent.fetch)
    consent.hold.clear()
    consent.fail = True
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(batcher.revision, "p1")
        assert consent.entered.wait(5)
        second = pool.submit(batcher.revision, "p2")
        wait_for_waiters(batcher, 1)
        consent.hold.set()
        for future in (first, second):
            with pytest.raises(Unavailable):
                future.result(5)
    consent.fail = False
    assert batcher.revision("p1") == 0
    assert len(consent.calls) == 3


def test_an_answer_missing_a_person_fails_closed():
    batcher = RevisionBatcher(lambda persons: {})
    with pytest.raises(KeyError):
        batcher.revision("p1")


def test_a_call_carries_at_most_max_batch_persons():
    consent = Consent()
    batcher = RevisionBatcher(consent.fetch, max_batch=2)
    consent.hold.clear()
    with ThreadPoolExecutor(5) as pool:
        first = pool.submit(batcher.revision, "p0")
        assert consent.entered.wait(5)
        rest = [pool.submit(batcher.revision, f"p{i}") for i in range(1, 5)]
        wait_for_waiters(batcher, 4)
        consent.hold.set()
        assert [f.result(5) for f in [first, *rest]] == [0] * 5
    assert [len(c) for c in consent.calls] == [1, 2, 2]


def test_the_shared_call_is_traced_under_its_sender_and_linked_to_every_read_it_served():
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("test")
    consent = Consent()
    batcher = RevisionBatcher(consent.fetch, tracer=tracer)

    def read(name: str, person: str) -> int:
        with tracer.start_as_current_span(name):
            return batcher.revision(person)

    consent.hold.clear()
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(read, "read 0", "p1")
        assert consent.entered.wait(5)
        later = [pool.submit(read, f"read {i}", "p2") for i in (1, 2)]
        wait_for_waiters(batcher, 2)
        consent.hold.set()
        assert [f.result(5) for f in [first, *later]] == [0, 0, 0]
    reads = {s.name: s for s in spans.get_finished_spans() if s.name.startswith("read")}
    checks = [s for s in spans.get_finished_spans() if s.name == "consent revision check"]
    linked = [{link.context.span_id for link in c.links} for c in checks]
    assert linked == [
        {reads["read 0"].context.span_id},
        {reads["read 1"].context.span_id, reads["read 2"].context.span_id},
    ]
    senders = {s.context.span_id: s for s in reads.values()}
    for check, served in zip(checks, linked, strict=True):
        assert check.parent is not None and check.parent.span_id in served  # one of its reads
        assert check.context.trace_id == senders[check.parent.span_id].context.trace_id
    assert [c.attributes["casebridge.reads"] for c in checks] == [1, 2]
