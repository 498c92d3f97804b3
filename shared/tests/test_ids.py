"""Ids: unique, and ordered by creation so the indexes keyed by them append."""

from __future__ import annotations

import uuid

from shared.models import new_id


def test_new_ids_are_uuid7_unique_and_in_creation_order():
    ids = [new_id() for _ in range(5000)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert ids == sorted(ids)  # as text: what a database index compares
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 36 for i in ids)  # fits every id column (max_length=36)
