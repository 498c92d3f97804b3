"""The test harness's running system: a start that fails must not leave services running."""

from __future__ import annotations

from pathlib import Path

import pytest

from casebridge.broker import free_port
from shared.settings import Settings
from shared.testing import RunningSystem


def test_a_service_that_never_becomes_ready_fails_the_start_and_nothing_is_left_running(
    tmp_path: Path,
) -> None:
    settings = Settings(
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path.as_posix()}/{{service}}.db",
        kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",  # no broker: never ready
    )
    system = RunningSystem(settings, services=("audit", "consent"))
    with pytest.raises(pytest.fail.Exception, match="condition not met"):
        system.start(timeout=8)
    assert set(system.processes) == {"audit", "consent"}
    assert all(p.poll() is not None for p in system.processes.values())
