"""Webhooks end to end: events on the real broker, identity for pseudonyms, a real receiver."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.partner.deliveries.signing import verify
from services.partner.tests.conftest import (
    new_person,
    pseudonym_for,
    publish,
    register_partner,
    subscribe,
)
from shared.db import Database
from shared.events.tables import outbox
from shared.testing import auth, wait_until

REFERRALS = [
    "referral.sent.v1",
    "referral.accepted.v1",
    "referral.progressed.v1",
    "referral.completed.v1",
]


def referral_id(person_id: str, n: int = 1) -> str:
    """A referral id that differs per person without carrying the person id: from the id's
    random end (its start is the time it was made, shared by persons made together)."""
    return f"ref-{person_id[-8:]}-{n}"


def referral(change: str, person_id: str, from_agency: str, to_agency: str, n: int = 1):
    data = {
        "referral_id": referral_id(person_id, n),
        "from_agency": from_agency,
        "to_agency": to_agency,
        "person_id": person_id,
    }
    if change == "progressed":
        data["status"] = "in_progress"
    if change == "completed":
        data["outcome"] = "support_provided"
    return (f"referral.{change}.v1", data, person_id)


def deliveries(client, partner, endpoint):
    page = client.get(f"/endpoints/{endpoint['id']}/deliveries", headers=auth(partner["access"]))
    assert page.status_code == 200, page.text
    return page.json()["items"]


def test_signed_webhook_carries_the_agencys_pseudonym_in_order(
    partner, partner_settings, identity, token, receiver
):
    person_id, housing_name = new_person(identity.url("identity"), token, "housing", "h1")
    housing = register_partner(partner, token, "housing", REFERRALS)
    endpoint = subscribe(partner, housing, receiver.url("/housing"), REFERRALS)
    police = register_partner(partner, token, "police", REFERRALS)
    subscribe(partner, police, receiver.url("/police"), REFERRALS)

    publish(
        partner_settings,
        "referral",
        [
            referral("sent", person_id, "housing", "council-asc"),
            referral("accepted", person_id, "housing", "council-asc"),
        ],
    )
    got = wait_until(lambda: len(receiver.at("/housing")) >= 2 and receiver.at("/housing"))
    now = int(time.time())
    for request in got:
        assert verify(endpoint["secret"], request.headers, request.body, now=now)
        assert not verify(endpoint["secret"], request.headers, request.body + b" ", now=now)
        assert person_id.encode() not in request.body
    bodies = [r.json for r in got]
    assert [b["type"] for b in bodies] == ["referral.sent.v1", "referral.accepted.v1"]
    assert [b["sequence"] for b in bodies] == [1, 2]
    assert [r.headers["webhook-id"] for r in got] == [b["id"] for b in bodies]
    assert bodies[0]["subject"] == housing_name
    assert bodies[0]["data"] == {
        "referral_id": referral_id(person_id),
        "from_agency": "housing",
        "to_agency": "council-asc",
        "person": housing_name,
    }

    feed = partner.get("/feed", headers=auth(housing["access"])).json()
    assert [i["id"] for i in feed["items"]] == [b["id"] for b in bodies]
    assert all("sequence" not in i for i in feed["items"])
    more = partner.get(
        "/feed", params={"after": feed["next_cursor"]}, headers=auth(housing["access"])
    ).json()
    assert more["items"] == [] and more["next_cursor"] == feed["next_cursor"]
    # Police is not a party: nothing in its feed (made in the same transaction as housing's).
    assert partner.get("/feed", headers=auth(police["access"])).json()["items"] == []
    assert receiver.at("/police") == []

    logged = wait_until(
        lambda: (
            (d := deliveries(partner, housing, endpoint))
            and all(x["status"] == "delivered" for x in d)
            and d
        )
    )
    assert [d["sequence"] for d in logged] == [1, 2]
    detail = partner.get(f"/deliveries/{logged[0]['id']}", headers=auth(housing["access"]))
    assert detail.json()["payload"] == bodies[0]
    assert [a["status_code"] for a in detail.json()["attempt_log"]] == [200]
    # Another partner may not read this delivery.
    assert (
        partner.get(f"/deliveries/{logged[0]['id']}", headers=auth(police["access"])).status_code
        == 404
    )


def test_failing_receiver_is_retried_then_dead_lettered_and_replayed(
    partner, partner_settings, identity, token, receiver
):
    started = datetime.now(UTC) - timedelta(seconds=1)
    person_id, _ = new_person(identity.url("identity"), token, "council-asc", "c1")
    asc = register_partner(partner, token, "council-asc", REFERRALS)
    endpoint = subscribe(partner, asc, receiver.url("/down"), REFERRALS)
    receiver.answers["/down"] = [500]

    publish(partner_settings, "referral", [referral("sent", person_id, "housing", "council-asc")])
    dead = wait_until(
        lambda: (d := deliveries(partner, asc, endpoint)) and d[0]["status"] == "dead" and d[0]
    )
    # The first attempt and one retry per step of the (fast) schedule.
    assert dead["attempts"] == 3
    assert len(receiver.at("/down")) == 3
    assert len({r.headers["webhook-id"] for r in receiver.at("/down")}) == 1
    detail = partner.get(f"/deliveries/{dead['id']}", headers=auth(asc["access"])).json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 500, 500]

    receiver.answers["/down"] = [200]
    replayed = partner.post(f"/deliveries/{dead['id']}/replay", headers=auth(asc["access"]))
    assert replayed.status_code == 202
    wait_until(lambda: deliveries(partner, asc, endpoint)[0]["status"] == "delivered")
    assert [r.status for r in receiver.at("/down")] == [500, 500, 500, 200]
    assert receiver.at("/down")[-1].json["id"] == detail["payload"]["id"]

    # A range: two more dead letters, replayed together.
    receiver.answers["/down"] = [500]
    publish(
        partner_settings,
        "referral",
        [
            referral("accepted", person_id, "housing", "council-asc"),
            referral("progressed", person_id, "housing", "council-asc"),
        ],
    )
    wait_until(
        lambda: (
            [d["status"] for d in deliveries(partner, asc, endpoint)]
            == ["delivered", "dead", "dead"]
        )
    )
    receiver.answers["/down"] = [200]
    bad_range = partner.post(
        f"/endpoints/{endpoint['id']}/replay",
        json={"since": started.isoformat(), "until": started.isoformat()},
        headers=auth(asc["access"]),
    )
    assert bad_range.status_code == 422
    ranged = partner.post(
        f"/endpoints/{endpoint['id']}/replay",
        json={"since": started.isoformat()},
        headers=auth(asc["access"]),
    )
    assert ranged.status_code == 202 and ranged.json() == {"replayed": 2}
    wait_until(
        lambda: [d["status"] for d in deliveries(partner, asc, endpoint)] == ["delivered"] * 3
    )
    ok = [r.json["sequence"] for r in receiver.at("/down", ok_only=True)]
    assert ok == [1, 2, 3]


def test_an_endpoint_that_keeps_failing_is_disabled_with_an_event(
    fast, settings, identity, token, receiver
):
    from shared.testing import service_client

    fast(disable_after_failures=3, retry_schedule_seconds="[0.05, 0.05, 0.05, 0.05, 0.05]")
    configured = settings.model_copy(update={"identity_url": identity.url("identity")})
    person_id, _ = new_person(identity.url("identity"), token, "housing", "d1")
    with service_client("partner", configured) as partner:
        housing = register_partner(partner, token, "housing", REFERRALS)
        endpoint = subscribe(partner, housing, receiver.url("/flaky"), REFERRALS)
        receiver.answers["/flaky"] = [503]
        publish(configured, "referral", [referral("sent", person_id, "housing", "police")])
        disabled = wait_until(
            lambda: (
                (
                    e := partner.get(
                        f"/endpoints/{endpoint['id']}", headers=auth(housing["access"])
                    ).json()
                )["status"]
                == "disabled"
                and e
            )
        )
        assert disabled["consecutive_failures"] == 3
        # Disabled: no more attempts, the delivery waits.
        time.sleep(0.5)
        assert len(receiver.at("/flaky")) == 3
        assert deliveries(partner, housing, endpoint)[0]["status"] == "retrying"

        db = Database(configured.database_url_for("partner"))
        try:
            with db.session() as s:
                types = [
                    e
                    for e in s.execute(select(outbox.c.envelope)).scalars()
                    if "partner.endpoint_disabled.v1" in e
                ]
        finally:
            db.dispose()
        assert len(types) == 1 and endpoint["id"] in types[0]

        receiver.answers["/flaky"] = [200]
        enabled = partner.post(
            f"/endpoints/{endpoint['id']}/enable", headers=auth(housing["access"])
        )
        assert enabled.json()["status"] == "active"
        wait_until(lambda: deliveries(partner, housing, endpoint)[0]["status"] == "delivered")


def test_one_persons_events_arrive_in_order_while_a_delivery_is_retried(
    partner, partner_settings, identity, token, receiver
):
    p, _ = new_person(identity.url("identity"), token, "police", "p1")
    q, _ = new_person(identity.url("identity"), token, "police", "q1")
    police = register_partner(partner, token, "police", REFERRALS)
    subscribe(partner, police, receiver.url("/ordered"), REFERRALS)
    # P's first event fails twice; everything else succeeds.
    failures = [500, 500]

    def fail_p_first_twice(body: dict[str, object]) -> int:
        data = body["data"]
        assert isinstance(data, dict)
        if data["referral_id"] == referral_id(p) and body["type"] == "referral.sent.v1":
            return failures.pop() if failures else 200
        return 200

    receiver.rules["/ordered"] = fail_p_first_twice
    publish(
        partner_settings,
        "referral",
        [
            referral("sent", p, "police", "probation"),
            referral("accepted", p, "police", "probation"),
            referral("sent", q, "police", "probation"),
            referral("progressed", p, "police", "probation"),
            referral("completed", p, "police", "probation"),
        ],
    )
    wait_until(lambda: len(receiver.at("/ordered", ok_only=True)) == 5)
    requests = receiver.at("/ordered")
    p_name = pseudonym_for(identity.url("identity"), token, "police", p)
    of_p = [(r.json["type"], r.status) for r in requests if r.json["subject"] == p_name]
    assert of_p == [
        ("referral.sent.v1", 500),
        ("referral.sent.v1", 500),
        ("referral.sent.v1", 200),
        ("referral.accepted.v1", 200),
        ("referral.progressed.v1", 200),
        ("referral.completed.v1", 200),
    ]
    sequences = sorted(r.json["sequence"] for r in receiver.at("/ordered", ok_only=True))
    assert sequences == [1, 2, 3, 4, 5]


def test_a_revoked_partner_receives_nothing_more(
    partner, partner_settings, identity, token, receiver
):
    person_id, _ = new_person(identity.url("identity"), token, "housing", "r1")
    housing = register_partner(partner, token, "housing", REFERRALS)
    subscribe(partner, housing, receiver.url("/revoked"), REFERRALS)
    witness = register_partner(partner, token, "council-asc", REFERRALS)
    subscribe(partner, witness, receiver.url("/witness"), REFERRALS)

    publish(partner_settings, "referral", [referral("sent", person_id, "housing", "council-asc")])
    wait_until(lambda: receiver.at("/revoked") and receiver.at("/witness"))
    revoked = partner.post(
        f"/partners/{housing['id']}/revoke", headers=auth(token("ig_officer", agency="housing"))
    )
    assert revoked.status_code == 200
    publish(
        partner_settings,
        "referral",
        [referral("accepted", person_id, "housing", "council-asc")],
    )
    wait_until(lambda: len(receiver.at("/witness")) == 2)
    time.sleep(0.3)
    assert [r.json["type"] for r in receiver.at("/revoked")] == ["referral.sent.v1"]
    assert partner.get("/feed", headers=auth(housing["access"])).status_code == 403


def test_secret_rotation_keeps_deliveries_valid_across_the_overlap(
    fast, settings, identity, token, receiver
):
    from shared.testing import service_client

    fast(secret_overlap_seconds=2)
    configured = settings.model_copy(update={"identity_url": identity.url("identity")})
    person_id, _ = new_person(identity.url("identity"), token, "nhs-mh", "m1")
    with service_client("partner", configured) as partner:
        nhs = register_partner(partner, token, "nhs-mh", REFERRALS)
        endpoint = subscribe(partner, nhs, receiver.url("/rotating"), REFERRALS)
        old = endpoint["secret"]

        def deliver(change: str, count: int):
            publish(configured, "referral", [referral(change, person_id, "housing", "nhs-mh")])
            return wait_until(
                lambda: len(receiver.at("/rotating")) == count and receiver.at("/rotating")[-1]
            )

        first = deliver("sent", 1)
        assert len(first.headers["webhook-signature"].split(" ")) == 1
        rotated = partner.post(
            f"/endpoints/{endpoint['id']}/secret/rotate", headers=auth(nhs["access"])
        )
        assert rotated.status_code == 200
        new = rotated.json()["secret"]
        assert new != old and new.startswith("whsec_")

        during = deliver("accepted", 2)
        now = int(time.time())
        assert len(during.headers["webhook-signature"].split(" ")) == 2
        assert verify(old, during.headers, during.body, now=now)
        assert verify(new, during.headers, during.body, now=now)

        expires = datetime.fromisoformat(rotated.json()["previous_expires_at"])
        time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.2)
        after = deliver("progressed", 3)
        now = int(time.time())
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        assert verify(new, after.headers, after.body, now=now)
        assert not verify(old, after.headers, after.body, now=now)


def test_merges_reach_only_agencies_that_knew_the_person(
    partner, partner_settings, identity, token, receiver
):
    url = identity.url("identity")
    merged, housing_name = new_person(url, token, "housing", "m-a")
    survivor, _ = new_person(url, token, "police", "m-b")
    types = [*REFERRALS, "identity.persons_merged.v1"]
    housing = register_partner(partner, token, "housing", types)
    subscribe(partner, housing, receiver.url("/housing-merges"), types)
    school = register_partner(partner, token, "school-oak", types)
    subscribe(partner, school, receiver.url("/school-merges"), types)

    publish(partner_settings, "referral", [referral("sent", merged, "housing", "council-asc")])
    wait_until(lambda: receiver.at("/housing-merges"))
    publish(
        partner_settings,
        "identity",
        [
            (
                "identity.persons_merged.v1",
                {"merge_id": "mrg-1", "survivor_person_id": survivor, "merged_person_id": merged},
                survivor,
            )
        ],
    )
    got = wait_until(
        lambda: len(receiver.at("/housing-merges")) == 2 and receiver.at("/housing-merges")
    )
    data = got[1].json["data"]
    assert data == {
        "merge_id": "mrg-1",
        "survivor_person": pseudonym_for(url, token, "housing", survivor),
        "merged_person": housing_name,
    }
    assert receiver.at("/school-merges") == []
    assert partner.get("/feed", headers=auth(school["access"])).json()["items"] == []


def test_while_identity_is_down_nothing_is_sent_and_it_is_delivered_later(
    partner, partner_settings, identity, token, receiver
):
    person_id, housing_name = new_person(identity.url("identity"), token, "housing", "o1")
    housing = register_partner(partner, token, "housing", REFERRALS)
    subscribe(partner, housing, receiver.url("/later"), REFERRALS)
    identity.stop()
    try:
        publish(partner_settings, "referral", [referral("sent", person_id, "housing", "police")])
        time.sleep(3)
        # Never the internal id instead: nothing at all until the pseudonym is known.
        assert receiver.at("/later") == []
        assert partner.get("/feed", headers=auth(housing["access"])).json()["items"] == []
    finally:
        identity.start()
    got = wait_until(lambda: receiver.at("/later"), timeout=30)
    assert got[0].json["subject"] == housing_name
    assert person_id.encode() not in got[0].body
