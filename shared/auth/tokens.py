"""Minting and verifying JWTs (pyjwt). Issuer, audience, expiry and algorithm are checked."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import jwt
from jwt import PyJWKClient

from shared.auth.keys import algorithm_for, load_private_key, load_public_key
from shared.auth.principal import ROLES, Principal
from shared.errors import Unauthorized
from shared.settings import Settings


def mint_token(
    settings: Settings,
    *,
    sub: str,
    agency: str | None,
    roles: list[str],
    person: str | None = None,
    ttl_seconds: int = 3600,
    extra: dict[str, Any] | None = None,
) -> str:
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    if "client" in roles and not person:
        raise ValueError("a client token names the person it belongs to")
    key = load_private_key(settings)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": sub,
        "agency": agency,
        "roles": roles,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": str(uuid.uuid4()),
    }
    if person:
        claims["person"] = person
    claims.update(extra or {})
    return jwt.encode(claims, key, algorithm=algorithm_for(key))  # type: ignore[arg-type]


class TokenVerifier:
    """Verifies bearer tokens against configured keys only (JWKS URL or PEM).

    A caller sends the same token with every request, and checking its signature is the
    dearest step of a request, so a verified token is remembered until it expires but for at
    most `REMEMBER_SECONDS`: a key withdrawn from the JWKS stops admitting within that time.
    """

    REMEMBER_SECONDS = 60.0
    REMEMBER_TOKENS = 10_000

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._jwks = PyJWKClient(settings.jwt_jwks_url) if settings.jwt_jwks_url else None
        self._key = None if self._jwks else load_public_key(settings)
        self._verified: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal:
        now = time.time()
        with self._lock:
            hit = self._verified.get(token)
        if hit is not None and now < hit[0]:
            return hit[1]
        claims = self._verified_claims(token)
        principal = Principal.from_claims(claims)
        until = min(float(claims["exp"]), now + self.REMEMBER_SECONDS)
        with self._lock:
            if len(self._verified) >= self.REMEMBER_TOKENS:
                self._verified = {t: e for t, e in self._verified.items() if now < e[0]}
                if len(self._verified) >= self.REMEMBER_TOKENS:
                    self._verified.pop(next(iter(self._verified)))
            self._verified[token] = (until, principal)
        return principal

    def _key_and_algorithm(self, token: str) -> tuple[Any, str]:
        if self._jwks is not None:
            signing = self._jwks.get_signing_key_from_jwt(token)
            return signing.key, algorithm_for(signing.key)
        return self._key, algorithm_for(self._key)  # type: ignore[arg-type]

    def _verified_claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            key, algorithm = self._key_and_algorithm(token)
            if header.get("alg") != algorithm or algorithm not in self.settings.jwt_algorithms:
                raise Unauthorized("The token's algorithm is not accepted.", slug="invalid-token")
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                leeway=self.settings.jwt_leeway_seconds,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The token has expired.", slug="token-expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"The token is not valid: {exc}", slug="invalid-token") from exc
        return claims
