"""`identity estimate` learns m and u from the index and writes a model the service loads."""

from __future__ import annotations

from typer.testing import CliRunner

from services.identity.cli import app
from services.identity.config import IdentitySettings
from services.identity.matching.scoring import MatchModel
from services.identity.tests.conftest import record

PEOPLE = [
    ("Amy", "Lee", "1990-01-02"),
    ("Ben", "Okafor", "1985-06-07"),
    ("Cara", "Singh", "1972-11-30"),
    ("Dan", "Walsh", "2001-04-15"),
    ("Eve", "Hughes", "1966-08-09"),
    ("Finn", "Taylor", "1999-12-01"),
]


def test_estimate_writes_a_model_the_service_can_use(
    identity, as_, settings, tmp_path, monkeypatch
):
    for i, (given, family, dob) in enumerate(PEOPLE):
        for agency in ("housing", "police"):
            body = record(
                f"{agency}-{i}", given_name=given, family_name=family, birth_date=dob, postcode=None
            )
            identity.post("/records", json=body, headers=as_("caseworker", agency))
    out = tmp_path / "model.json"
    env = {
        "CASEBRIDGE_DATABASE_URL": settings.database_url,
        "CASEBRIDGE_DATA_DIR": str(settings.data_dir),
    }
    result = CliRunner().invoke(app, ["estimate", "--output", str(out), "--upper", "15"], env=env)
    assert result.exit_code == 0, result.output
    assert "estimated from 12 records" in result.output
    model = MatchModel.load(out)
    assert model.upper == 15
    assert model.weights["birth_date"]["exact"] > 0 > model.weights["birth_date"]["else"]
    monkeypatch.setenv("CASEBRIDGE_IDENTITY_MODEL_FILE", str(out))
    assert IdentitySettings().model.upper == 15


def test_estimate_refuses_an_empty_index(settings, tmp_path):
    env = {
        "CASEBRIDGE_DATABASE_URL": settings.database_url,
        "CASEBRIDGE_DATA_DIR": str(settings.data_dir),
    }
    result = CliRunner().invoke(app, ["estimate", "--output", str(tmp_path / "m.json")], env=env)
    assert result.exit_code != 0 and not (tmp_path / "m.json").exists()
