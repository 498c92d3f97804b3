"""`casebridge up`: the whole system on the embedded default, in one command.

Starts the tansu broker (unless KAFKA_BOOTSTRAP_SERVERS is set), every service as
processes of their own, loads demo data and prints a token for every role. Ctrl-C stops
everything it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console

from casebridge.broker import EmbeddedBroker, port_open
from shared.auth.keys import ensure_dev_private_key, load_secret
from shared.settings import SERVICES, Settings

console = Console()


@dataclass
class System:
    settings: Settings
    broker: EmbeddedBroker | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def service_env(self) -> dict[str, str]:
        s = self.settings
        env = {
            **os.environ,
            "CASEBRIDGE_KAFKA_BOOTSTRAP_SERVERS": s.kafka_bootstrap_servers,
            "CASEBRIDGE_DATA_DIR": str(s.data_dir),
            "CASEBRIDGE_DATABASE_URL": s.database_url,
            "CASEBRIDGE_KAFKA_TOPIC_PREFIX": s.kafka_topic_prefix,
            # Development traces go to each service's log file unless OTLP is configured.
            "CASEBRIDGE_TELEMETRY_EXPORTER": os.environ.get(
                "CASEBRIDGE_TELEMETRY_EXPORTER", "console"
            ),
        }
        for name in SERVICES:
            env[f"CASEBRIDGE_{name.upper()}_URL"] = s.url_of(name)
        return env

    def start(self, embedded_broker: bool) -> None:
        s = self.settings
        logs = s.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        ensure_dev_private_key(s)
        load_secret(s, "bootstrap")
        if embedded_broker:
            broker_port = int(s.kafka_bootstrap_servers.rsplit(":", 1)[1])
            self.broker = EmbeddedBroker(broker_port, log_file=logs / "broker.log").start()
            console.print(f"[green]broker[/] tansu (in memory) on {self.broker.bootstrap}")
        for name in SERVICES:
            port = int(s.url_of(name).rsplit(":", 1)[1])
            if port_open("127.0.0.1", port):
                raise SystemExit(f"port {port} for {name} is taken; is Casebridge already running?")
            with open(logs / f"{name}.log", "ab") as log:
                self.processes[name] = subprocess.Popen(  # noqa: S603
                    [sys.executable, "-m", "casebridge.cli", "serve", name, "--port", str(port)],
                    env=self.service_env(),
                    stdout=log,
                    stderr=log,
                )

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(SERVICES)
        while pending:
            for name in sorted(pending):
                proc = self.processes[name]
                if proc.poll() is not None:
                    log = self.settings.data_dir / "logs" / f"{name}.log"
                    raise SystemExit(f"{name} exited ({proc.returncode}); see {log}")
                try:
                    r = httpx.get(f"{self.settings.url_of(name)}/readyz", timeout=2)
                    if r.status_code == 200:
                        pending.discard(name)
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                raise SystemExit(f"not ready after {timeout:.0f}s: {', '.join(sorted(pending))}")
            time.sleep(0.2)

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.broker:
            self.broker.stop()


def up(settings: Settings, demo: bool = True) -> None:
    from casebridge.demo import load_demo, print_tokens

    embedded = not (
        os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        or os.environ.get("CASEBRIDGE_KAFKA_BOOTSTRAP_SERVERS")
    )
    system = System(settings)
    started = time.monotonic()
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    try:
        system.start(embedded)
        system.wait_ready()
        console.print(f"[green]ready[/] in {time.monotonic() - started:.1f}s")
        for name in SERVICES:
            console.print(
                f"  {name:9} {settings.url_of(name)}   docs: {settings.url_of(name)}/docs"
            )
        created = load_demo(settings) if demo else {}
        print_tokens(settings, created.get("jane (client pseudonym)"))
        console.print(f"logs in {Path(settings.data_dir) / 'logs'}; Ctrl-C stops everything")
        while not stop:
            for name, proc in system.processes.items():
                if proc.poll() is not None:
                    console.print(f"[red]{name} exited[/] ({proc.returncode}); stopping")
                    stop = True
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping…")
        system.stop()
