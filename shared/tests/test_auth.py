"""Tokens are verified strictly: every malformed or foreign token is refused."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shared.auth.keys import load_private_key
from shared.auth.principal import Principal
from shared.auth.tokens import TokenVerifier, mint_token
from shared.errors import Unauthorized
from shared.settings import Settings


@pytest.fixture
def dev_settings(tmp_path) -> Settings:
    return Settings(env="test", data_dir=tmp_path)


def claims(settings: Settings, **over) -> dict:
    now = int(time.time())
    base = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "sam",
        "agency": "housing",
        "roles": ["caseworker"],
        "iat": now,
        "exp": now + 600,
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def sign(settings: Settings, body: dict) -> str:
    key = load_private_key(settings)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return jwt.encode(body, key, algorithm="ES256")


def test_a_minted_token_verifies(dev_settings):
    token = mint_token(dev_settings, sub="sam", agency="housing", roles=["caseworker"])
    principal = TokenVerifier(dev_settings).verify(token)
    assert principal == Principal("sam", "housing", frozenset({"caseworker"}))


@pytest.mark.parametrize(
    ("override", "slug"),
    [
        ({"exp": int(time.time()) - 3600}, "token-expired"),
        ({"aud": "someone-else"}, "invalid-token"),
        ({"iss": "evil"}, "invalid-token"),
        ({"exp": None}, "invalid-token"),
        ({"roles": ["superuser"]}, "invalid-token"),
        ({"roles": "caseworker"}, "invalid-token"),
        ({"agency": None}, "invalid-token"),
        ({"roles": ["client"], "agency": None}, "invalid-token"),  # a client names a person
    ],
)
def test_bad_claims_are_refused(dev_settings, override, slug):
    token = sign(dev_settings, claims(dev_settings, **override))
    with pytest.raises(Unauthorized) as err:
        TokenVerifier(dev_settings).verify(token)
    assert err.value.slug == slug


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_alg_none_is_refused(dev_settings):
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims(dev_settings))}."
    with pytest.raises(Unauthorized):
        TokenVerifier(dev_settings).verify(token)


def test_hmac_signed_with_the_public_key_is_refused(dev_settings):
    """Algorithm confusion: HS256 keyed with our public key must not verify."""
    public_pem = (
        load_private_key(dev_settings)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    import hashlib
    import hmac

    header, body = _b64({"alg": "HS256", "typ": "JWT"}), _b64(claims(dev_settings))
    sig = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
    with pytest.raises(Unauthorized):
        TokenVerifier(dev_settings).verify(token)


def test_a_token_signed_by_another_key_is_refused(dev_settings):
    stranger = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(claims(dev_settings), stranger, algorithm="ES256")
    with pytest.raises(Unauthorized):
        TokenVerifier(dev_settings).verify(token)


def test_rsa_public_key_in_production_verifies_rs256_only(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = tmp_path / "pub.pem"
    pub.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    secret = tmp_path / "secret"
    secret.write_text("x" * 64)
    settings = Settings(env="production", jwt_public_key_file=pub, secret_key_file=secret)
    good = jwt.encode(claims(settings), key, algorithm="RS256")
    assert TokenVerifier(settings).verify(good).sub == "sam"
    with pytest.raises(Unauthorized):
        TokenVerifier(settings).verify(jwt.encode(claims(settings), key, algorithm="PS256"))


def test_production_refuses_to_start_without_configured_keys():
    with pytest.raises(ValueError, match="JWKS"):
        Settings(env="production")


def test_a_remembered_token_still_expires_at_its_exp(dev_settings):
    strict = dev_settings.model_copy(update={"jwt_leeway_seconds": 0})
    verifier = TokenVerifier(strict)
    token = sign(strict, claims(strict, exp=int(time.time()) + 1))
    assert verifier.verify(token).sub == "sam"
    time.sleep(1.1)
    with pytest.raises(Unauthorized) as refused:
        verifier.verify(token)
    assert refused.value.slug == "token-expired"


def test_remembering_a_token_admits_no_token_with_another_signature(dev_settings):
    verifier = TokenVerifier(dev_settings)
    token = sign(dev_settings, claims(dev_settings))
    assert verifier.verify(token).sub == "sam"
    head, body, signature = token.split(".")
    forged_body = base64.urlsafe_b64encode(
        json.dumps(claims(dev_settings, roles=["ig_officer"])).encode()
    ).rstrip(b"=")
    for forged in (f"{head}.{forged_body.decode()}.{signature}", f"{head}.{body}.{signature}x"):
        with pytest.raises(Unauthorized):
            verifier.verify(forged)
