"""Exports for auditors: JSON Lines (verifiable offline) or CSV, with proof material."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from services.audit.checkpoints.service import issue_checkpoint
from services.audit.context import SignerDep
from services.audit.entries.endpoints import Filter
from services.audit.export import formats
from services.audit.export.service import export_header, exported_entries
from shared.access_log import record_access
from shared.app import Context, Events
from shared.auth import Auditor
from shared.db import SessionDep

router = APIRouter(prefix="/export", tags=["export"])


@router.get("")
def export(
    auditor: Auditor,
    ctx: Context,
    session: SessionDep,
    events: Events,
    signer: SignerDep,
    where: Filter,
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
) -> StreamingResponse:
    """Every entry (or those matching the filter) up to a checkpoint signed for the export.

    Without a filter the export is the whole log, which `casebridge audit verify` rechecks
    entry by entry; with one, each entry carries its inclusion proof and previous chain hash.
    """
    checkpoint = issue_checkpoint(session, signer)
    header = export_header(session, checkpoint, where, signer)
    record_access(
        session,
        events,
        auditor,
        action="audit.log.exported",
        resource="audit:export",
        person_id=where.person_id,
        reason=f"{format}; {where.describe()}; size={checkpoint.size}",
    )
    rows = exported_entries(ctx.db, where, checkpoint.size)
    name = f"casebridge-audit-{checkpoint.size}.{format}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if format == "csv":
        c = header["checkpoint"]
        checkpoint_headers = {
            "X-Checkpoint-Size": str(c["size"]),
            "X-Checkpoint-Root": c["root_hash"],
            "X-Checkpoint-Chain-Head": c["chain_head"],
            "X-Checkpoint-Issued-At": c["issued_at"],
            "X-Checkpoint-Key-Id": c["key_id"],
            "X-Checkpoint-Signature": c["signature"],
        }
        body = formats.csv_rows(formats.csv_row(*r) for r in rows)
        return StreamingResponse(
            body, media_type="text/csv", headers={**disposition, **checkpoint_headers}
        )

    def jsonl() -> Iterator[bytes]:
        yield formats.header_line(header)
        for entry, leaf, chain, prev, inclusion in rows:
            yield formats.entry_line(entry, leaf, chain, prev=prev, inclusion=inclusion)

    return StreamingResponse(jsonl(), media_type="application/x-ndjson", headers=disposition)
