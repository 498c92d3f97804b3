"""Checkpoints as published: hashes in hex, the signature in base64, and the signed note."""

from __future__ import annotations

import base64

from pydantic import BaseModel, Field

from services.audit.checkpoints.signing import checkpoint_note
from services.audit.log.chain import timestamp
from services.audit.models import Checkpoint


class CheckpointOut(BaseModel):
    size: int = Field(description="Number of entries the checkpoint covers.")
    root_hash: str = Field(description="RFC 9162 Merkle tree head over those entries, hex.")
    chain_head: str = Field(description="Chain hash of the last covered entry, hex.")
    issued_at: str = Field(description="When it was signed (UTC, as in the signed note).")
    key_id: str = Field(description="First 16 hex digits of SHA-256 of the raw public key.")
    signature: str = Field(description="Ed25519 signature over `note`, base64.")
    note: str = Field(description="The exact signed text.")

    @classmethod
    def of(cls, c: Checkpoint) -> CheckpointOut:
        issued = timestamp(c.issued_at)
        return cls(
            size=c.size,
            root_hash=c.root_hash.hex(),
            chain_head=c.chain_head.hex(),
            issued_at=issued,
            key_id=c.key_id,
            signature=base64.b64encode(c.signature).decode(),
            note=checkpoint_note(c.size, c.root_hash, c.chain_head, issued).decode(),
        )


class PublicKeyOut(BaseModel):
    algorithm: str = "Ed25519"
    key_id: str
    public_key: str = Field(description="The 32 raw public key bytes, base64.")
    pem: str
