"""Checkpoints over HTTP: the public key for anyone, the checkpoints for auditors."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.audit.checkpoints.schemas import CheckpointOut, PublicKeyOut
from services.audit.checkpoints.service import (
    issue_checkpoint,
    latest_checkpoint,
    list_checkpoints,
)
from services.audit.checkpoints.signing import raw_public_key
from services.audit.context import SignerDep
from shared.access_log import record_access
from shared.app import Events
from shared.auth import Auditor
from shared.db import SessionDep
from shared.errors import NotFound

router = APIRouter(prefix="/checkpoints", tags=["checkpoints"])


@router.get("/key", response_model=PublicKeyOut)
def public_key(signer: SignerDep) -> PublicKeyOut:
    """The key checkpoints are signed with: public, so anyone can check a checkpoint."""
    return PublicKeyOut(
        key_id=signer.key_id,
        public_key=base64.b64encode(raw_public_key(signer.public)).decode(),
        pem=signer.public_pem(),
    )


@router.get("/latest", response_model=CheckpointOut)
def latest(auditor: Auditor, session: SessionDep) -> CheckpointOut:
    checkpoint = latest_checkpoint(session)
    if checkpoint is None:
        raise NotFound("No checkpoint has been issued yet.", slug="no-checkpoint")
    return CheckpointOut.of(checkpoint)


@router.get("", response_model=list[CheckpointOut])
def checkpoints(
    auditor: Auditor,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: int | None = None,
) -> list[CheckpointOut]:
    """The signed checkpoints, newest first."""
    return [
        CheckpointOut.of(c) for c in list_checkpoints(session, limit=limit, before_id=before_id)
    ]


@router.post("", response_model=CheckpointOut, status_code=201)
def checkpoint_now(
    auditor: Auditor, session: SessionDep, events: Events, signer: SignerDep, response: Response
) -> CheckpointOut:
    """Sign the log's current head now (returns the last one, 200, if nothing was added)."""
    before = latest_checkpoint(session)
    checkpoint = issue_checkpoint(session, signer)
    if before is not None and checkpoint.id == before.id:
        response.status_code = 200
    record_access(
        session, events, auditor, action="audit.checkpoint.issued", resource="audit:checkpoints"
    )
    return CheckpointOut.of(checkpoint)
