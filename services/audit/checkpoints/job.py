"""The background job that signs a checkpoint whenever the log has grown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from services.audit.checkpoints.service import issue_checkpoint
from services.audit.checkpoints.signing import Signer
from services.audit.settings import AuditSettings
from shared.db import Database

log = logging.getLogger(__name__)


def checkpoint_job(
    db: Database, signer: Signer, settings: AuditSettings
) -> Callable[[], Awaitable[None]]:
    def sign_if_grown() -> None:
        with db.session() as session:
            checkpoint = issue_checkpoint(session, signer)
            log.debug("checkpoint at size %s", checkpoint.size)

    async def run() -> None:
        while True:
            await asyncio.to_thread(sign_if_grown)
            await asyncio.sleep(settings.checkpoint_interval_seconds)

    return run
