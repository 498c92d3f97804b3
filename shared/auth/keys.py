"""Signing keys: PEM files or a JWKS URL in production, a generated pair in development."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from shared.settings import Settings


def write_private_file(path: Path, pem: bytes) -> None:
    """Write a key readable only by us; the first of several concurrent starters wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    try:
        os.link(tmp, path)  # first writer wins; a concurrent start reuses its key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def ensure_dev_private_key(settings: Settings) -> Path:
    """Generate the development ES256 key pair once; never outside development or tests."""
    path = settings.private_key_path
    if not path.exists():
        if settings.env == "production":
            raise RuntimeError(f"no signing key at {path}; production never generates keys")
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private_file(path, pem)
    return path


def load_private_key(settings: Settings) -> PrivateKeyTypes:
    path = settings.private_key_path
    if settings.env != "production":
        ensure_dev_private_key(settings)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def load_public_key(settings: Settings) -> PublicKeyTypes:
    if settings.jwt_public_key_file is not None:
        return serialization.load_pem_public_key(settings.jwt_public_key_file.read_bytes())
    return load_private_key(settings).public_key()  # type: ignore[union-attr]


def algorithm_for(key: PublicKeyTypes | PrivateKeyTypes) -> str:
    """The one algorithm a key may be used with: no algorithm confusion."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return "ES256"
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RS256"
    raise ValueError(f"unsupported key type {type(key).__name__}")


def load_secret(settings: Settings, purpose: str) -> bytes:
    """A keyed secret for `purpose` (pseudonyms, ...), derived from the service secret file."""
    import hashlib
    import hmac
    import secrets

    path = settings.secret_path
    if not path.exists():
        if settings.env == "production":
            raise RuntimeError(f"no secret at {path}")
        write_private_file(path, secrets.token_hex(32).encode())
    return hmac.new(path.read_bytes().strip(), purpose.encode(), hashlib.sha256).digest()


def load_ed25519_key(settings: Settings, path: Path, setting: str) -> Ed25519PrivateKey:
    """A signing key (receipts, checkpoints): configured in production, generated once in
    development and tests."""
    if not path.exists():
        if settings.env == "production":
            raise RuntimeError(f"no signing key at {path}; set {setting}")
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private_file(path, pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError(f"{path} is not an Ed25519 private key")
    return key
