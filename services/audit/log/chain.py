"""Canonical entries and the hash chain.

An entry is hashed as canonical JSON: keys sorted, no insignificant whitespace, UTF-8, no
floats (RFC 8785 for the values we store). Each entry's chain hash commits to the previous
one: chain_i = SHA-256(chain_{i-1} || canonical_i), with 32 zero bytes before the first.
The same canonical bytes are the entry's Merkle leaf.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
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


def canonical(entry: Mapping[str, Any]) -> bytes:
    return _ENCODER.encode(entry).encode()


def chain_hash(previous: bytes, canonical_entry: bytes) -> bytes:
    return hashlib.sha256(previous + canonical_entry).digest()
