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
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

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


# One encoder, built once: json.dumps with options would build a new one per call.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


# The C encoder itself, made once: `encode` makes a new one on every call, which costs more
# than encoding a small entry. Same options, so the same bytes; no circular-reference
# markers (entries are built from validated data and hold no cycles).
_C_ENCODE = (
    None
    if c_make_encoder is None
    else c_make_encoder(
        None, _ENCODER.default, encode_basestring, None, ":", ",", True, False, False
    )
)


def canonical(entry: Any) -> bytes:
    """Canonical JSON of an entry (or of one of its values, for the JSON columns)."""
    if _C_ENCODE is None:
        return _ENCODER.encode(entry).encode()
    return "".join(_C_ENCODE(entry, 0)).encode()


def chain_hash(previous: bytes, canonical_entry: bytes) -> bytes:
    return hashlib.sha256(previous + canonical_entry).digest()
