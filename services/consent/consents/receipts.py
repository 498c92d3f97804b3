"""Consent receipts: a signed JSON record for the client of each grant, change and withdrawal.

Fields follow the Kantara Consent Receipt v1.1 and the ISO/IEC TS 27560 consent record
where they apply. The signature is Ed25519 over the canonical JSON (sorted keys, no spaces,
UTF-8) of the receipt; the public key is published at `GET /receipts/key` as a JWK.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import Session

from services.consent.models import Consent, ConsentVersion, Receipt, new_id
from services.consent.settings import ConsentSettings
from shared.auth.keys import load_ed25519_key
from shared.settings import Settings
from shared.vocabulary import load_vocabulary


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def canonical(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class ReceiptSigner:
    """Holds the Ed25519 key that signs receipts."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_raw = raw
        self.kid = hashlib.sha256(raw).hexdigest()[:16]

    @classmethod
    def load(cls, settings: Settings, own: ConsentSettings) -> ReceiptSigner:
        """Read the key; in development and tests, generate it once under the data dir."""
        path = own.receipt_key_file or settings.keys_dir / "consent-receipts-ed25519.pem"
        return cls(load_ed25519_key(settings, path, "CASEBRIDGE_CONSENT_RECEIPT_KEY_FILE"))

    def sign(self, document: dict[str, Any]) -> str:
        return b64url(self.key.sign(canonical(document)))

    def jwk(self) -> dict[str, str]:
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(self.public_raw),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        }


def verify(jwk: dict[str, str], document: dict[str, Any], signature: str) -> bool:
    """Check a receipt against a published JWK (what a client or regulator would do)."""
    pad = "=" * (-len(jwk["x"]) % 4)
    public = Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + pad))
    sig = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    try:
        public.verify(sig, canonical(document))
    except Exception:  # noqa: BLE001 - any failure means: not valid
        return False
    return True


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def receipt_document(
    *,
    receipt_id: str,
    head: Consent,
    version: ConsentVersion,
    principal_ref: str,
    own: ConsentSettings,
    key_id: str,
) -> dict[str, Any]:
    vocab = load_vocabulary()

    def agency_name(a: str) -> str:
        found = vocab.agency(a)
        return found.name if found else a

    special = [c for c in version.categories if vocab.is_special(c)]
    controllers = version.source_agencies or [head.agency]
    third_parties = [agency_name(r) for r in version.recipients] + [
        f"any {t} agency" for t in version.recipient_types
    ]
    return {
        # Kantara Consent Receipt v1.1
        "version": "KI-CR-v1.1.0",
        "jurisdiction": own.jurisdiction,
        "consentTimestamp": int(version.recorded_at.timestamp()),
        "collectionMethod": version.evidence.get("method", "digital"),
        "consentReceiptID": receipt_id,
        "publicKey": key_id,
        "language": "en",
        "piiPrincipalId": principal_ref,
        "piiControllers": [
            {
                "piiController": agency_name(a),
                "onBehalf": False,
                "contact": "Information governance",
            }
            for a in controllers
        ],
        "policyUrl": own.policy_url,
        "services": [
            {
                "service": "Casebridge case sharing",
                "purposes": [
                    {
                        "purpose": (vocab.purpose(p).name if vocab.purpose(p) else p),  # type: ignore[union-attr]
                        "purposeCategory": [p],
                        "consentType": "EXPLICIT",
                        "piiCategory": list(version.categories),
                        "primaryPurpose": True,
                        "termination": _iso(version.expires_at),
                        "thirdPartyDisclosure": True,
                        "thirdPartyName": ", ".join(third_parties),
                    }
                    for p in version.purposes
                ],
            }
        ],
        "sensitive": bool(special),
        "spiCat": special,
        # ISO/IEC TS 27560 consent record fields
        "recordId": head.id,
        "recordVersion": version.version,
        "event": version.change,
        "state": version.status,
        "validFrom": _iso(version.starts_at),
        "validUntil": _iso(version.expires_at),
        "withdrawn": version.withdrawn,
        "dataRetentionDays": version.data_life_days,
        "givenBy": version.given_by,
        "evidence": {
            "method": version.evidence.get("method"),
            "reference": version.evidence.get("reference"),
        },
    }


def issue(
    session: Session,
    *,
    head: Consent,
    version: ConsentVersion,
    principal_ref: str,
    signer: ReceiptSigner,
    own: ConsentSettings,
) -> Receipt:
    """Sign and keep a receipt for this version, in the change's own transaction."""
    receipt_id = new_id()
    document = receipt_document(
        receipt_id=receipt_id,
        head=head,
        version=version,
        principal_ref=principal_ref,
        own=own,
        key_id=signer.kid,
    )
    receipt = Receipt(
        id=receipt_id,
        consent_id=head.id,
        version=version.version,
        person_id=head.person_id,
        issued_at=version.recorded_at,
        document=document,
        signature=signer.sign(document),
        key_id=signer.kid,
    )
    session.add(receipt)
    return receipt
