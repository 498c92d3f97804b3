"""What can be checked of the container deployment without a Docker engine."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from shared.settings import SERVICES, Settings

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_kafka_postgres_collector_and_the_four_services():
    services = compose()["services"]
    assert {"kafka", "postgres", "otel-collector", *SERVICES} <= set(services)
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_every_service_gets_its_own_database_kafka_and_keys():
    services = compose()["services"]
    for name in SERVICES:
        env = services[name]["environment"]
        assert services[name]["command"] == [name]
        settings = Settings(
            _env_file=None,
            env="test",
            database_url=env["CASEBRIDGE_DATABASE_URL"],
            kafka_bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
        )
        assert settings.database_url_for(name).endswith(f"/casebridge_{name}")
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["CASEBRIDGE_JWT_PUBLIC_KEY_FILE"].startswith("/run/secrets/")
        assert env["CASEBRIDGE_ENV"] == "production"


def test_every_casebridge_variable_in_compose_is_a_real_setting():
    fields = {f.upper() for f in Settings.model_fields}
    env = compose()["services"]["identity"]["environment"]
    for key in env:
        if key.startswith("CASEBRIDGE_"):
            assert key.removeprefix("CASEBRIDGE_") in fields, key


def test_databases_created_for_each_service():
    init = (ROOT / "deploy/postgres/init.sql").read_text()
    assert sorted(re.findall(r"CREATE DATABASE casebridge_(\w+);", init)) == sorted(SERVICES)


def test_the_image_copies_only_files_that_exist():
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source
    mounted = [
        v.split(":")[0] for s in compose()["services"].values() for v in s.get("volumes", [])
    ]
    for path in mounted:
        if path.startswith("./"):
            assert (ROOT / path).exists(), path
