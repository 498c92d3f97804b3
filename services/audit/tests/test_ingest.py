"""Ingest from Kafka: each access once, in a chain that verifies; gaps reported; alerts."""

from __future__ import annotations

from services.audit.tests.factories import access, envelope, publish, sequenced
from services.audit.verify import verify_export
from shared.events import CloudEvent
from shared.testing import wait_until


def entries(audit, auditor, **params):
    r = audit.get("/entries", params={"limit": 1000, **params}, headers=auditor)
    assert r.status_code == 200, r.text
    return r.json()


def test_each_access_is_appended_once_even_when_sent_again(audit, auditor, settings):
    records = [access(person_id=f"p{i}", service=("identity", "consent")[i % 2]) for i in range(30)]
    events = sequenced(settings, records)
    publish(settings, events)
    publish(settings, events[:7])  # a relay re-sends after a crash: same ids, same sequences

    def all_arrived():
        got = [e for e in entries(audit, auditor) if e["service"] in ("identity", "consent")]
        return got if len(got) >= 30 else None

    got = wait_until(all_arrived)
    assert len(got) == 30
    assert {e["event_id"] for e in got} == {e.id for e in events}
    positions = sorted(e["position"] for e in entries(audit, auditor))
    assert positions == list(range(1, len(positions) + 1))  # no holes, no repeats

    export = audit.get("/export", headers=auditor)
    report = verify_export(export.iter_bytes() and export.content.splitlines())
    assert report.ok, report.problems
    assert report.entries >= 30


def test_every_field_of_the_record_is_kept(audit, auditor, settings):
    record = access(person_id="p-fields", break_glass=None, reason="asked by the client")
    publish(settings, sequenced(settings, [record]))
    got = wait_until(lambda: entries(audit, auditor, person_id="p-fields", service="identity"))[0]
    assert got["actor"] == {"sub": "hana.housing", "agency": "housing", "roles": ["caseworker"]}
    assert got["person_ref"] == "psn_p-fields"
    assert got["categories"] == ["identity"]
    assert got["purpose"] == "housing_support"
    assert got["basis"] == {"consents": [], "agreements": ["agr-1"], "break_glass": None}
    assert got["reason"] == "asked by the client"
    assert got["service"] == "identity"
    assert got["occurred_at"].startswith(record.occurred_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_a_missing_sequence_number_is_reported_and_alerted(audit, auditor, settings):
    assert audit.get("/readyz").json()["checks"]["sequence_gaps"]["ok"] is True
    one, two, four = (access(person_id=f"g{i}", service="referral") for i in (1, 2, 4))
    publish(settings, [envelope(one, sequence=1), envelope(two, sequence=2)])
    publish(settings, [envelope(four, sequence=4)])

    def gap_seen():
        body = audit.get("/gaps", headers=auditor).json()
        return body if body["gaps"] else None

    body = wait_until(gap_seen, timeout=30)
    assert body["ok"] is False
    gap = body["gaps"][0]
    assert (gap["source"], gap["first_missing"], gap["last_missing"]) == (
        "/casebridge/referral",
        3,
        3,
    )
    ready = audit.get("/readyz")
    assert ready.status_code == 200  # a gap is for auditors; the service still serves
    summary = ready.json()["checks"]["sequence_gaps"]
    assert (summary["ok"], summary["gaps"]) == (False, 1)
    alerts = audit.get("/alerts", params={"kind": "sequence_gap"}, headers=auditor).json()
    assert alerts[0]["detail"] == {
        "source": "/casebridge/referral",
        "first_missing": 3,
        "last_missing": 3,
    }


def test_break_glass_denials_and_wide_reading_raise_alerts(settings, token, monkeypatch):
    monkeypatch.setenv("CASEBRIDGE_AUDIT_DENIED_THRESHOLD", "3")
    monkeypatch.setenv("CASEBRIDGE_AUDIT_MANY_PERSONS_THRESHOLD", "4")
    from services.audit.tests.conftest import running_audit
    from shared.testing import auth

    auditor = auth(token("auditor", "council-asc"))
    with running_audit(settings) as audit:
        records = [
            access(sub="pat.police", agency="police", break_glass="unconscious, no consent"),
            *(access(sub="sam", decision="denied", person_id="x") for _ in range(3)),
            *(access(sub="mo", person_id=f"wide-{i}") for i in range(4)),
            access(sub="calm", person_id="only-one"),
        ]
        publish(settings, sequenced(settings, records))

        def kinds():
            got = audit.get("/alerts", headers=auditor).json()
            return got if len(got) >= 3 else None

        alerts = wait_until(kinds)
        by_kind = {a["kind"]: a for a in alerts}
        assert set(by_kind) == {"break_glass", "denied_attempts", "many_persons"}
        assert by_kind["break_glass"]["actor_sub"] == "pat.police"
        assert by_kind["break_glass"]["detail"]["justification"] == "unconscious, no consent"
        assert by_kind["denied_attempts"]["actor_sub"] == "sam"
        assert by_kind["denied_attempts"]["detail"]["denied"] == 3
        assert by_kind["many_persons"]["actor_sub"] == "mo"
        assert len(alerts) == 3  # nothing about the user who read one person


def test_merges_are_followed_so_a_history_includes_merged_ids(audit, auditor, settings):
    from services.audit.persons import ids_of_person
    from shared.db import Database
    from shared.events.envelope import source_of

    def identity_event(type_: str, sequence: int, **data: str) -> CloudEvent:
        return CloudEvent(source=source_of("identity"), type=type_, sequence=sequence, data=data)

    publish(
        settings,
        [
            identity_event(
                "identity.persons_merged.v1",
                1,
                merge_id="m1",
                survivor_person_id="old-1",
                merged_person_id="old-0",
            ),
            identity_event(
                "identity.persons_merged.v1",
                2,
                merge_id="m2",
                survivor_person_id="new-1",
                merged_person_id="old-1",
            ),
        ],
    )
    db = Database(settings.database_url_for("audit"))

    def ids(person: str) -> list[str]:
        with db.session() as s:
            return ids_of_person(s, person)

    try:
        wait_until(lambda: ids("new-1") == ["new-1", "old-0", "old-1"])
        publish(
            settings,
            [
                identity_event(
                    "identity.person_unmerged.v1",
                    3,
                    person_id="new-1",
                    restored_person_id="old-1",
                )
            ],
        )
        wait_until(lambda: ids("new-1") == ["new-1"])
        assert ids("old-1") == ["old-1", "old-0"]  # what was merged into it goes with it
    finally:
        db.dispose()
