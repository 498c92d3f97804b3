"""Pytest fixtures for every service's tests: a real broker, a real database, real tokens.

The database backend comes from CASEBRIDGE_TEST_DB (`sqlite`, the default, or `postgresql`,
using CASEBRIDGE_TEST_PG_URL, default postgresql://127.0.0.1:5432/test). Each test gets its
own databases and its own topic prefix, so tests never see each other's events.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from casebridge.broker import EmbeddedBroker, free_ports
from shared.auth.tokens import mint_token
from shared.settings import SERVICES, Settings

PG_ADMIN_URL = os.environ.get("CASEBRIDGE_TEST_PG_URL", "postgresql://127.0.0.1:5432/test")


def db_backend() -> str:
    return os.environ.get("CASEBRIDGE_TEST_DB", "sqlite")


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    b = EmbeddedBroker().start()
    yield b
    b.stop()


class PostgresDatabases:
    """Creates a database per service per test, and drops them all at the end of the run."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def create(self, name: str) -> str:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        return f"{base}/{name}"

    def drop_all(self) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PostgresDatabases]:
    dbs = PostgresDatabases()
    yield dbs
    if dbs.created:
        dbs.drop_all()


@pytest.fixture
def settings(tmp_path: Path, broker: EmbeddedBroker, request: pytest.FixtureRequest) -> Settings:
    """Settings for this test: its own data dir, databases and topics, on the real broker."""
    run = uuid.uuid4().hex[:10]
    database_url = f"sqlite:///{tmp_path.as_posix()}/{{service}}.db"
    if db_backend() == "postgresql":
        dbs: PostgresDatabases = request.getfixturevalue("pg_databases")
        urls = {s: dbs.create(f"cb_{run}_{s}") for s in SERVICES}
        database_url = urls["identity"].replace(f"cb_{run}_identity", f"cb_{run}_{{service}}")
    return Settings(
        env="test",
        data_dir=tmp_path,
        database_url=database_url,
        kafka_bootstrap_servers=broker.bootstrap,
        kafka_topic_prefix=f"t{run}",
        kafka_partitions=3,
    )


@pytest.fixture
def token(settings: Settings) -> Callable[..., str]:
    """token(role, agency=..., sub=..., person=...) -> a signed bearer token."""

    def make(role: str, agency: str | None = "housing", sub: str | None = None, **kw: Any) -> str:
        return mint_token(
            settings, sub=sub or f"{role}-{agency}", agency=agency, roles=[role], **kw
        )

    return make


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def service_client(service: str, settings: Settings) -> Iterator[TestClient]:
    """One service in this process (lifespan running: migrations, relay, consumers)."""
    import importlib

    module = importlib.import_module(f"services.{service}.app")
    app = module.build(settings.model_copy(update={"service": service}))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def wait_until(check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s: {getattr(check, '__name__', check)}")
        time.sleep(interval)


class RunningSystem:
    """All the services as real processes on free ports, talking over HTTP and Kafka."""

    def __init__(
        self,
        settings: Settings,
        services: tuple[str, ...] = SERVICES,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.services = services
        self.extra_env = extra_env or {}
        self.ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self) -> dict[str, str]:
        s = self.settings
        env = {
            **os.environ,
            "CASEBRIDGE_ENV": "test",
            "CASEBRIDGE_DATA_DIR": str(s.data_dir),
            "CASEBRIDGE_DATABASE_URL": s.database_url,
            "CASEBRIDGE_KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
            "CASEBRIDGE_KAFKA_TOPIC_PREFIX": s.kafka_topic_prefix,
            "CASEBRIDGE_KAFKA_PARTITIONS": str(s.kafka_partitions),
            **self.extra_env,
        }
        for name in SERVICES:
            env[f"CASEBRIDGE_{name.upper()}_URL"] = self.url(name)
        return env

    def start(self, timeout: float = 60) -> RunningSystem:
        logs = Path(self.settings.data_dir) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for name in self.services:
            with open(logs / f"{name}.log", "ab") as log:
                self.processes[name] = subprocess.Popen(  # noqa: S603
                    [
                        sys.executable,
                        "-m",
                        "casebridge.cli",
                        "serve",
                        name,
                        "--port",
                        str(self.ports[name]),
                    ],
                    env=self.env(),
                    stdout=log,
                    stderr=log,
                )
        try:
            for name in self.services:
                wait_until(partial(self._ready, name), timeout=timeout)
        except BaseException:  # pytest.fail is one: stop the others, or they outlive the run
            self.stop()
            raise
        return self

    def _ready(self, name: str) -> bool:
        if self.processes[name].poll() is not None:
            log = Path(self.settings.data_dir) / "logs" / f"{name}.log"
            pytest.fail(f"{name} exited:\n{log.read_text()[-3000:]}")
        try:
            ready = httpx.get(f"{self.url(name)}/readyz", timeout=2)
        except httpx.HTTPError:
            return False
        # Whoever answers must be the service started here, not another process on the port.
        return ready.status_code == 200 and ready.json().get("service") == name

    def stop(self) -> None:
        for p in self.processes.values():
            p.terminate()
        for p in self.processes.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture
def system(settings: Settings) -> Iterator[RunningSystem]:
    running = RunningSystem(settings).start()
    yield running
    running.stop()
