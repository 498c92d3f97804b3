"""Demo data for `casebridge up`, loaded through the public APIs as real users would.

Two agencies know Jane Doe (one misspells her surname; her NHS number links them); housing
records her consent and refers her to adult social care; a school may refer a child to
children's social care under a statutory duty; Tom has no basis, so his referral is blocked;
the GP practice's system is registered as a partner (exchange its credentials at
`POST /oauth/token` on the partner gateway).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rich.console import Console

from shared.auth.tokens import mint_token
from shared.settings import Settings

console = Console()

DEMO_USERS = [
    ("caseworker", "housing", "hana.housing"),
    ("caseworker", "council-asc", "sam.socialcare"),
    ("caseworker", "nhs-mh", "mo.mentalhealth"),
    ("caseworker", "police", "pat.police"),
    ("caseworker", "school-oak", "sue.school"),
    ("ig_officer", "housing", "ivy.ig"),
    ("auditor", "council-asc", "alex.auditor"),
    ("admin", "council-asc", "ada.admin"),
]


def token_for(settings: Settings, role: str, agency: str | None, sub: str, **kw: Any) -> str:
    return mint_token(settings, sub=sub, agency=agency, roles=[role], ttl_seconds=8 * 3600, **kw)


@dataclass
class Demo:
    settings: Settings
    http: httpx.Client
    created: dict[str, str] = field(default_factory=dict)

    def call(
        self, role: str, agency: str | None, method: str, service: str, path: str, **kw: Any
    ) -> Any:
        token = token_for(self.settings, role, agency, f"demo-{role}-{agency}")
        r = self.http.request(
            method,
            f"{self.settings.url_of(service)}{path}",
            headers={"Authorization": f"Bearer {token}"},
            **kw,
        )
        if r.status_code >= 400:
            raise RuntimeError(f"demo: {method} {service}{path} -> {r.status_code} {r.text}")
        return r.json()

    def register(self, agency: str, record: dict[str, Any]) -> str:
        return str(
            self.call("caseworker", agency, "POST", "identity", "/records", json=record)["person"]
        )

    def client_pseudonym(self, agency: str, pseudonym: str) -> str:
        """The person's pseudonym in the client namespace, for their own token."""
        person = self.call(
            "service",
            None,
            "GET",
            "identity",
            "/internal/resolve",
            params={"agency": agency, "pseudonym": pseudonym},
        )
        return str(
            self.call(
                "service",
                None,
                "GET",
                "identity",
                "/internal/pseudonym",
                params={"agency": "client", "person_id": person["person_id"]},
            )["pseudonym"]
        )


def _agreement(demo: Demo, now: datetime) -> str:
    body = {
        "title": "Children's safeguarding referrals (Children Act 1989 s47)",
        "tier": "specific",
        "providers": ["school-oak"],
        "recipients": ["council-csc"],
        "purposes": ["safeguarding"],
        "categories": ["children", "identity"],
        "legal_basis": {
            "type": "statutory_duty",
            "citation": "Children Act 1989 s47; Working Together 2023",
        },
        "frequency": "as needed",
        "mechanism": "Casebridge referral",
        "security": "TLS, role-based access, audited",
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=365)).isoformat(),
        "review_at": (now + timedelta(days=180)).isoformat(),
    }
    agreement = demo.call("ig_officer", "school-oak", "POST", "consent", "/agreements", json=body)
    for agency in ("school-oak", "council-csc"):
        demo.call("ig_officer", agency, "POST", "consent", f"/agreements/{agreement['id']}/approve")
    demo.call(
        "ig_officer", "school-oak", "POST", "consent", f"/agreements/{agreement['id']}/activate"
    )
    return str(agreement["id"])


def load_demo(settings: Settings) -> dict[str, str]:
    """Load once per data folder; later starts reuse what the first one created."""
    marker = settings.data_dir / "demo.json"
    if marker.exists():
        created: dict[str, str] = json.loads(marker.read_text())
        console.print(f"[green]demo data[/] already loaded ({marker})")
        return created
    created = _load(settings)
    marker.write_text(json.dumps(created, indent=2))
    return created


def _load(settings: Settings) -> dict[str, str]:
    now = datetime.now(UTC)
    with httpx.Client(timeout=15) as http:
        demo = Demo(settings, http)
        jane = demo.register(
            "housing",
            {
                "local_id": "H-1001",
                "given_name": "Jane",
                "family_name": "Doe",
                "birth_date": "1984-03-12",
                "sex": "female",
                "postcode": "NE1 4ST",
                "identifiers": {"nhs_number": "943 476 5919"},
            },
        )
        demo.register(
            "council-asc",
            {
                "local_id": "ASC-77",
                "given_name": "Jane",
                "family_name": "Do",
                "birth_date": "1984-03-12",
                "sex": "female",
                "postcode": "NE1 4ST",
                "identifiers": {"nhs_number": "9434765919"},
            },
        )
        tom = demo.register(
            "housing",
            {
                "local_id": "H-1002",
                "given_name": "Tom",
                "family_name": "Okafor",
                "birth_date": "1979-11-02",
                "sex": "male",
                "postcode": "NE2 1AA",
            },
        )
        demo.register(
            "school-oak",
            {
                "local_id": "S-310",
                "given_name": "Mia",
                "family_name": "Doe",
                "birth_date": "2016-05-20",
                "sex": "female",
                "postcode": "NE1 4ST",
            },
        )
        consent = demo.call(
            "caseworker",
            "housing",
            "POST",
            "consent",
            "/consents",
            json={
                "person": jane,
                "purposes": ["housing_support"],
                "categories": ["housing", "health.summary"],
                "recipients": ["council-asc", "nhs-mh"],
                "expires_at": (now + timedelta(days=180)).isoformat(),
                "evidence": {
                    "method": "written",
                    "reference": "form-7",
                    "captured_by": "hana.housing",
                },
            },
        )
        agreement = _agreement(demo, now)
        referral = demo.call(
            "caseworker",
            "housing",
            "POST",
            "referral",
            "/referrals",
            json={
                "person": jane,
                "to_agency": "council-asc",
                "purpose": "housing_support",
                "urgency": "urgent",
                "summary": "At risk of eviction; needs a care assessment.",
                "details": {
                    "housing": {"tenancy": "secure", "arrears_gbp": 420},
                    "health.summary": {"summary": "Type 2 diabetes"},
                    "criminal_justice.offences": {"history": "Two cautions"},
                },
            },
        )
        blocked = demo.call(
            "caseworker",
            "housing",
            "POST",
            "referral",
            "/referrals",
            json={
                "person": tom,
                "to_agency": "nhs-mh",
                "purpose": "housing_support",
                "urgency": "routine",
                "summary": "Low mood after eviction notice.",
                "details": {"health.mental": {"concern": "low mood"}},
            },
        )
        partner = demo.call(
            "admin",
            "council-asc",
            "POST",
            "partner",
            "/partners",
            json={
                "agency": "gp-elm",
                "name": "Elm Street GP system",
                "allowed_types": [
                    "referral.sent.v1",
                    "referral.accepted.v1",
                    "consent.withdrawn.v1",
                    "identity.persons_merged.v1",
                ],
            },
        )
        created = {
            "jane (housing pseudonym)": jane,
            "jane (client pseudonym)": demo.client_pseudonym("housing", jane),
            "consent": consent["id"],
            "agreement (statutory duty)": agreement,
            "referral housing -> council-asc": f"{referral['id']} ({referral['status']})",
            "referral housing -> nhs-mh": f"{blocked['id']} ({blocked['status']})",
            "partner gp-elm client_id": partner["client_id"],
            "partner gp-elm client_secret": partner["client_secret"],
        }
    console.print("[green]demo data[/] (identity, consent, agreement, referrals):")
    for name, value in created.items():
        console.print(f"  {name:34} {value}")
    return created


def print_tokens(settings: Settings, client_person: str | None = None) -> None:
    console.print("\n[bold]Tokens[/] (valid 8 hours; mint more with `casebridge token`):")
    for role, agency, sub in DEMO_USERS:
        console.print(f"[cyan]{role} @ {agency}[/] ({sub})")
        console.print(token_for(settings, role, agency, sub), soft_wrap=True)
    if client_person:
        console.print("[cyan]client[/] (Jane Doe)")
        console.print(
            token_for(settings, "client", None, "jane.doe", person=client_person), soft_wrap=True
        )
