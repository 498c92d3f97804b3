"""The export formats. JSON Lines is what `casebridge audit verify` checks:

    {"kind":"header","scope":"full"|"filtered","filter":..., "checkpoint":{...},
     "checkpoints":[...earlier checkpoints...], "public_key":"<base64>"}
    {"entry":<canonical entry>,"leaf_hash":"<hex>","chain_hash":"<hex>"}          (full)
    {"entry":...,"leaf_hash":...,"chain_hash":...,"prev_hash":...,"inclusion":[...]}  (filtered)

An entry line embeds the canonical bytes verbatim, so a verifier can hash them without
re-serialising. A full export holds every entry from position 1 to the checkpoint's size.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from services.audit.log.chain import ENTRY_FIELDS, canonical

ENTRY_PREFIX = b'{"entry":'
FULL_SUFFIX_LEN = len(b',"leaf_hash":"') + 64 + len(b'","chain_hash":"') + 64 + len(b'"}')


def header_line(header: dict[str, Any]) -> bytes:
    return json.dumps({"kind": "header", **header}, separators=(",", ":")).encode() + b"\n"


def entry_line(
    entry: dict[str, Any],
    leaf: bytes,
    chain: bytes,
    *,
    prev: bytes | None = None,
    inclusion: list[bytes] | None = None,
) -> bytes:
    line = ENTRY_PREFIX + canonical(entry) + b',"leaf_hash":"' + leaf.hex().encode()
    line += b'","chain_hash":"' + chain.hex().encode() + b'"'
    if prev is not None:
        line += b',"prev_hash":"' + prev.hex().encode() + b'"'
    if inclusion is not None:
        line += b',"inclusion":' + json.dumps([h.hex() for h in inclusion]).encode()
    return line + b"}\n"


CSV_COLUMNS = [
    *(f for f in ENTRY_FIELDS if f != "actor"),
    "actor_sub",
    "actor_agency",
    "actor_roles",
    "leaf_hash",
    "chain_hash",
    "prev_hash",
    "inclusion",
]


def csv_rows(rows: Iterable[dict[str, Any]]) -> Iterable[str]:
    """CSV text in chunks; lists and objects as JSON in their cell, proofs space-separated."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_row(
    entry: dict[str, Any],
    leaf: bytes,
    chain: bytes,
    prev: bytes | None,
    inclusion: list[bytes] | None,
) -> dict[str, Any]:
    flat: dict[str, Any] = {k: v for k, v in entry.items() if k != "actor"}
    for k in ("categories", "basis"):
        flat[k] = json.dumps(flat[k], sort_keys=True)
    flat["actor_sub"] = entry["actor"]["sub"]
    flat["actor_agency"] = entry["actor"]["agency"]
    flat["actor_roles"] = json.dumps(entry["actor"]["roles"])
    flat["leaf_hash"] = leaf.hex()
    flat["chain_hash"] = chain.hex()
    flat["prev_hash"] = prev.hex() if prev else ""
    flat["inclusion"] = " ".join(h.hex() for h in inclusion or [])
    return flat
