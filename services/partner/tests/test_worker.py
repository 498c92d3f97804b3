"""The delivery worker's own life: it must stop when the service stops."""

from __future__ import annotations

import asyncio

from services.partner.deliveries.worker import DeliveryWorker
from services.partner.runtime import partner_settings


async def test_a_stop_that_arrives_with_a_wake_up_still_stops_the_worker(gateway):
    """Shutdown cancels the worker; a wake-up landing in the same moment (a commit, a reply)
    must not swallow that cancel, or the service never exits. asyncio.wait_for on Python 3.11
    did swallow it (the likeliest cause of a CI run that hung for an hour in a partner test)."""
    ctx = gateway.app.state.ctx
    config = partner_settings(ctx).model_copy(update={"poll_seconds": 30})
    for turns in range(6):  # the wake-up is this many loop turns ahead of the cancel
        worker = DeliveryWorker(ctx, config)
        task = asyncio.create_task(worker.run())
        await asyncio.sleep(0.3)  # past its first (empty) claim: idle, waiting to be woken
        worker.wake()  # as the router's thread does after a commit
        for _ in range(turns):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=2)
        assert done and task.cancelled(), f"still running after a cancel {turns} turns later"
