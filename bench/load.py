"""A lean HTTP load generator: aiohttp on one event loop, so the client is not the bottleneck.

`one_at_a_time` sends each request when the last answer came back. `open_loop` sends them
on a fixed schedule whatever the answers' latency, and times each from when it was due, so a
slow server cannot hide its queueing by slowing the offered load (coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass
class LoadResult:
    samples_ms: list[float] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    achieved_rps: float = 0.0


def _session(base_url: str, headers: dict[str, str], connections: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        base_url=base_url,
        headers=headers,
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=30),
    )


async def _send(
    http: aiohttp.ClientSession, path: str, body: Any, due: float, result: LoadResult
) -> None:
    async with http.post(path, json=body) as r:
        await r.read()
        if r.status >= 300:
            result.failures.append(r.status)
    result.samples_ms.append((time.perf_counter() - due) * 1000)


async def _one_at_a_time(
    base_url: str, headers: dict[str, str], path: str, bodies: list[Any]
) -> LoadResult:
    result = LoadResult()
    async with _session(base_url, headers, 1) as http:
        start = time.perf_counter()
        for body in bodies:
            await _send(http, path, body, time.perf_counter(), result)
        result.achieved_rps = len(bodies) / (time.perf_counter() - start)
    return result


async def _open_loop(
    base_url: str,
    headers: dict[str, str],
    path: str,
    bodies: list[Any],
    rate: float,
    connections: int,
) -> LoadResult:
    result = LoadResult()
    async with _session(base_url, headers, connections) as http:
        for body in bodies[: min(20, len(bodies))]:  # open the connections before timing
            await _send(http, path, body, time.perf_counter(), LoadResult())
        start = time.perf_counter()
        tasks = []
        for i, body in enumerate(bodies):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            tasks.append(asyncio.create_task(_send(http, path, body, due, result)))
        await asyncio.gather(*tasks)
        result.achieved_rps = len(bodies) / (time.perf_counter() - start)
    return result


def one_at_a_time(
    base_url: str, headers: dict[str, str], path: str, bodies: list[Any]
) -> LoadResult:
    """POST each body in turn on one keep-alive connection."""
    return asyncio.run(_one_at_a_time(base_url, headers, path, bodies))


def open_loop(
    base_url: str,
    headers: dict[str, str],
    path: str,
    bodies: list[Any],
    rate: float,
    connections: int = 32,
) -> LoadResult:
    """POST the bodies at `rate` per second over up to `connections` keep-alive connections."""
    return asyncio.run(_open_loop(base_url, headers, path, bodies, rate, connections))
