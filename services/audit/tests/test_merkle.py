"""RFC 9162 tree hashing and proofs, against a direct transcription of the RFC's definitions."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.audit.log import merkle


def mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 9162 2.1.1 defines it, over raw leaves."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def build(n: int) -> tuple[list[bytes], merkle.FetchNodes]:
    """n leaves, with a node store filled the way the ledger fills it."""
    leaves = [f"entry {i}".encode() for i in range(n)]
    store: dict[tuple[int, int], bytes] = {}
    frontier = merkle.Frontier()
    for i, leaf in enumerate(leaves):
        h = merkle.leaf_hash(leaf)
        store[(0, i)] = h
        for level, idx, node in frontier.append(h):
            store[(level, idx)] = node
    return leaves, lambda keys: {k: store[k] for k in keys if k in store}


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 100])
def test_frontier_root_is_the_rfc_tree_head(n):
    leaves, fetch = build(n)
    frontier = merkle.Frontier()
    for leaf in leaves:
        frontier.add(merkle.leaf_hash(leaf))
    assert frontier.root() == mth(leaves)
    assert merkle.root_at(n, fetch) == mth(leaves)


def test_frontier_survives_a_round_trip_through_bytes():
    frontier = merkle.Frontier()
    for i in range(13):
        frontier.append(merkle.leaf_hash(bytes([i])))
    again = merkle.Frontier.from_bytes(13, frontier.to_bytes())
    again.append(merkle.leaf_hash(b"x"))
    frontier.append(merkle.leaf_hash(b"x"))
    assert again.root() == frontier.root()


def test_every_inclusion_proof_verifies_for_every_size_up_to_33():
    leaves, fetch = build(33)
    for size in range(1, 34):
        root = mth(leaves[:size])
        assert merkle.root_at(size, fetch) == root
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, fetch)
            leaf = merkle.leaf_hash(leaves[index])
            assert merkle.verify_inclusion(leaf, index, size, proof, root)


def test_every_consistency_proof_verifies_for_every_pair_up_to_33():
    leaves, fetch = build(33)
    for second in range(1, 34):
        for first in range(1, second + 1):
            proof = merkle.consistency_proof(first, second, fetch)
            assert merkle.verify_consistency(
                first, second, mth(leaves[:first]), mth(leaves[:second]), proof
            ), (first, second)


def test_forged_inclusion_proofs_fail():
    leaves, fetch = build(21)
    root = mth(leaves)
    leaf = merkle.leaf_hash(leaves[6])
    proof = merkle.inclusion_proof(6, 21, fetch)
    assert merkle.verify_inclusion(leaf, 6, 21, proof, root)
    flipped = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
    assert not merkle.verify_inclusion(leaf, 6, 21, flipped, root)
    assert not merkle.verify_inclusion(leaf, 7, 21, proof, root)  # wrong place
    assert not merkle.verify_inclusion(leaf, 6, 21, proof, mth(leaves[:20]))  # other head
    assert not merkle.verify_inclusion(leaf, 6, 8, proof, root)  # another tree's shape
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), 6, 21, proof, root)
    assert not merkle.verify_inclusion(leaf, 6, 21, proof[:-1], root)  # truncated
    assert not merkle.verify_inclusion(leaf, 6, 21, [*proof, proof[0]], root)  # padded
    assert not merkle.verify_inclusion(leaf, 21, 21, proof, root)


def test_forged_consistency_proofs_fail():
    leaves, fetch = build(20)
    proof = merkle.consistency_proof(6, 20, fetch)
    first, second = mth(leaves[:6]), mth(leaves[:20])
    assert merkle.verify_consistency(6, 20, first, second, proof)
    rewritten = mth([*leaves[:3], b"altered", *leaves[4:6]])
    assert not merkle.verify_consistency(6, 20, rewritten, second, proof)
    assert not merkle.verify_consistency(6, 20, first, mth(leaves[:19]), proof)
    assert not merkle.verify_consistency(6, 20, first, second, proof[1:])
    assert not merkle.verify_consistency(7, 20, first, second, proof)
    assert not merkle.verify_consistency(6, 6, first, second, [])


@given(st.integers(1, 300), st.data())
def test_inclusion_and_consistency_hold_for_random_sizes(size, data):
    leaves, fetch = build(size)
    index = data.draw(st.integers(0, size - 1))
    first = data.draw(st.integers(1, size))
    root = mth(leaves)
    proof = merkle.inclusion_proof(index, size, fetch)
    assert merkle.verify_inclusion(merkle.leaf_hash(leaves[index]), index, size, proof, root)
    assert len(proof) <= size.bit_length()
    cproof = merkle.consistency_proof(first, size, fetch)
    assert merkle.verify_consistency(first, size, mth(leaves[:first]), root, cproof)


def test_proofs_refuse_impossible_requests():
    _, fetch = build(4)
    with pytest.raises(ValueError):
        merkle.inclusion_proof(4, 4, fetch)
    with pytest.raises(ValueError):
        merkle.consistency_proof(0, 4, fetch)
    with pytest.raises(LookupError):
        merkle.inclusion_proof(0, 8, fetch)  # the store holds only 4 leaves


@given(
    st.datetimes(
        min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
    )
)
def test_timestamps_have_one_spelling_that_reads_back(moment):

    from services.audit.log.chain import timestamp

    spelled = timestamp(moment)
    assert spelled == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert datetime.fromisoformat(spelled) == moment.astimezone(UTC)
