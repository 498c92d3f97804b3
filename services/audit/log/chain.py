"""Canonical entries and the hash chain.

An entry is hashed as canonical JSON: keys sorted, no insignificant whitespace, UTF-8, no
floats (RFC 8785 for the values we store). Each entry's chain hash commits to the previous
one: chain_i = SHA-256(chain_{i-1} || canonical_i), with 32 zero bytes before the first.
The same canonical bytes are the entry's Merkle leaf.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import orjson

GENESIS = b"\x00" * 32

# The fields of an entry, in the order exports and CSV columns list them.
ENTRY_FIELDS = (
    "position",
    "event_id",
    "source",
    "sequence",
    "service",
    "action",
    "resource",
    "decision",
    "actor",
    "person_id",
    "person_ref",
    "categories",
    "purpose",
    "basis",
    "reason",
    "trace_id",
    "occurred_at",
    "recorded_at",
)


def timestamp(value: datetime) -> str:
    """One spelling of an instant: UTC, microseconds, `Z` (isoformat: strftime is slower)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


# The reference encoder (the standard library's): kept for what orjson refuses (integers
# beyond 64 bits, non-string keys), so such values still encode, or fail, as they always did.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical(entry: Any) -> bytes:
    """Canonical JSON of an entry (or of one of its values, for the JSON columns).

    orjson with sorted keys writes the same bytes as the reference encoder for every string
    (all code points, escapes), integer, list and object (`test_canonical.py` proves it), at a
    fraction of the cost. Floats would differ in spelling (1e-07 vs 1e-7); entries hold none:
    every number in them is a validated integer.
    """
    try:
        return orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return _ENCODER.encode(entry).encode()


def chain_hash(previous: bytes, canonical_entry: bytes) -> bytes:
    return hashlib.sha256(previous + canonical_entry).digest()
