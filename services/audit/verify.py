"""Offline verification of an export or a proof, with nothing but the file and a public key.

A full export is rechecked entry by entry: each entry's leaf hash, its chain hash from the
one before, the Merkle root and chain head at every checkpoint the export carries, and each
checkpoint's Ed25519 signature. The first entry that does not match is reported; if the chain
was rewritten consistently, the signed checkpoints bound where.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.audit.checkpoints.signing import checkpoint_note, signature_valid
from services.audit.export.formats import ENTRY_PREFIX, FULL_SUFFIX_LEN
from services.audit.log import merkle
from services.audit.log.chain import GENESIS, canonical

_LEAF_AT = -FULL_SUFFIX_LEN + len(b',"leaf_hash":"')
_CHAIN_AT = _LEAF_AT + 64 + len(b'","chain_hash":"')


@dataclass
class Report:
    ok: bool = True
    entries: int = 0
    first_bad: int | None = None
    problems: list[str] = field(default_factory=list)
    checkpoints_checked: int = 0
    key: str = "pinned"

    def fail(self, problem: str, position: int | None = None) -> None:
        self.ok = False
        if position is not None and self.first_bad is None:
            self.first_bad = position
        if len(self.problems) < 50:
            self.problems.append(problem)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_bad_entry": self.first_bad,
            "checkpoints_checked": self.checkpoints_checked,
            "key": self.key,
            "problems": self.problems,
        }


@dataclass(frozen=True)
class SignedHead:
    size: int
    root: bytes
    chain_head: bytes
    signature_ok: bool


def check_checkpoint(c: dict[str, Any], key: Ed25519PublicKey) -> SignedHead:
    root, chain_head = bytes.fromhex(c["root_hash"]), bytes.fromhex(c["chain_head"])
    note = checkpoint_note(int(c["size"]), root, chain_head, c["issued_at"])
    ok = signature_valid(key, note, base64.b64decode(c["signature"]))
    return SignedHead(int(c["size"]), root, chain_head, ok)


def _key(
    header: dict[str, Any], pinned: Ed25519PublicKey | None, report: Report
) -> Ed25519PublicKey:
    if pinned is not None:
        return pinned
    report.key = "from the export (pin it with --public-key)"
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(header["public_key"]))


def _split_full_line(line: bytes) -> tuple[bytes, bytes, bytes]:
    """(canonical entry, stated leaf hash, stated chain hash) of an entry line of a full export."""
    if (
        line.startswith(ENTRY_PREFIX)
        and line[-FULL_SUFFIX_LEN:_LEAF_AT] == b',"leaf_hash":"'
        and line[_LEAF_AT + 64 : _CHAIN_AT] == b'","chain_hash":"'
        and line.endswith(b'"}')
    ):
        body = line[len(ENTRY_PREFIX) : -FULL_SUFFIX_LEN]
        return (
            body,
            bytes.fromhex(line[_LEAF_AT : _LEAF_AT + 64].decode()),
            bytes.fromhex(line[_CHAIN_AT:-2].decode()),
        )
    obj = json.loads(line)
    return (
        canonical(obj["entry"]),
        bytes.fromhex(obj["leaf_hash"]),
        bytes.fromhex(obj["chain_hash"]),
    )


def verify_export(lines: Iterable[bytes], public_key: Ed25519PublicKey | None = None) -> Report:
    report = Report()
    it = iter(line.rstrip(b"\r\n") for line in lines)
    try:
        header = json.loads(next(it))
    except (StopIteration, ValueError):
        report.fail("the export has no header line")
        return report
    if header.get("kind") != "header":
        report.fail("the first line is not an export header")
        return report
    key = _key(header, public_key, report)
    heads: dict[int, list[SignedHead]] = {}
    for c in [*header.get("checkpoints", []), header["checkpoint"]]:
        head = check_checkpoint(c, key)
        report.checkpoints_checked += 1
        if not head.signature_ok:
            report.fail(f"checkpoint at size {head.size} has a bad signature")
        heads.setdefault(head.size, []).append(head)
    final = check_checkpoint(header["checkpoint"], key)
    if header.get("scope") == "full":
        _verify_full(it, heads, final, report)
    else:
        _verify_filtered(it, final, report)
    return report


def _verify_full(
    lines: Iterable[bytes], heads: dict[int, list[SignedHead]], final: SignedHead, report: Report
) -> None:
    sha256 = hashlib.sha256
    frontier = merkle.Frontier()
    chain = GENESIS
    last_good_checkpoint = 0
    position = 0
    for line in lines:
        if not line:
            continue
        position += 1
        try:
            body, stated_leaf, stated_chain = _split_full_line(line)
        except (ValueError, KeyError, TypeError):
            report.fail(f"entry {position}: not a readable entry line", position)
            continue
        leaf = sha256(b"\x00" + body).digest()
        chain = sha256(chain + body).digest()
        if leaf != stated_leaf:
            report.fail(f"entry {position}: its content does not match its leaf hash", position)
        elif chain != stated_chain:
            report.fail(f"entry {position}: the chain breaks here", position)
        frontier.add(leaf)
        for head in heads.get(position, ()):
            if frontier.root() == head.root and chain == head.chain_head:
                last_good_checkpoint = max(last_good_checkpoint, position)
            else:
                report.fail(
                    f"checkpoint at size {position} does not match the entries; an entry "
                    f"after position {last_good_checkpoint} was altered"
                )
    report.entries = position
    if position != final.size:
        report.fail(f"the export holds {position} entries but its checkpoint covers {final.size}")
    elif frontier.root() != final.root or chain != final.chain_head:
        report.fail("the entries do not produce the checkpoint's root and chain head")


def _verify_filtered(lines: Iterable[bytes], final: SignedHead, report: Report) -> None:
    for line in lines:
        if not line:
            continue
        report.entries += 1
        try:
            obj = json.loads(line)
            body = canonical(obj["entry"])
            position = int(obj["entry"]["position"])
            prev = bytes.fromhex(obj["prev_hash"])
            proof = [bytes.fromhex(h) for h in obj["inclusion"]]
        except (ValueError, KeyError, TypeError):
            report.fail(f"line {report.entries + 1}: not a readable entry line")
            continue
        leaf = merkle.leaf_hash(body)
        if leaf.hex() != obj["leaf_hash"]:
            report.fail(f"entry {position}: its content does not match its leaf hash", position)
        elif hashlib.sha256(prev + body).hexdigest() != obj["chain_hash"]:
            report.fail(f"entry {position}: its chain hash does not follow", position)
        elif not merkle.verify_inclusion(leaf, position - 1, final.size, proof, final.root):
            report.fail(f"entry {position}: not included in the signed checkpoint", position)


def verify_proof(proof: dict[str, Any], public_key: Ed25519PublicKey | None) -> Report:
    """Check an inclusion or consistency proof as the /proofs endpoints return it."""
    report = Report()
    if public_key is None:
        report.key = "none: roots unsigned unless a public key is given"

    def signed_root(c: dict[str, Any] | None, size: int, stated: str) -> bytes:
        if c is None or public_key is None:
            report.fail(f"no signed checkpoint at size {size} to check the root against")
            return bytes.fromhex(stated)
        head = check_checkpoint(c, public_key)
        report.checkpoints_checked += 1
        if not head.signature_ok or head.size != size:
            report.fail(f"the checkpoint at size {size} is not validly signed")
        return head.root

    if proof.get("kind") == "inclusion":
        size = int(proof["tree_size"])
        root = signed_root(proof.get("checkpoint"), size, proof["root_hash"])
        leaf = merkle.leaf_hash(canonical(proof["entry"]))
        path = [bytes.fromhex(h) for h in proof["proof"]]
        index = int(proof["leaf_index"])
        report.entries = 1
        if index != int(proof["entry"]["position"]) - 1:
            report.fail("the leaf index is not the entry's position", index + 1)
        elif not merkle.verify_inclusion(leaf, index, size, path, root):
            report.fail("the inclusion proof does not lead to the root", index + 1)
    elif proof.get("kind") == "consistency":
        first, second = int(proof["first"]), int(proof["second"])
        first_root = signed_root(proof.get("first_checkpoint"), first, proof["first_root"])
        second_root = signed_root(proof.get("second_checkpoint"), second, proof["second_root"])
        path = [bytes.fromhex(h) for h in proof["proof"]]
        if not merkle.verify_consistency(first, second, first_root, second_root, path):
            report.fail(f"the log of {first} entries is not a prefix of the log of {second}")
    else:
        report.fail("not a proof this tool knows (kind must be inclusion or consistency)")
    return report
