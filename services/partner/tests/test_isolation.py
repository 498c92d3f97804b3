"""Least disclosure, as a property: over many generated events, a partner of agency A only
ever receives events that concern A, with persons only under A's pseudonym.

Routing runs for real (the partner's database, migrations applied); only identity's pseudonym
lookup is replaced by a keyed hash of the same shape, so the test can tell whose pseudonym a
payload carries.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from services.partner.deliveries.models import Delivery
from services.partner.partners.models import Partner
from services.partner.routing.concerns import DELIVERABLE_TYPES
from services.partner.routing.fanout import route_events
from services.partner.routing.models import Notification
from services.partner.routing.pseudonyms import IdentityUnavailable, Pseudonyms
from services.partner.subscriptions.models import WebhookEndpoint
from shared.db import Database
from shared.events.envelope import CloudEvent, utcnow
from shared.migrations import upgrade
from shared.vocabulary import load_vocabulary

AGENCIES = sorted(a.id for a in load_vocabulary().agencies)
PERSONS = [f"person-{n:02d}-internal" for n in range(8)]
REFERRAL_CHANGES = ["sent", "accepted", "declined", "withdrawn", "revoked"]


def fake_pseudonym(agency: str, person_id: str) -> str:
    return "psn_" + hashlib.sha256(f"{agency}|{person_id}".encode()).hexdigest()[:26]


OWNER = {fake_pseudonym(a, p): a for a in AGENCIES for p in PERSONS}

agency = st.sampled_from(AGENCIES)
person = st.sampled_from(PERSONS)
agencies = st.lists(agency, max_size=3, unique=True)


def _referral(change: str, frm: str, to: str, who: str) -> tuple[str, dict[str, Any]]:
    return f"referral.{change}.v1", {
        "referral_id": f"ref-{frm}-{to}",
        "from_agency": frm,
        "to_agency": to,
        "person_id": who,
    }


events = st.one_of(
    st.builds(_referral, st.sampled_from(REFERRAL_CHANGES), agency, agency, person),
    st.builds(
        lambda cid, by, rec, src, who: (
            "consent.granted.v1",
            {
                "consent_id": f"c{cid}",
                "version": 1,
                "person_id": who,
                "agency": by,
                "scope": {"purposes": [], "categories": [], "recipients": rec},
                "source_agencies": src,
                "revision": 1,
            },
        ),
        st.integers(0, 4),
        st.one_of(agency, st.just("client")),
        agencies,
        agencies,
        person,
    ),
    st.builds(
        lambda kind, cid, rec, who: (
            f"consent.{kind}.v1",
            {
                "consent_id": f"c{cid}",
                "version": 2,
                "person_id": who,
                "whole": True,
                "withdrawn": {"recipients": rec},
                "revision": 2,
            },
        ),
        st.sampled_from(["withdrawn", "renewed", "expired"]),
        st.integers(0, 4),
        agencies,
        person,
    ),
    st.builds(
        lambda rec, who: (
            "objection.recorded.v1",
            {
                "objection_id": "o1",
                "person_id": who,
                "kind": "objection",
                "scope": {"recipients": rec},
                "revision": 3,
            },
        ),
        agencies,
        person,
    ),
    st.builds(
        lambda kind, prov, rec: (
            f"agreement.{kind}.v1",
            {"agreement_id": "a1", "providers": prov, "recipients": rec, "revision": 4},
        ),
        st.sampled_from(["activated", "suspended", "expired"]),
        agencies,
        agencies,
    ),
    st.builds(
        lambda frm, to, who: (
            "consent.break_glass_used.v1",
            {
                "grant_id": "g1",
                "person_id": who,
                "disclosing_agency": frm,
                "recipient_agency": to,
                "granted_by": "user-9",
                "revision": 5,
            },
        ),
        agency,
        agency,
        person,
    ),
    st.builds(
        lambda a, b: (
            "identity.persons_merged.v1",
            {"merge_id": "m1", "survivor_person_id": a, "merged_person_id": b},
        ),
        person,
        person,
    ),
    st.builds(
        lambda by, who: (
            "identity.record_registered.v1",
            {
                "record_id": "r1",
                "agency": by,
                "person_id": who,
                "pseudonym": fake_pseudonym(by, who),
                "created": True,
            },
        ),
        agency,
        person,
    ),
)


class World:
    """What a reader of the rules expects, kept beside the real routing."""

    def __init__(self) -> None:
        self.consent_parties: dict[str, set[str]] = defaultdict(set)
        self.told: dict[str, set[str]] = defaultdict(set)  # person -> agencies told

    def named(self, event_type: str, data: dict[str, Any]) -> set[str]:
        """The agencies an event names (directly, or through what came before it)."""
        named: set[str] = set()
        for key in ("from_agency", "to_agency", "agency", "disclosing_agency", "recipient_agency"):
            if isinstance(data.get(key), str):
                named.add(data[key])
        for key in ("source_agencies", "providers", "recipients"):
            named.update(data.get(key, []))
        for key in ("scope", "withdrawn"):
            named.update(data.get(key, {}).get("recipients", []))
        if event_type.startswith("consent.") and event_type != "consent.granted.v1":
            named |= self.consent_parties.get(data.get("consent_id", ""), set())
        if event_type == "identity.persons_merged.v1" or (
            event_type == "objection.recorded.v1" and not data["scope"]["recipients"]
        ):
            for key in ("person_id", "survivor_person_id", "merged_person_id"):
                named |= self.told.get(data.get(key, ""), set())
        named.discard("client")
        return named

    def after(self, event_type: str, data: dict[str, Any], told_now: set[str]) -> None:
        if event_type == "consent.granted.v1":
            self.consent_parties[data["consent_id"]] |= self.named(event_type, data)
        for key in ("person_id", "survivor_person_id", "merged_person_id"):
            if isinstance(data.get(key), str):
                self.told[data[key]] |= told_now
        if event_type == "identity.persons_merged.v1":
            self.told[data["survivor_person_id"]] |= self.told[data["merged_person_id"]]


@pytest.fixture
def routing_db(tmp_path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path.as_posix()}/partner.db")
    upgrade(db, "partner")
    now = utcnow()
    with db.session() as s:
        for n, a in enumerate(AGENCIES):
            s.add(
                Partner(
                    id=f"prt_{a}",
                    agency=a,
                    name=a,
                    allowed_types=sorted(DELIVERABLE_TYPES),
                    client_id=f"cli_{n}",
                    secret_hash="x",
                    created_by="t",
                    created_at=now,
                )
            )
            s.add(
                WebhookEndpoint(
                    id=f"ep_{a}",
                    partner_id=f"prt_{a}",
                    url="https://x.example",
                    event_types=sorted(DELIVERABLE_TYPES),
                    created_at=now,
                )
            )
        # A second housing partner allowed referrals only; and a revoked police partner.
        s.add(
            Partner(
                id="prt_housing_refs",
                agency="housing",
                name="refs",
                allowed_types=["referral.sent.v1"],
                client_id="cli_refs",
                secret_hash="x",
                created_by="t",
                created_at=now,
            )
        )
        s.add(
            Partner(
                id="prt_police_old",
                agency="police",
                name="old",
                status="revoked",
                allowed_types=sorted(DELIVERABLE_TYPES),
                client_id="cli_old",
                secret_hash="x",
                created_by="t",
                created_at=now,
            )
        )
    yield db
    db.dispose()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(events, min_size=1, max_size=12))
def test_a_partner_only_receives_events_of_its_own_agency(routing_db, batch):
    world = getattr(routing_db, "world", None) or World()
    routing_db.world = world  # type: ignore[attr-defined]
    pseudonyms = Pseudonyms(fake_pseudonym)
    cloud = [CloudEvent(source="/casebridge/test", type=t, data=d) for t, d in batch]
    with routing_db.session() as s:
        made = route_events(s, cloud, pseudonyms)
        by_event: dict[str, list[Notification]] = defaultdict(list)
        for n in made:
            by_event[n.event_id].append(n)
        partners = {p.id: p for p in s.exec(select(Partner)).all()}
        for event in cloud:
            expected = world.named(event.type, event.data)
            told_now: set[str] = set()
            for n in by_event.get(event.id, []):
                partner = partners[n.partner_id]
                assert partner.status == "active"
                assert n.agency == partner.agency
                assert partner.agency in expected, (event.type, event.data, partner.agency)
                assert event.type in partner.allowed_types
                body = n.body
                assert not any(p in body for p in PERSONS), body
                shown = json.loads(body)["data"]
                names = [v for k, v in shown.items() if k.endswith("person")]
                assert all(OWNER[v] == partner.agency for v in names), (shown, partner.agency)
                assert "granted_by" not in shown and "pseudonym" not in shown
                told_now.add(partner.agency)
            world.after(event.type, event.data, told_now)
        sequences = s.exec(
            select(Delivery.endpoint_id, Delivery.sequence).order_by(col(Delivery.id))
        ).all()
        per_endpoint: dict[str, list[int]] = defaultdict(list)
        for endpoint_id, sequence in sequences:
            per_endpoint[endpoint_id].append(sequence)
        for seqs in per_endpoint.values():
            assert seqs == list(range(1, len(seqs) + 1))


def test_without_identity_nothing_is_routed_and_the_batch_is_retried(routing_db):
    def unreachable(agency: str, person_id: str) -> str | None:
        raise IdentityUnavailable("identity unreachable")

    event = CloudEvent(
        source="/casebridge/referral",
        type="referral.sent.v1",
        data={
            "referral_id": "r",
            "from_agency": "housing",
            "to_agency": "police",
            "person_id": PERSONS[0],
        },
    )
    with pytest.raises(IdentityUnavailable), routing_db.session() as s:
        route_events(s, [event], Pseudonyms(unreachable))
    with routing_db.session() as s:
        assert s.exec(select(Notification)).all() == []
        assert s.exec(select(Delivery)).all() == []
