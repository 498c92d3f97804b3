"""Appending to the log: chain hash and Merkle leaf computed in order, in the ingest batch.

The head row is locked for the whole batch, the batch's entries are hashed in memory in
order, and entries, completed tree nodes and the new head are written with three statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from services.audit.log.chain import canonical, chain_hash, timestamp
from services.audit.log.merkle import Frontier, leaf_hash
from services.audit.log.rows import Row, datetime_converter, insert_rows
from services.audit.models import AuditEntry, LogHead, MerkleNode
from services.audit.records import AccessFields
from shared.db import is_sqlite

HEAD_ID = 1

entries_table = AuditEntry.__table__  # type: ignore[attr-defined]
nodes_table = MerkleNode.__table__  # type: ignore[attr-defined]
head_table = LogHead.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Arrival:
    """An access record as it arrived: which event carried it, from which source."""

    event_id: str
    source: str
    sequence: int | None
    record: AccessFields


@dataclass(frozen=True)
class Head:
    size: int
    chain_head: bytes
    frontier: Frontier


def entry_of(
    position: int, arrival: Arrival, recorded_at: datetime, *, recorded: str | None = None
) -> dict[str, Any]:
    """The canonical entry: every field of the access record, plus where it sits and came from.

    `recorded` is `timestamp(recorded_at)` when the caller has it already (a batch shares one).
    """
    r = arrival.record
    actor = r["actor"]
    basis = r.get("basis", {})
    return {
        "position": position,
        "event_id": arrival.event_id,
        "source": arrival.source,
        "sequence": arrival.sequence,
        "service": r["service"],
        "action": r["action"],
        "resource": r["resource"],
        "decision": r["decision"],
        "actor": {"sub": actor["sub"], "agency": actor["agency"], "roles": actor["roles"]},
        "person_id": r.get("person_id"),
        "person_ref": r.get("person_ref"),
        "categories": r.get("categories", []),
        "purpose": r.get("purpose"),
        # Every field of Basis, defaults included, as `Basis.model_dump` gave them.
        "basis": {
            "consents": basis.get("consents", []),
            "agreements": basis.get("agreements", []),
            "break_glass": basis.get("break_glass"),
        },
        "reason": r.get("reason"),
        "trace_id": r.get("trace_id"),
        "occurred_at": timestamp(r["occurred_at"]),
        "recorded_at": recorded or timestamp(recorded_at),
    }


def parse_timestamp(value: str) -> datetime:
    """The inverse of `timestamp` (fromisoformat reads the trailing Z since Python 3.11)."""
    return datetime.fromisoformat(value)


def row_of(entry: Mapping[str, Any], leaf: bytes, chain: bytes) -> dict[str, Any]:
    actor = entry["actor"]
    return {
        **{k: entry[k] for k in entry if k not in ("actor", "occurred_at", "recorded_at")},
        "actor_sub": actor["sub"],
        "actor_agency": actor["agency"],
        "actor_roles": actor["roles"],
        "occurred_at": parse_timestamp(entry["occurred_at"]),
        "recorded_at": parse_timestamp(entry["recorded_at"]),
        "leaf_hash": leaf,
        "chain_hash": chain,
    }


# The entry columns in the order `row_tuple` gives them.
ROW_COLUMNS = (
    "position",
    "event_id",
    "source",
    "sequence",
    "service",
    "action",
    "resource",
    "decision",
    "actor_sub",
    "actor_agency",
    "actor_roles",
    "person_id",
    "person_ref",
    "categories",
    "purpose",
    "basis",
    "reason",
    "trace_id",
    "occurred_at",
    "recorded_at",
    "leaf_hash",
    "chain_hash",
)
NODE_COLUMNS = ("level", "idx", "hash")


# JSON columns are encoded here (compact, sorted), read back with json.loads. Role and
# category lists repeat across entries, so their text is kept per distinct list.
@lru_cache(maxsize=4096)
def _json_list(values: tuple[str, ...]) -> str:
    return canonical(list(values)).decode()


def row_tuple(
    entry: Mapping[str, Any],
    arrival: Arrival,
    recorded_at: object,
    leaf: bytes,
    chain: bytes,
    to_db: Any,
) -> Row:
    """The stored row of an entry, as `row_of` gives it, for `insert_rows` (the lean path).

    Datetimes come from the record itself (UTC, whole microseconds: the same instants the
    canonical strings spell), passed through the column's own conversion `to_db`.
    """
    actor = entry["actor"]
    return (
        entry["position"],
        entry["event_id"],
        entry["source"],
        entry["sequence"],
        entry["service"],
        entry["action"],
        entry["resource"],
        entry["decision"],
        actor["sub"],
        actor["agency"],
        _json_list(tuple(actor["roles"])),
        entry["person_id"],
        entry["person_ref"],
        _json_list(tuple(entry["categories"])),
        entry["purpose"],
        canonical(entry["basis"]).decode(),
        entry["reason"],
        entry["trace_id"],
        to_db(arrival.record["occurred_at"]),
        recorded_at,
        leaf,
        chain,
    )


def entry_from_row(row: Any) -> dict[str, Any]:
    """Rebuild the canonical entry from a stored row (the inverse of `row_of`)."""
    return {
        "position": row.position,
        "event_id": row.event_id,
        "source": row.source,
        "sequence": row.sequence,
        "service": row.service,
        "action": row.action,
        "resource": row.resource,
        "decision": row.decision,
        "actor": {"sub": row.actor_sub, "agency": row.actor_agency, "roles": row.actor_roles},
        "person_id": row.person_id,
        "person_ref": row.person_ref,
        "categories": row.categories,
        "purpose": row.purpose,
        "basis": row.basis,
        "reason": row.reason,
        "trace_id": row.trace_id,
        "occurred_at": timestamp(row.occurred_at),
        "recorded_at": timestamp(row.recorded_at),
    }


def read_head(session: Session, *, lock: bool = False) -> Head:
    query = select(head_table).where(head_table.c.id == HEAD_ID)
    if lock and not is_sqlite(session.get_bind()):  # type: ignore[arg-type]
        query = query.with_for_update()
    row = session.execute(query).one_or_none()
    if row is None:
        return Head(0, b"\x00" * 32, Frontier())
    return Head(row.size, row.chain_head, Frontier.from_bytes(row.size, row.frontier))


# One expanding parameter: `in_(list)` would coerce each id into a literal per batch.
_KNOWN = select(entries_table.c.event_id).where(
    entries_table.c.event_id.in_(bindparam("ids", expanding=True))
)


def _known(session: Session, event_ids: list[str]) -> set[str]:
    if not event_ids:
        return set()
    return set(session.execute(_KNOWN, {"ids": event_ids}).scalars())


# SQLite, for the connection that appends: the entries' unique event id and person index take
# inserts at random places, which miss the default 2 MB page cache once the log outgrows it.
# 64 MB of cache (allocated as used). A longer WAL between checkpoints (10,000 pages) halved
# the commit too, but doubled a person's-last-100 query at 1M entries: left at the default.
_SQLITE_WRITER_PRAGMAS = ("PRAGMA cache_size=-65536",)


def _prepare_writer(session: Session) -> None:
    connection = session.connection()
    if connection.dialect.name != "sqlite" or connection.info.get("audit_writer"):
        return
    for pragma in _SQLITE_WRITER_PRAGMAS:
        connection.exec_driver_sql(pragma)
    connection.info["audit_writer"] = True


def append(
    session: Session, arrivals: Iterable[Arrival], *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Append the arrivals not yet in the log, in order; return their canonical entries."""
    arrivals = list(arrivals)
    _prepare_writer(session)
    known = _known(session, [a.event_id for a in arrivals])
    head = read_head(session, lock=True)
    recorded_at = (now or datetime.now(UTC)).astimezone(UTC)
    to_db = datetime_converter(entries_table, "occurred_at", session.get_bind().dialect)
    stored_at = to_db(recorded_at)
    recorded = timestamp(recorded_at)
    frontier, chain = head.frontier, head.chain_head
    entries: list[dict[str, Any]] = []
    rows: list[Row] = []
    nodes: list[Row] = []
    for arrival in arrivals:
        if arrival.event_id in known:
            continue
        known.add(arrival.event_id)
        entry = entry_of(frontier.size + 1, arrival, recorded_at, recorded=recorded)
        body = canonical(entry)
        leaf = leaf_hash(body)
        chain = chain_hash(chain, body)
        nodes.extend(frontier.append(leaf))
        entries.append(entry)
        rows.append(row_tuple(entry, arrival, stored_at, leaf, chain, to_db))
    if not rows:
        return []
    insert_rows(session, entries_table, ROW_COLUMNS, rows)
    insert_rows(session, nodes_table, NODE_COLUMNS, nodes)
    state = {"size": frontier.size, "chain_head": chain, "frontier": frontier.to_bytes()}
    if head.size == 0 and not _head_exists(session):
        session.execute(insert(head_table).values(id=HEAD_ID, **state))
    else:
        session.execute(update(head_table).where(head_table.c.id == HEAD_ID).values(**state))
    return entries


def _head_exists(session: Session) -> bool:
    return session.execute(select(head_table.c.id)).first() is not None
