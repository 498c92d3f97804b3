"""The canonical encoding must not change: every kept checkpoint and every export already
handed to an auditor commits to the bytes the reference encoder (the standard library's
json, sorted keys, compact, UTF-8) wrote. `canonical` now uses orjson; these tests hold it to
exactly the reference's bytes for every kind of value an entry can hold."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.audit.ingest import arrival_of
from services.audit.ledger import entry_of
from services.audit.log.chain import canonical
from shared.events import CloudEvent


def reference(value: Any) -> bytes:
    """The encoding every existing chain was computed with."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


# Every Unicode scalar value (no lone surrogates: they are not UTF-8, and both refuse them).
EVERY_CODE_POINT = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)

TRICKY_ENTRY = {
    "position": 9223372036854775807,
    "event_id": "e-\u00e9\u4e2d\U0001f600",
    "source": "/casebridge/consent",
    "sequence": None,
    "service": "consent",
    "action": 'a"b\\c/d\b\f\n\r\t\x00\x1f\x7f\u2028\u2029',
    "resource": "r",
    "decision": "denied",
    "actor": {"sub": "O'Brien", "agency": None, "roles": ["z", "a", "\u00c5"]},
    "person_id": "p",
    "person_ref": None,
    "categories": [],
    "purpose": "",
    "basis": {"consents": [{"id": "c", "version": -1}], "agreements": ["x"], "break_glass": "why?"},
    "reason": "\ufeffline1\nline2",
    "trace_id": None,
    "occurred_at": "2026-12-03T09:00:00.000000Z",
    "recorded_at": "0001-01-01T00:00:00.000001Z",
    "nested": {"b": [{"d": 1, "c": [True, False, None]}], "a": {}, "\u00e9": 0, "E": -0},
}


def test_a_tricky_entry_hashes_as_it_did_before_orjson():
    # The hash was computed with the encoder this module used until 2026-12-03.
    digest = "aef4b582e1923313a84e1a5068c252f017ef43a6e43191ede2225142ca659b08"
    assert hashlib.sha256(canonical(TRICKY_ENTRY)).hexdigest() == digest
    assert canonical(TRICKY_ENTRY) == reference(TRICKY_ENTRY)


def test_every_code_point_is_spelled_as_the_reference_spells_it():
    assert canonical(EVERY_CODE_POINT) == reference(EVERY_CODE_POINT)
    for i in range(0, len(EVERY_CODE_POINT), 4096):  # as keys, sorted among each other
        chunk = EVERY_CODE_POINT[i : i + 4096]
        keys = {chunk[j : j + 7]: j for j in range(0, len(chunk), 7)}
        assert canonical(keys) == reference(keys)


@pytest.mark.parametrize(
    "value",
    [0, -0, 1, -1, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1, True, False, None, "", [], {}],
)
def test_scalars_and_empty_containers(value):
    assert canonical(value) == reference(value)


def test_integers_beyond_64_bits_still_encode_as_before():
    # orjson refuses them; the reference encoder takes over.
    for value in (2**64, -(2**63) - 1, {"position": 10**30}):
        assert canonical(value) == reference(value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)


@given(json_values)
def test_any_float_free_json_value_encodes_as_the_reference(value):
    assert canonical(value) == reference(value)


def test_floats_would_be_spelled_differently_so_entries_hold_none():
    """orjson writes 1e-7 where the reference writes 1e-07: the reason an entry must not hold a
    float. Its numbers are position, sequence and consent versions, validated as integers."""
    assert canonical(1e-7) != reference(1e-7)
    event = CloudEvent(
        source="/casebridge/consent",
        type="audit.access.v1",
        sequence=3,
        data={
            "actor": {"sub": "u", "agency": "a", "roles": ["caseworker"]},
            "action": "x.read",
            "resource": "x/1",
            "decision": "permitted",
            "service": "consent",
            "basis": {"consents": [{"id": "c-1", "version": 2.0}]},
        },
    )
    entry = entry_of(7, arrival_of(event), event.time)

    def floats(value: Any) -> list[float]:
        if isinstance(value, float):
            return [value]
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            return [f for v in value for f in floats(v)]
        return []

    assert floats(entry) == []
    assert canonical(entry) == reference(entry)


def test_random_entries_encode_as_the_reference():
    rnd = random.Random(6)
    alphabet = 'aZ09 "\\/\n\t\x00\x1f\x7fé中😀\u2028'
    for _ in range(200):
        entry = dict(TRICKY_ENTRY)
        for key in ("action", "resource", "reason", "person_ref"):
            entry[key] = "".join(rnd.choice(alphabet) for _ in range(rnd.randrange(20)))
        entry["position"] = rnd.randrange(2**63)
        assert canonical(entry) == reference(entry)
