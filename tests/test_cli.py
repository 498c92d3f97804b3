"""The `casebridge` command: development tokens verify, bad requests are refused."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from casebridge.cli import app
from shared.auth.tokens import TokenVerifier
from shared.settings import Settings

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CASEBRIDGE_DATA_DIR", str(tmp_path))
    return tmp_path


def test_token_for_every_role_verifies_with_the_services_key(data_dir):
    for role, extra in [
        ("caseworker", ["--agency", "housing"]),
        ("ig_officer", ["--agency", "housing"]),
        ("auditor", ["--agency", "council-asc"]),
        ("partner_system", ["--agency", "gp-elm"]),
        ("admin", ["--agency", "council-asc"]),
        ("client", ["--person", "psn_abc"]),
    ]:
        result = runner.invoke(app, ["token", "--role", role, "--sub", "sam", *extra])
        assert result.exit_code == 0, result.output
        principal = TokenVerifier(Settings(data_dir=data_dir)).verify(result.output.strip())
        assert principal.roles == frozenset({role})


@pytest.mark.parametrize(
    "args",
    [
        ["token", "--role", "superuser", "--sub", "x", "--agency", "housing"],
        ["token", "--role", "client", "--sub", "x"],  # a client names their person
    ],
)
def test_token_refuses_what_no_service_would_accept(data_dir, args):
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert "eyJ" not in result.output


def test_production_mints_no_tokens(data_dir, monkeypatch, tmp_path):
    pub = tmp_path / "pub.pem"
    pub.write_text("unused")
    monkeypatch.setenv("CASEBRIDGE_ENV", "production")
    monkeypatch.setenv("CASEBRIDGE_JWT_PUBLIC_KEY_FILE", str(pub))
    monkeypatch.setenv("CASEBRIDGE_SECRET_KEY_FILE", str(pub))
    result = runner.invoke(app, ["token", "--role", "admin", "--sub", "x", "--agency", "housing"])
    assert result.exit_code != 0
    assert "eyJ" not in result.output


def test_service_command_groups_are_mounted():
    for group, command in [("audit", "verify"), ("identity", "estimate"), ("partner", "asyncapi")]:
        result = runner.invoke(app, [group, command, "--help"])
        assert result.exit_code == 0, result.output
