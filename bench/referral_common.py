"""What the referral benchmarks share: a running system and a driver speaking its HTTP APIs."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.common import PG_ADMIN_URL
from casebridge.broker import EmbeddedBroker
from shared.auth.tokens import mint_token
from shared.settings import SERVICES, Settings
from shared.testing import RunningSystem

HOUSING = {"tenancy": "secure", "arrears_gbp": 420}
HEALTH = {"summary": "Type 2 diabetes; misses appointments when stressed."}


@contextmanager
def postgres_databases() -> Iterator[str]:
    """One fresh PostgreSQL database per service; yields the URL template with {service}."""
    tag = f"bench_ref_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for s in SERVICES:
            conn.execute(f'CREATE DATABASE "{tag}_{s}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{tag}_{{service}}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            for s in SERVICES:
                conn.execute(f'DROP DATABASE IF EXISTS "{tag}_{s}" WITH (FORCE)')


@contextmanager
def running_system(backend: str, env: dict[str, str] | None = None) -> Iterator[Driver]:
    """Every service as a process on a fresh broker and fresh databases on `backend`."""
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    with ExitStack() as stack:
        broker = EmbeddedBroker().start()
        stack.callback(broker.stop)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = f"sqlite:///{tmp.as_posix()}/{{service}}.db"
        if backend == "postgresql":
            url = stack.enter_context(postgres_databases())
        settings = Settings(
            env="test",
            data_dir=tmp,
            database_url=url,
            kafka_bootstrap_servers=broker.bootstrap,
            kafka_topic_prefix=f"b{uuid.uuid4().hex[:6]}",
            kafka_partitions=3,
        )
        system = RunningSystem(settings).start()
        stack.callback(system.stop)
        driver = Driver(system, settings, broker_pid=broker.process.pid if broker.process else None)
        stack.callback(driver.http.close)
        try:
            yield driver
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


class Driver:
    def __init__(
        self, system: RunningSystem, settings: Settings, broker_pid: int | None = None
    ) -> None:
        self.system = system
        self.settings = settings
        # Every process of the system, for CPU accounting (PostgreSQL's own are not ours).
        self.pids = {name: p.pid for name, p in system.processes.items()}
        if broker_pid is not None:
            self.pids["broker"] = broker_pid
        self.http = httpx.Client(timeout=30)
        self._tokens: dict[tuple[str, str | None], dict[str, str]] = {}

    def headers(self, role: str, agency: str | None) -> dict[str, str]:
        key = (role, agency)
        if key not in self._tokens:
            token = mint_token(
                self.settings, sub=f"{role}@{agency}", agency=agency, roles=[role], ttl_seconds=7200
            )
            self._tokens[key] = {"Authorization": f"Bearer {token}"}
        return self._tokens[key]

    def url(self, service: str, path: str) -> str:
        return f"{self.system.url(service)}{path}"

    def register(self, agency: str, n: int) -> str:
        body = {
            "local_id": f"B-{n}",
            "given_name": f"Given{n}",
            "family_name": f"Family{n * 7919 % 100003}",
            "birth_date": f"{1940 + n % 60}-{1 + n % 12:02d}-{1 + n % 28:02d}",
            "postcode": f"NS{n % 9 + 1} {n % 10}AB",
        }
        r = self.http.post(
            self.url("identity", "/records"), json=body, headers=self.headers("caseworker", agency)
        )
        r.raise_for_status()
        return str(r.json()["person"])

    def consent(self, agency: str, person: str, recipients: list[str]) -> dict[str, Any]:
        body = {
            "person": person,
            "purposes": ["housing_support"],
            "categories": ["housing", "health.summary"],
            "recipients": recipients,
            "expires_at": (datetime.now(UTC) + timedelta(days=90)).isoformat(),
            "evidence": {"method": "written", "reference": "form-7", "captured_by": "bench"},
        }
        r = self.http.post(
            self.url("consent", "/consents"), json=body, headers=self.headers("caseworker", agency)
        )
        r.raise_for_status()
        return dict(r.json())

    def withdraw(self, agency: str, consent_id: str) -> dict[str, Any]:
        r = self.http.post(
            self.url("consent", f"/consents/{consent_id}/withdraw"),
            json={},
            headers=self.headers("caseworker", agency),
        )
        r.raise_for_status()
        return dict(r.json())

    def refer(
        self, agency: str, person: str, to: str, http: httpx.Client | None = None
    ) -> httpx.Response:
        body = {
            "person": person,
            "to_agency": to,
            "purpose": "housing_support",
            "urgency": "urgent",
            "summary": "Needs support to keep the tenancy.",
            "details": {"housing": HOUSING, "health.summary": HEALTH},
        }
        return (http or self.http).post(
            self.url("referral", "/referrals"),
            json=body,
            headers=self.headers("caseworker", agency),
        )

    def read(
        self, agency: str, referral_id: str, http: httpx.Client | None = None
    ) -> httpx.Response:
        return (http or self.http).get(
            self.url("referral", f"/referrals/{referral_id}"),
            headers=self.headers("caseworker", agency),
        )

    def projection(self, person_id: str | None = None) -> dict[str, Any]:
        r = self.http.get(
            self.url("referral", "/projection"),
            params={"person_id": person_id} if person_id else {},
            headers=self.headers("service", None),
        )
        r.raise_for_status()
        return dict(r.json())

    def person_id(self, agency: str, pseudonym: str) -> str:
        r = self.http.get(
            self.url("identity", "/internal/resolve"),
            params={"agency": agency, "pseudonym": pseudonym},
            headers=self.headers("service", None),
        )
        r.raise_for_status()
        return str(r.json()["person_id"])
