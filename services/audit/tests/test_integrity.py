"""Append-only in the database; tampering behind the service's back is found offline."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from services.audit.checkpoints.signing import public_key_from_text
from services.audit.cli import app as audit_cli
from services.audit.ledger import entries_table, entry_from_row
from services.audit.log.chain import GENESIS, canonical, chain_hash
from services.audit.log.merkle import leaf_hash
from services.audit.tests.factories import access, publish, sequenced
from services.audit.tests.tampering import admin_sql, try_sql
from services.audit.verify import verify_export, verify_proof
from shared.db import Database
from shared.testing import auth, wait_until


def ingest(audit, auditor, settings, n=10, **kw):
    records = [
        access(person_id=f"t{i}", decision="denied" if i == 3 else "permitted", **kw)
        for i in range(n)
    ]
    publish(settings, sequenced(settings, records))

    def arrived():
        got = audit.get(
            "/entries", params={"service": "identity", "limit": 1000}, headers=auditor
        ).json()
        return sorted(got, key=lambda e: e["position"]) if len(got) >= n else None

    return wait_until(arrived)


def public_key(audit):
    r = audit.get("/checkpoints/key")  # public: no token needed
    assert r.status_code == 200
    return public_key_from_text(r.json()["public_key"])


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_entries SET decision = 'permitted'",
        "DELETE FROM audit_entries",
        "DELETE FROM merkle_nodes",
        "UPDATE checkpoints SET size = 0",
        "DELETE FROM alerts",
    ],
)
def test_the_database_refuses_to_change_or_remove_the_log(audit, auditor, settings, statement):
    ingest(audit, auditor, settings, n=4, break_glass="urgent")  # alerts to refuse too
    assert audit.post("/checkpoints", headers=auditor).status_code in (200, 201)
    wait_until(lambda: audit.get("/alerts", headers=auditor).json())
    with pytest.raises(DBAPIError, match="append-only"):
        try_sql(settings, statement)


def test_an_edited_entry_is_found_and_named(audit, auditor, settings, tmp_path):
    got = ingest(audit, auditor, settings)
    assert audit.post("/checkpoints", headers=auditor).status_code == 201
    denied = next(e for e in got if e["decision"] == "denied")
    admin_sql(
        settings,
        [
            (
                "UPDATE audit_entries SET decision = 'permitted' WHERE position = %(p)s",
                {"p": denied["position"]},
            )
        ],
    )
    export = audit.get("/export", headers=auditor)
    assert export.status_code == 200
    report = verify_export(export.content.splitlines(), public_key(audit))
    assert not report.ok
    assert report.first_bad == denied["position"]

    path = tmp_path / "audit.jsonl"
    path.write_bytes(export.content)
    key = audit.get("/checkpoints/key").json()["public_key"]
    result = CliRunner().invoke(audit_cli, ["verify", str(path), "--public-key", key])
    assert result.exit_code == 1
    assert f"first bad entry: position {denied['position']}" in result.output


def test_a_rewritten_chain_is_caught_by_the_signed_checkpoint(audit, auditor, settings):
    got = ingest(audit, auditor, settings)
    assert audit.post("/checkpoints", headers=auditor).status_code == 201
    target = next(e for e in got if e["decision"] == "denied")["position"]
    db = Database(settings.database_url_for("audit"))
    with db.session() as s:
        rows = list(s.execute(select(entries_table).order_by(entries_table.c.position)))
    db.dispose()
    # A careful administrator recomputes every leaf and chain hash after the edit.
    chain, updates = GENESIS, []
    for row in rows:
        entry = entry_from_row(row)
        if entry["position"] == target:
            entry["decision"] = "permitted"
        body = canonical(entry)
        chain = chain_hash(chain, body)
        if entry["position"] >= target:
            updates.append(
                (
                    "UPDATE audit_entries SET decision = %(d)s, leaf_hash = %(l)s, "
                    "chain_hash = %(c)s WHERE position = %(p)s",
                    {"d": entry["decision"], "l": leaf_hash(body), "c": chain, "p": row.position},
                )
            )
    admin_sql(settings, updates)
    report = verify_export(
        audit.get("/export", headers=auditor).content.splitlines(), public_key(audit)
    )
    assert not report.ok
    # The rewritten entries agree with each other (only entries that arrived after the
    # rewrite, chained to the old hashes, can break), but not with what was signed before.
    assert report.first_bad is None or report.first_bad > rows[-1].position
    signed_before = [p for p in report.problems if "does not match the entries" in p]
    assert signed_before, report.problems


def test_an_untouched_log_verifies_with_the_cli(audit, auditor, settings, tmp_path):
    ingest(audit, auditor, settings, n=5)
    path = tmp_path / "audit.jsonl"
    path.write_bytes(audit.get("/export", headers=auditor).content)
    key = audit.get("/checkpoints/key").json()["pem"]
    (tmp_path / "key.pem").write_text(key)
    result = CliRunner().invoke(
        audit_cli, ["verify", str(path), "--public-key", str(tmp_path / "key.pem"), "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] is True


def test_a_signature_by_another_key_is_refused(audit, auditor, settings):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    ingest(audit, auditor, settings, n=3)
    other = Ed25519PrivateKey.generate().public_key()
    report = verify_export(audit.get("/export", headers=auditor).content.splitlines(), other)
    assert not report.ok
    assert any("bad signature" in p for p in report.problems)


def test_inclusion_proofs_verify_and_forgeries_fail(audit, auditor, settings):
    got = ingest(audit, auditor, settings, n=6)
    key = public_key(audit)
    position = got[2]["position"]
    r = audit.get("/proofs/inclusion", params={"position": position}, headers=auditor)
    assert r.status_code == 409  # nothing signed yet covers it
    assert audit.post("/checkpoints", headers=auditor).status_code == 201
    proof = audit.get("/proofs/inclusion", params={"position": position}, headers=auditor).json()
    assert verify_proof(proof, key).ok

    forged = json.loads(json.dumps(proof))
    forged["entry"]["decision"] = "denied"
    assert not verify_proof(forged, key).ok
    forged = json.loads(json.dumps(proof))
    forged["proof"][0] = "00" * 32
    assert not verify_proof(forged, key).ok
    forged = json.loads(json.dumps(proof))
    forged["checkpoint"]["root_hash"] = forged["root_hash"] = "11" * 32
    assert not verify_proof(forged, key).ok  # the signature no longer covers the root

    by_id = audit.get(
        "/proofs/inclusion", params={"event_id": got[2]["event_id"]}, headers=auditor
    ).json()
    assert by_id["proof"] == proof["proof"]


def test_consistency_between_two_checkpoints_verifies(audit, auditor, settings):
    ingest(audit, auditor, settings, n=3)
    first = audit.post("/checkpoints", headers=auditor).json()
    ingest(audit, auditor, settings, n=6)
    second = audit.post("/checkpoints", headers=auditor).json()
    assert second["size"] > first["size"]
    r = audit.get(
        "/proofs/consistency",
        params={"first": first["size"], "second": second["size"]},
        headers=auditor,
    )
    proof = r.json()
    key = public_key(audit)
    assert verify_proof(proof, key).ok
    assert proof["first_checkpoint"]["root_hash"] == first["root_hash"]
    forged = json.loads(json.dumps(proof))
    forged["proof"] = forged["proof"][1:] or ["00" * 32]
    assert not verify_proof(forged, key).ok
    too_far = audit.get(
        "/proofs/consistency", params={"first": 1, "second": 10**9}, headers=auditor
    )
    assert too_far.status_code == 422


def test_checkpoints_are_listed_and_the_latest_is_signed(audit, auditor, settings, token):
    ingest(audit, auditor, settings, n=2)
    made = audit.post("/checkpoints", headers=auditor)
    assert made.status_code == 201
    again = audit.post("/checkpoints", headers=auditor)
    assert again.status_code in (200, 201)  # 200 unless the audit of the first one arrived
    latest = audit.get("/checkpoints/latest", headers=auditor).json()
    assert latest["size"] >= made.json()["size"]
    listed = audit.get("/checkpoints", headers=auditor).json()
    assert listed[0]["size"] == latest["size"]
    caseworker = auth(token("caseworker", "housing"))
    assert audit.get("/checkpoints/latest", headers=caseworker).status_code == 403
