"""Pure rules: signatures, the retry schedule, endpoint URLs, concerned agencies, payloads."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.partner.deliveries.schedule import next_attempt
from services.partner.deliveries.signing import headers, new_secret, sign, verify
from services.partner.routing.concerns import DELIVERABLE_TYPES, concerned_agencies
from services.partner.routing.payloads import partner_data, person_fields
from services.partner.routing.pseudonyms import IdentityUnavailable
from services.partner.subscriptions.urls import url_problem
from shared.events.consumer import PERMANENT_ERRORS


def test_signature_follows_standard_webhooks():
    # The Standard Webhooks reference example (its spec and test vectors).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert (
        sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_both_secrets_sign_during_an_overlap_and_verification_is_strict():
    old, new = new_secret(), new_secret()
    body = b'{"type":"referral.sent.v1"}'
    sent = headers([new, old], "msg_1", 1_700_000_000, body)
    assert len(sent["webhook-signature"].split(" ")) == 2
    assert verify(old, sent, body, now=1_700_000_000)
    assert verify(new, sent, body, now=1_700_000_000)
    assert not verify(new_secret(), sent, body, now=1_700_000_000)
    assert not verify(new, sent, body + b" ", now=1_700_000_000)
    assert not verify(new, sent, body, now=1_700_000_000 + 301)
    assert not verify(new, {**sent, "webhook-id": "msg_2"}, body, now=1_700_000_000)


def test_retries_follow_the_schedule_with_bounded_jitter_then_stop():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    schedule = [5, 300, 1800]
    rng = random.Random(7)
    for failures, wait in enumerate(schedule, start=1):
        at = next_attempt(schedule, failures, now, 0.2, rng)
        assert at is not None
        assert timedelta(seconds=wait * 0.8) <= at - now <= timedelta(seconds=wait * 1.2)
    assert next_attempt(schedule, 4, now, 0.2, rng) is None
    assert next_attempt(schedule, 2, now, 0.0) == now + timedelta(seconds=300)


@pytest.mark.parametrize(
    ("url", "env", "ok"),
    [
        ("https://crm.example.org/hooks", "production", True),
        ("http://127.0.0.1:9000/h", "test", True),
        ("http://localhost/h", "development", True),
        ("http://[::1]:8080/h", "test", True),
        ("http://127.0.0.1:9000/h", "production", False),
        ("http://crm.example.org/h", "development", False),
        ("https://user:pw@crm.example.org/h", "production", False),
        ("ftp://crm.example.org/h", "production", False),
        ("https:///nohost", "production", False),
        ("https://crm.example.org:99999/h", "production", False),
    ],
)
def test_endpoint_urls(url, env, ok):
    assert (url_problem(url, env) is None) is ok


class Remembered:
    def __init__(self, parties=None, known=None):
        self._parties = parties or {}
        self._known = known or {}

    def parties(self, subject_id):
        return set(self._parties.get(subject_id, set()))

    def agencies_knowing(self, person_ids):
        return set().union(*(self._known.get(p, set()) for p in person_ids))


def test_concerned_agencies_per_event_type():
    memory = Remembered(parties={"c1": {"police"}}, known={"p1": {"housing"}, "p2": {"gp-elm"}})
    referral = {"from_agency": "housing", "to_agency": "nhs-mh", "person_id": "p1"}
    assert concerned_agencies("referral.accepted.v1", referral, memory) == {"housing", "nhs-mh"}
    granted = {
        "consent_id": "c2",
        "agency": "client",
        "scope": {"recipients": ["police"], "recipient_types": ["health"]},
        "source_agencies": ["housing"],
        "person_id": "p1",
    }
    assert concerned_agencies("consent.granted.v1", granted, memory) == {"police", "housing"}
    withdrawn = {"consent_id": "c1", "withdrawn": {"recipients": ["dwp"]}, "person_id": "p1"}
    assert concerned_agencies("consent.withdrawn.v1", withdrawn, memory) == {"police", "dwp"}
    everyone = {"objection_id": "o1", "person_id": "p1", "scope": {"recipients": []}}
    assert concerned_agencies("objection.recorded.v1", everyone, memory) == {"housing"}
    merged = {"merge_id": "m", "survivor_person_id": "p2", "merged_person_id": "p1"}
    assert concerned_agencies("identity.persons_merged.v1", merged, memory) == {
        "housing",
        "gp-elm",
    }
    agreement = {"providers": ["police"], "recipients": ["council-csc"]}
    assert concerned_agencies("agreement.suspended.v1", agreement, memory) == {
        "police",
        "council-csc",
    }
    # Fail closed: unknown types, internal identity workflow, malformed events.
    assert concerned_agencies("referral.sent.v9", referral, memory) == set()
    assert concerned_agencies("identity.review_queued.v1", {"agency": "housing"}, memory) == set()
    assert concerned_agencies("identity.persons_merged.v1", {}, memory) == set()
    assert "audit.access.v1" not in DELIVERABLE_TYPES


def test_payloads_carry_pseudonyms_and_drop_who_decided():
    data = {
        "merge_id": "m1",
        "survivor_person_id": "p-internal-1",
        "merged_person_id": "p-internal-2",
        "decided_by": "user-7",
        "pseudonym": "psn_other",
    }
    assert person_fields(data) == ["survivor_person_id", "merged_person_id"]
    shown = partner_data(data, lambda p: f"psn_{p[-1]}")
    assert shown == {"merge_id": "m1", "survivor_person": "psn_1", "merged_person": "psn_2"}


def test_identity_outage_is_transient_for_the_consumer():
    assert not issubclass(IdentityUnavailable, PERMANENT_ERRORS)
