"""Which records a consumer takes: the types it acts on, judged by the `ce_type` header before
any transaction; and only a consumer that takes every type may call a missing number a gap."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord

from services.partner.routing.consumer import PartnerRouter
from services.referral.projection import ReferralProjection
from shared.events.consumer import EventConsumer

DB = None  # these consumers are never started: only their choice of records is tested


def record(event_type: str | None) -> ConsumerRecord:
    headers = [("ce_id", b"evt_1")] + ([("ce_type", event_type.encode())] if event_type else [])
    return ConsumerRecord("t", 0, 0, 0, 0, None, b"{}", None, 0, 2, headers)


def consumer(**kwargs) -> EventConsumer:
    return EventConsumer("c", ["t"], DB, None, **kwargs)  # type: ignore[arg-type]


def test_a_consumer_without_handlers_takes_every_record_and_looks_for_gaps():
    plain = consumer()
    assert plain._wanted(record("audit.access.v1"))
    assert plain._wanted(record("consent.withdrawn.v1"))
    assert plain.sees_whole_sequence


def test_a_handlers_mapping_takes_only_its_types_and_so_cannot_judge_gaps():
    follower = consumer(handlers={"identity.persons_merged.v1": lambda s, e: None})
    assert follower._wanted(record("identity.persons_merged.v1"))
    assert not follower._wanted(record("identity.record_registered.v1"))
    assert not follower._wanted(record("audit.access.v1"))
    assert not follower.sees_whole_sequence


def test_a_record_without_a_type_header_is_taken_to_be_decoded_or_dead_lettered():
    follower = consumer(handlers={"identity.persons_merged.v1": lambda s, e: None})
    assert follower._wanted(record(None))


def test_referral_follows_policy_events_and_merges_but_not_access_records():
    projection = object.__new__(ReferralProjection)
    for wanted in (
        "consent.withdrawn.v1",
        "consent.granted.v1",
        "objection.recorded.v1",
        "agreement.suspended.v1",
        "identity.persons_merged.v1",
        "identity.person_unmerged.v1",
    ):
        assert projection.wants(wanted), wanted
    for passed_over in ("audit.access.v1", "identity.record_registered.v1"):
        assert not projection.wants(passed_over), passed_over
    assert not projection.sees_whole_sequence


def test_partner_routing_takes_only_what_a_partner_may_receive():
    router = object.__new__(PartnerRouter)
    assert router.wants("referral.sent.v1")
    assert router.wants("identity.record_registered.v1")  # it learns pseudonyms from these
    assert not router.wants("audit.access.v1")
    assert not router.sees_whole_sequence
