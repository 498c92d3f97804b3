"""The same consent and agreement terms as AWS Cedar policies and entities, for the benchmark.

Encoding: principal = the recipient `Agency` (parent: its `AgencyType`); resource = a datum
`Datum::"<person>/<category>"` whose parents are `Person::"<person>"` and the category, and
categories nest (`Category::"health.summary"` in `Category::"health"`), so `resource in
Category::"health"` is the vocabulary's "a parent covers its children". Context carries the
purpose, the disclosing agency and the time. A current, active consent version is a permit
policy; an active agreement is a permit policy; a withdrawn consent or an agreement that is
not active has no policy (Cedar has no lifecycle: the caller compiles the state it means).
"""

from __future__ import annotations

import json
from typing import Any

import cedarpy

from services.consent.policy.terms import AgreementTerms, ConsentTerms
from shared.vocabulary import load_vocabulary


def _q(s: str) -> str:
    return json.dumps(s)


def _set(items: Any) -> str:
    return "[" + ", ".join(_q(i) for i in sorted(items)) + "]"


def _categories(cats: Any) -> str:
    return " || ".join(f"resource in Category::{_q(c)}" for c in cats) or "false"


def consent_policy(c: ConsentTerms) -> str:
    if c.status != "active":
        return ""
    who = [f"principal == Agency::{_q(r)}" for r in sorted(c.recipients)] + [
        f"principal in AgencyType::{_q(t)}" for t in sorted(c.recipient_types)
    ]
    sources = f" && {_set(c.source_agencies)}.contains(context.source)" if c.source_agencies else ""
    return (
        f'@id("consent:{c.consent_id}:{c.version}")\n'
        f'permit(principal, action == Action::"share", resource in Person::{_q(c.person_id)})\n'
        f"when {{ ({' || '.join(who) or 'false'}) && ({_categories(c.categories)})"
        f" && {_set(c.purposes)}.contains(context.purpose){sources}"
        f" && context.now >= {int(c.starts_at.timestamp())}"
        f" && context.now < {int(c.expires_at.timestamp())} }};\n"
    )


def agreement_policy(a: AgreementTerms) -> str:
    if a.status != "active":
        return ""
    who = " || ".join(f"principal == Agency::{_q(r)}" for r in sorted(a.recipients))
    return (
        f'@id("agreement:{a.agreement_id}")\n'
        f'permit(principal, action == Action::"share", resource)\n'
        f"when {{ ({who}) && {_set(a.providers)}.contains(context.source)"
        f" && ({_categories(a.categories)}) && {_set(a.purposes)}.contains(context.purpose)"
        f" && context.now >= {int(a.starts_at.timestamp())}"
        f" && context.now < {int(a.ends_at.timestamp())} }};\n"
    )


def base_entities() -> list[dict[str, Any]]:
    vocab = load_vocabulary()
    out: list[dict[str, Any]] = []
    for t in sorted(vocab.agency_types()):
        out.append({"uid": {"type": "AgencyType", "id": t}, "attrs": {}, "parents": []})
    for a in vocab.agencies:
        out.append(
            {
                "uid": {"type": "Agency", "id": a.id},
                "attrs": {},
                "parents": [{"type": "AgencyType", "id": a.type}],
            }
        )
    for c in vocab.categories:
        parents = [{"type": "Category", "id": c.parent}] if c.parent else []
        out.append({"uid": {"type": "Category", "id": c.id}, "attrs": {}, "parents": parents})
    return out


class CedarDecider:
    """Agreement policies and the vocabulary entities parsed once; per question, the
    person's consent policies and data entities are added as a delta."""

    def __init__(self, agreements: list[AgreementTerms]) -> None:
        text = (
            "".join(agreement_policy(a) for a in agreements)
            or "forbid(principal, action, resource) when { false };\n"
        )
        self.policies = cedarpy.PolicySet.from_str(text)
        self.entities = cedarpy.Entities.from_json_str(json.dumps(base_entities()))

    def decide(
        self,
        person_id: str,
        consent_text: str,
        *,
        source: str,
        recipient: str,
        purpose: str,
        categories: list[str],
        now: int,
    ) -> list[str]:
        policies = self.policies.with_added_str(consent_text) if consent_text else self.policies
        delta = [{"uid": {"type": "Person", "id": person_id}, "attrs": {}, "parents": []}] + [
            {
                "uid": {"type": "Datum", "id": f"{person_id}/{c}"},
                "attrs": {},
                "parents": [{"type": "Person", "id": person_id}, {"type": "Category", "id": c}],
            }
            for c in categories
        ]
        entities = self.entities.with_added_json_str(json.dumps(delta))
        requests = [
            {
                "principal": {"type": "Agency", "id": recipient},
                "action": {"type": "Action", "id": "share"},
                "resource": {"type": "Datum", "id": f"{person_id}/{c}"},
                "context": {"purpose": purpose, "source": source, "now": now},
            }
            for c in categories
        ]
        results = cedarpy.is_authorized_batch(requests, policies, entities)
        return [c for c, r in zip(categories, results, strict=True) if r.allowed]
