"""Reading the stored tree: complete nodes by (level, idx), leaves from the entries."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from services.audit.log.merkle import FetchNodes, NodeKey


def _ints(values: list[int]) -> str:
    return ",".join(str(int(v)) for v in values)


def node_fetcher(session: Session) -> FetchNodes:
    """Fetch the nodes a proof needs in two statements.

    The SQL is written out with integer literals only (never caller text): an expression
    built per proof costs more to compile than the lookups, and one
    `(level = L AND idx IN (...))` term per level lets both databases use the primary key.
    """

    def fetch(keys: set[NodeKey]) -> dict[NodeKey, bytes]:
        found: dict[NodeKey, bytes] = {}
        leaves = [idx + 1 for level, idx in keys if level == 0]
        by_level: dict[int, list[int]] = {}
        for level, idx in keys:
            if level > 0:
                by_level.setdefault(level, []).append(idx)
        if leaves:
            rows = session.execute(
                text(
                    "SELECT position, leaf_hash FROM audit_entries "  # noqa: S608 - integers
                    f"WHERE position IN ({_ints(leaves)})"
                )
            )
            found.update(((0, pos - 1), bytes(h)) for pos, h in rows)
        if by_level:
            terms = " OR ".join(
                f"(level = {int(level)} AND idx IN ({_ints(idxs)}))"
                for level, idxs in by_level.items()
            )
            sql = f"SELECT level, idx, hash FROM merkle_nodes WHERE {terms}"  # noqa: S608 - integers
            rows = session.execute(text(sql))
            found.update(((lv, i), bytes(h)) for lv, i, h in rows)
        return found

    return fetch
