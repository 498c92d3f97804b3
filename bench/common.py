"""Helpers shared by the benchmarks: percentiles, memory, a scratch broker and databases."""

from __future__ import annotations

import os
import resource
import statistics
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_ADMIN_URL = "postgresql://127.0.0.1:5432/test"


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "n": len(ordered),
        "p50": pick(0.50),
        "p99": pick(0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
    }


def fmt(stats: dict[str, float]) -> str:
    return (
        f"n={int(stats['n'])} p50={stats['p50']:.2f}ms p99={stats['p99']:.2f}ms "
        f"max={stats['max']:.2f}ms"
    )


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux /proc), 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def scratch_database(backend: str, tmp: Path, name: str) -> Iterator[str]:
    """A fresh database URL on `backend` (sqlite or postgresql), dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp.as_posix()}/{name}.db"
        return
    db = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{db}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def settle(db_url: str) -> None:
    """After a bulk load on PostgreSQL: vacuum and analyse now, so that the measured phase sees
    a database in its steady state instead of autovacuum catching up on a million fresh rows."""
    if db_url.startswith("postgresql"):
        with psycopg.connect(db_url.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
