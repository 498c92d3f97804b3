"""Issuing and reading checkpoints."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, col, select

from services.audit.checkpoints.signing import Signer, checkpoint_note
from services.audit.ledger import read_head
from services.audit.models import Checkpoint


def latest_checkpoint(session: Session) -> Checkpoint | None:
    return session.exec(select(Checkpoint).order_by(col(Checkpoint.id).desc()).limit(1)).first()


def checkpoint_at(session: Session, size: int) -> Checkpoint | None:
    return session.exec(
        select(Checkpoint).where(Checkpoint.size == size).order_by(col(Checkpoint.id)).limit(1)
    ).first()


def list_checkpoints(session: Session, *, limit: int, before_id: int | None) -> list[Checkpoint]:
    query = select(Checkpoint).order_by(col(Checkpoint.id).desc()).limit(limit)
    if before_id is not None:
        query = query.where(col(Checkpoint.id) < before_id)
    return list(session.exec(query))


def issue_checkpoint(session: Session, signer: Signer, *, force: bool = False) -> Checkpoint:
    """Sign the current head, unless the last checkpoint already covers it (and not forced)."""
    last = latest_checkpoint(session)
    head = read_head(session)
    if last is not None and last.size == head.size and not force:
        return last
    issued_at = datetime.now(UTC)
    root = head.frontier.root()
    checkpoint = Checkpoint(
        size=head.size,
        root_hash=root,
        chain_head=head.chain_head,
        issued_at=issued_at,
        key_id=signer.key_id,
        signature=signer.sign(checkpoint_note(head.size, root, head.chain_head, issued_at)),
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint
