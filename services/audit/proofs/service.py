"""Building proofs from the stored tree."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from services.audit.checkpoints.schemas import CheckpointOut
from services.audit.checkpoints.service import checkpoint_at, latest_checkpoint
from services.audit.ledger import entries_table, entry_from_row, read_head
from services.audit.log import merkle
from services.audit.log.store import node_fetcher
from shared.errors import Conflict, NotFound, Unprocessable


def _tree_size(session: Session, size: int | None, at_least: int) -> int:
    """The tree size to prove against: given, or the latest checkpoint's."""
    if size is None:
        checkpoint = latest_checkpoint(session)
        if checkpoint is None or checkpoint.size < at_least:
            raise Conflict(
                "No checkpoint covers that entry yet; POST /checkpoints to sign one.",
                slug="not-yet-checkpointed",
            )
        return checkpoint.size
    if size > read_head(session).size:
        raise Unprocessable("The log is not that long yet.", slug="beyond-log", field="size")
    if size < at_least:
        raise Unprocessable("The tree of that size does not hold the entry.", slug="not-in-tree")
    return size


def _checkpoint_or_none(session: Session, size: int) -> CheckpointOut | None:
    checkpoint = checkpoint_at(session, size)
    return CheckpointOut.of(checkpoint) if checkpoint else None


def inclusion(
    session: Session, *, position: int | None, event_id: str | None, size: int | None
) -> dict[str, Any]:
    """The audit path of one entry, with the entry itself and the checkpoint it is proved in."""
    query = select(entries_table)
    if position is not None:
        query = query.where(entries_table.c.position == position)
    elif event_id is not None:
        query = query.where(entries_table.c.event_id == event_id)
    else:
        raise Unprocessable("Name the entry by position or event_id.", slug="no-entry-named")
    row = session.execute(query).one_or_none()
    if row is None:
        raise NotFound("No such entry.", slug="no-such-entry")
    tree_size = _tree_size(session, size, row.position)
    fetch = node_fetcher(session)
    path = merkle.inclusion_proof(row.position - 1, tree_size, fetch)
    return {
        "kind": "inclusion",
        "entry": entry_from_row(row),
        "leaf_index": row.position - 1,
        "tree_size": tree_size,
        "leaf_hash": row.leaf_hash.hex(),
        "root_hash": merkle.root_at(tree_size, fetch).hex(),
        "proof": [h.hex() for h in path],
        "checkpoint": _checkpoint_or_none(session, tree_size),
    }


def consistency(session: Session, *, first: int, second: int | None) -> dict[str, Any]:
    """Proof that the log of `first` entries is a prefix of the log of `second`."""
    second_size = _tree_size(session, second, first)
    if first < 1:
        raise Unprocessable("first must be at least 1.", slug="bad-size", field="first")
    fetch = node_fetcher(session)
    return {
        "kind": "consistency",
        "first": first,
        "second": second_size,
        "first_root": merkle.root_at(first, fetch).hex(),
        "second_root": merkle.root_at(second_size, fetch).hex(),
        "proof": [h.hex() for h in merkle.consistency_proof(first, second_size, fetch)],
        "first_checkpoint": _checkpoint_or_none(session, first),
        "second_checkpoint": _checkpoint_or_none(session, second_size),
    }
