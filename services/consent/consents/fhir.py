"""A consent as an HL7 FHIR R4 `Consent` resource (validated in tests with fhir.resources).

The patient is named by the pseudonym the caller knows them by, never the internal id (P7).
Withdrawn parts appear as nested `deny` provisions.
"""

from __future__ import annotations

from typing import Any

from services.consent.models import Consent, ConsentVersion
from shared.vocabulary import load_vocabulary

PURPOSE_SYSTEM = "urn:casebridge:purpose"
CATEGORY_SYSTEM = "urn:casebridge:data-category"
AGENCY_SYSTEM = "urn:casebridge:agency"
AGENCY_TYPE_SYSTEM = "urn:casebridge:agency-type"
PSEUDONYM_SYSTEM = "urn:casebridge:pseudonym:"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
REP_RELATIONSHIP = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"

# FHIR Consent.status: the consent is either in force, or no longer (rejected/inactive).
_STATUS = {"active": "active", "withdrawn": "inactive", "expired": "inactive"}
_RELATIONSHIP_CODES = {"parent": "PRN", "guardian": "GUARD", "attorney": "POWATT"}


def _iso(dt: Any) -> str:
    return str(dt.isoformat()).replace("+00:00", "Z")


def _coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _actors(recipients: list[str], types: list[str], code: str) -> list[dict[str, Any]]:
    vocab = load_vocabulary()
    role = {"coding": [_coding(PARTICIPATION, code)]}
    out = []
    for r in recipients:
        agency = vocab.agency(r)
        out.append(
            {
                "role": role,
                "reference": {
                    "identifier": {"system": AGENCY_SYSTEM, "value": r},
                    "display": agency.name if agency else r,
                },
            }
        )
    for t in types:
        out.append(
            {
                "role": role,
                "reference": {
                    "identifier": {"system": AGENCY_TYPE_SYSTEM, "value": t},
                    "display": f"any {t} agency",
                },
            }
        )
    return out


def to_fhir(
    head: Consent, version: ConsentVersion, *, status: str, pseudonym: str, agency: str
) -> dict[str, Any]:
    """`pseudonym` is the person as `agency` (or 'client') knows them."""
    vocab = load_vocabulary()
    given_by = version.given_by or {}
    performer: dict[str, Any] = {
        "identifier": {"system": PSEUDONYM_SYSTEM + agency, "value": pseudonym},
        "display": "the client",
    }
    if given_by.get("kind") == "representative":
        performer = {"display": f"{given_by.get('name')} ({given_by.get('relationship')})"}
    withdrawn = version.withdrawn or {}
    nested = []
    if status == "active" and any(withdrawn.values()):
        nested.append(
            {
                "type": "deny",
                "purpose": [_coding(PURPOSE_SYSTEM, p) for p in withdrawn.get("purposes", [])]
                or None,
                "class": [_coding(CATEGORY_SYSTEM, c) for c in withdrawn.get("categories", [])]
                or None,
                "actor": _actors(
                    withdrawn.get("recipients", []), withdrawn.get("recipient_types", []), "IRCP"
                )
                or None,
            }
        )
    provision: dict[str, Any] = {
        "type": "permit",
        "period": {"start": _iso(version.starts_at), "end": _iso(version.expires_at)},
        "actor": _actors(version.recipients, version.recipient_types, "IRCP")
        + _actors(version.source_agencies, [], "CST"),
        "purpose": [
            _coding(PURPOSE_SYSTEM, p, vocab.purpose(p).name if vocab.purpose(p) else None)  # type: ignore[union-attr]
            for p in version.purposes
        ],
        "class": [
            _coding(CATEGORY_SYSTEM, c, vocab.category(c).name if vocab.category(c) else None)  # type: ignore[union-attr]
            for c in version.categories
        ],
        "dataPeriod": None,
    }
    if nested:
        provision["provision"] = [{k: v for k, v in n.items() if v is not None} for n in nested]
    organization = vocab.agency(head.agency)
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": head.id,
        "meta": {"versionId": str(version.version), "lastUpdated": _iso(version.recorded_at)},
        "status": _STATUS.get(status, "inactive"),
        "scope": {
            "coding": [
                _coding(
                    "http://terminology.hl7.org/CodeSystem/consentscope",
                    "patient-privacy",
                    "Privacy Consent",
                )
            ]
        },
        "category": [{"coding": [_coding("http://loinc.org", "59284-0", "Patient Consent")]}],
        "patient": {"identifier": {"system": PSEUDONYM_SYSTEM + agency, "value": pseudonym}},
        "dateTime": _iso(version.recorded_at),
        "performer": [performer],
        "organization": [{"display": organization.name if organization else head.agency}],
        "sourceReference": {
            "identifier": {
                "system": f"urn:casebridge:evidence:{version.evidence.get('method', 'unknown')}",
                "value": version.evidence.get("reference", "unknown"),
            }
        },
        "policy": [{"uri": "urn:casebridge:policy:consent"}],
        "provision": {k: v for k, v in provision.items() if v is not None},
    }
    return resource
