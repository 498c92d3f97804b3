"""The checkpoint signing key and the exact bytes that are signed.

The signed note is text, one field a line, so that anyone can rebuild it from a checkpoint's
published fields and check the Ed25519 signature with the published public key:

    casebridge-audit-checkpoint/v1
    <size>
    <Merkle root, hex>
    <chain head, hex>
    <issued at, UTC, microseconds, Z>
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from services.audit.log.chain import timestamp
from services.audit.settings import AuditSettings
from shared.auth.keys import load_ed25519_key
from shared.settings import Settings

NOTE_ORIGIN = "casebridge-audit-checkpoint/v1"


def checkpoint_note(size: int, root: bytes, chain_head: bytes, issued_at: datetime | str) -> bytes:
    when = issued_at if isinstance(issued_at, str) else timestamp(issued_at)
    return f"{NOTE_ORIGIN}\n{size}\n{root.hex()}\n{chain_head.hex()}\n{when}\n".encode()


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public_key(key)).hexdigest()[:16]


def public_key_from_text(text: str) -> Ed25519PublicKey:
    """A public key given as PEM or as base64 of the 32 raw bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text))


def signature_valid(key: Ed25519PublicKey, note: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, note)
        return True
    except InvalidSignature:
        return False


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id_of(self.public)

    def sign(self, note: bytes) -> bytes:
        return self.private.sign(note)

    def public_pem(self) -> str:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()


def key_path(settings: Settings, audit: AuditSettings) -> Path:
    return audit.signing_key_file or settings.keys_dir / "audit-checkpoint-ed25519.pem"


def load_signer(settings: Settings, audit: AuditSettings) -> Signer:
    """The configured key; in development and tests one is generated once under data_dir."""
    key = load_ed25519_key(settings, key_path(settings, audit), "CASEBRIDGE_AUDIT_SIGNING_KEY_FILE")
    return Signer(key)
