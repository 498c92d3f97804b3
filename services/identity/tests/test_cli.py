"""`identity estimate` learns m and u from the index and writes a model the service loads;
`identity reindex` rewrites the blocking keys after an upgrade that changes them."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select
from typer.testing import CliRunner

from services.identity.cli import app
from services.identity.config import IdentitySettings
from services.identity.index import PROFILE_COLUMNS, profile_of
from services.identity.matching.blocking import blocking_keys
from services.identity.matching.scoring import MatchModel
from services.identity.models import BlockingKey, ClientRecord
from services.identity.tests.conftest import record
from shared.db import Database

PEOPLE = [
    ("Amy", "Lee", "1990-01-02"),
    ("Ben", "Okafor", "1985-06-07"),
    ("Cara", "Singh", "1972-11-30"),
    ("Dan", "Walsh", "2001-04-15"),
    ("Eve", "Hughes", "1966-08-09"),
    ("Finn", "Taylor", "1999-12-01"),
]


@pytest.fixture
def env(settings):
    """The CLI's environment: the test's database and data directory."""
    return {
        "CASEBRIDGE_DATABASE_URL": settings.database_url,
        "CASEBRIDGE_DATA_DIR": str(settings.data_dir),
    }


def test_estimate_writes_a_model_the_service_can_use(identity, as_, env, tmp_path, monkeypatch):
    for i, (given, family, dob) in enumerate(PEOPLE):
        for agency in ("housing", "police"):
            body = record(
                f"{agency}-{i}", given_name=given, family_name=family, birth_date=dob, postcode=None
            )
            identity.post("/records", json=body, headers=as_("caseworker", agency))
    out = tmp_path / "model.json"
    result = CliRunner().invoke(app, ["estimate", "--output", str(out), "--upper", "15"], env=env)
    assert result.exit_code == 0, result.output
    assert "estimated from 12 records" in result.output
    model = MatchModel.load(out)
    assert model.upper == 15
    assert model.weights["birth_date"]["exact"] > 0 > model.weights["birth_date"]["else"]
    # Each surname is 2 of the 12 records, commoner than two random records agreeing.
    assert model.term_frequencies["family_name"]["OKAFOR"] == round(2 / 12, 6)
    assert set(model.term_frequencies["family_name"]) == {f.upper() for _, f, _ in PEOPLE}
    monkeypatch.setenv("CASEBRIDGE_IDENTITY_MODEL_FILE", str(out))
    assert IdentitySettings().model.upper == 15


def test_estimate_learns_from_a_random_sample_of_the_whole_index(identity, as_, env, tmp_path):
    """An index loaded agency by agency: the first records stored are all one agency's, and
    a sample of them would know only that agency's names."""
    for agency, family in (("housing", "Okafor"), ("police", "Nowak")):
        for i in range(10):
            body = record(
                f"{agency}-{i}", family_name=family, birth_date=f"19{50 + i}-01-0{1 + i % 9}"
            )
            assert identity.post(
                "/records", json=body, headers=as_("caseworker", agency)
            ).is_success
    out = tmp_path / "model.json"
    result = CliRunner().invoke(app, ["estimate", "--output", str(out), "--sample", "10"], env=env)
    assert result.exit_code == 0, result.output
    assert "estimated from 10 records" in result.output
    shares = MatchModel.load(out).term_frequencies["family_name"]
    assert set(shares) == {"OKAFOR", "NOWAK"}
    assert sum(shares.values()) == pytest.approx(1)
    again = tmp_path / "again.json"
    rerun = CliRunner().invoke(app, ["estimate", "--output", str(again), "--sample", "10"], env=env)
    assert rerun.exit_code == 0, rerun.output
    assert MatchModel.load(again).term_frequencies == MatchModel.load(out).term_frequencies


def test_estimate_refuses_an_empty_index(env, tmp_path):
    result = CliRunner().invoke(app, ["estimate", "--output", str(tmp_path / "m.json")], env=env)
    assert result.exit_code != 0 and not (tmp_path / "m.json").exists()


def test_reindex_rewrites_every_records_keys_from_the_current_code(identity, as_, settings, env):
    for i, (given, family, dob) in enumerate(PEOPLE[:3]):
        body = record(f"h-{i}", given_name=given, family_name=family, birth_date=dob)
        assert identity.post("/records", json=body, headers=as_("caseworker", "housing")).is_success
    db = Database(settings.database_url_for("identity"))
    try:
        with db.session() as s:  # keys an older release wrote: one stale, one record's lost
            first = s.execute(select(ClientRecord.id).order_by(ClientRecord.id)).scalars().first()
            s.execute(delete(BlockingKey).where(BlockingKey.record_id == first))
            s.add(BlockingKey(key="old:scheme", record_id=first))
        result = CliRunner().invoke(app, ["reindex", "--chunk", "2"], env=env)
        assert result.exit_code == 0, result.output
        assert "reindexed 3 records" in result.output
        config = IdentitySettings()
        with db.session() as s:
            rows = s.execute(select(*PROFILE_COLUMNS)).all()
            expected = {(k, r.id) for r in rows for k in blocking_keys(profile_of(config, r))}
            stored = {
                (k, rid) for k, rid in s.execute(select(BlockingKey.key, BlockingKey.record_id))
            }
        assert stored == expected and len(expected) > 3 * 4
    finally:
        db.dispose()
