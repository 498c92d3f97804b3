"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and their verification.

Leaf hash = SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right); the tree over n
leaves splits at the largest power of two below n. Proofs are computed over any store of
*complete* subtrees: a perfect, aligned subtree of 2**level leaves starting at leaf
idx * 2**level is addressed as (level, idx); level 0 is a leaf hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

NodeKey = tuple[int, int]
GetNode = Callable[[int, int], bytes]

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The roots of the perfect subtrees covering the first `size` leaves, left to right.

    Appending a leaf merges equal-sized subtrees; each merge completes a node, reported so the
    caller can store it for later proofs. The root is the right fold of the frontier.
    """

    def __init__(self, size: int = 0, hashes: list[bytes] | None = None) -> None:
        self.size = size
        self.hashes = list(hashes or [])
        if len(self.hashes) != size.bit_count():
            raise ValueError("a frontier holds one hash per set bit of its size")

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; return the completed nodes as (level, idx, hash)."""
        index = self.size
        self.hashes.append(leaf)
        completed = []
        level = 0
        while (index >> level) & 1:
            right = self.hashes.pop()
            left = self.hashes.pop()
            level += 1
            merged = node_hash(left, right)
            self.hashes.append(merged)
            completed.append((level, index >> level, merged))
        self.size += 1
        return completed

    def add(self, leaf: bytes) -> None:
        """`append` without reporting completed nodes (verification needs only the root)."""
        hashes, index = self.hashes, self.size
        hashes.append(leaf)
        while index & 1:
            right = hashes.pop()
            hashes[-1] = node_hash(hashes[-1], right)
            index >>= 1
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        acc = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            acc = node_hash(h, acc)
        return acc

    def to_bytes(self) -> bytes:
        return b"".join(self.hashes)

    @classmethod
    def from_bytes(cls, size: int, raw: bytes) -> Frontier:
        return cls(size, [raw[i : i + 32] for i in range(0, len(raw), 32)])


def root_of(leaves: Iterable[bytes]) -> bytes:
    """The tree head over leaf hashes given in order."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


# --- subtree hashes over stored complete nodes --------------------------------------------
def subtree_hash(start: int, end: int, get: GetNode) -> bytes:
    """MTH(D[start:end]) for a range that RFC 9162's recursion produces (start aligned)."""
    n = end - start
    if n & (n - 1) == 0:
        level = n.bit_length() - 1
        return get(level, start >> level)
    k = _split(n)
    return node_hash(get((k.bit_length() - 1), start // k), subtree_hash(start + k, end, get))


def _path(m: int, start: int, end: int, get: GetNode) -> list[bytes]:
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, start, start + k, get), subtree_hash(start + k, end, get)]
    return [*_path(m - k, start + k, end, get), subtree_hash(start, start + k, get)]


def _subproof(m: int, start: int, end: int, complete: bool, get: GetNode) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if complete else [subtree_hash(start, end, get)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, start, start + k, complete, get), subtree_hash(start + k, end, get)]
    return [*_subproof(m - k, start + k, end, False, get), subtree_hash(start, start + k, get)]


def _with_nodes(compute: Callable[[GetNode], list[bytes]], fetch: FetchNodes) -> list[bytes]:
    """Run a proof twice: once to learn which stored nodes it needs, once with them fetched."""
    wanted: set[NodeKey] = set()

    def note(level: int, idx: int) -> bytes:
        wanted.add((level, idx))
        return b"\x00" * 32

    compute(note)
    nodes = fetch(wanted)
    missing = wanted - nodes.keys()
    if missing:
        raise LookupError(f"the store lacks nodes {sorted(missing)[:5]}")
    return compute(lambda level, idx: nodes[(level, idx)])


FetchNodes = Callable[[set[NodeKey]], dict[NodeKey, bytes]]


def inclusion_proof(index: int, size: int, fetch: FetchNodes) -> list[bytes]:
    """RFC 9162 2.1.3.1: the audit path of leaf `index` in the tree of `size` leaves."""
    if not 0 <= index < size:
        raise ValueError("the leaf index must be below the tree size")
    return _with_nodes(lambda get: _path(index, 0, size, get), fetch)


def consistency_proof(first: int, second: int, fetch: FetchNodes) -> list[bytes]:
    """RFC 9162 2.1.4.1: proof that the tree of `first` leaves is a prefix of `second`."""
    if not 0 < first <= second:
        raise ValueError("need 0 < first <= second")
    return _with_nodes(lambda get: _subproof(first, 0, second, True, get), fetch)


def root_at(size: int, fetch: FetchNodes) -> bytes:
    """The tree head at an earlier size, from stored complete nodes."""
    if size == 0:
        return EMPTY_ROOT
    return _with_nodes(lambda get: [subtree_hash(0, size, get)], fetch)[0]


# --- verification (RFC 9162 2.1.3.2 and 2.1.4.2) --------------------------------------------
def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """Does `proof` show that leaf hash `leaf` sits at `index` of the tree with head `root`?"""
    if index >= size or index < 0:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    """Does `proof` show that the tree of `first` leaves is a prefix of the one of `second`?"""
    if first <= 0 or first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0
