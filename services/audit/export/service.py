"""Producing an export: a fresh checkpoint, then every covered entry with its proof material."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from services.audit.checkpoints.schemas import CheckpointOut
from services.audit.checkpoints.service import list_checkpoints
from services.audit.checkpoints.signing import Signer, raw_public_key
from services.audit.entries.queries import EntryFilter, scan
from services.audit.ledger import entries_table, entry_from_row
from services.audit.log import merkle
from services.audit.log.chain import GENESIS
from services.audit.log.store import node_fetcher
from services.audit.models import Checkpoint
from shared.db import Database

MAX_EARLIER_CHECKPOINTS = 1000


def export_header(
    session: Session, checkpoint: Checkpoint, where: EntryFilter, signer: Signer
) -> dict[str, Any]:
    earlier = [
        CheckpointOut.of(c).model_dump()
        for c in list_checkpoints(session, limit=MAX_EARLIER_CHECKPOINTS, before_id=checkpoint.id)
        if c.size <= checkpoint.size
    ]
    return {
        "scope": "full" if where.is_empty() else "filtered",
        "filter": where.describe(),
        "checkpoint": CheckpointOut.of(checkpoint).model_dump(),
        "checkpoints": earlier[::-1],
        "public_key": base64.b64encode(raw_public_key(signer.public)).decode(),
    }


def _prev_hashes(session: Session, positions: list[int]) -> dict[int, bytes]:
    wanted = [p - 1 for p in positions if p > 1]
    rows = session.execute(
        select(entries_table.c.position, entries_table.c.chain_hash).where(
            entries_table.c.position.in_(wanted)
        )
    )
    found = {pos + 1: h for pos, h in rows}
    found[1] = GENESIS
    return found


def exported_entries(
    db: Database, where: EntryFilter, size: int
) -> Iterator[tuple[dict[str, Any], bytes, bytes, bytes | None, list[bytes] | None]]:
    """(entry, leaf, chain, prev, inclusion) for each covered entry, oldest first.

    A full export needs neither prev nor inclusion (the verifier rebuilds both); a filtered
    one carries them so that each entry can be checked on its own against the checkpoint.
    """
    full = where.is_empty()
    with db.session() as session:
        fetch = node_fetcher(session)
        chunk: list[Any] = []
        for row in scan(session, where, up_to=size):
            chunk.append(row)
            if len(chunk) >= 500:
                yield from _emit(session, chunk, full, size, fetch)
                chunk = []
        yield from _emit(session, chunk, full, size, fetch)


def _emit(
    session: Session, rows: list[Any], full: bool, size: int, fetch: merkle.FetchNodes
) -> Iterator[tuple[dict[str, Any], bytes, bytes, bytes | None, list[bytes] | None]]:
    if not rows:
        return
    if full:
        for row in rows:
            yield entry_from_row(row), row.leaf_hash, row.chain_hash, None, None
        return
    prevs = _prev_hashes(session, [r.position for r in rows])
    for row in rows:
        proof = merkle.inclusion_proof(row.position - 1, size, fetch)
        yield entry_from_row(row), row.leaf_hash, row.chain_hash, prevs[row.position], proof
