"""The sharing decision: for each requested category, the strongest basis that applies now.

Rules (DOMAIN.md red lines): no purpose, no share; nothing beyond what a basis covers; no
withdrawn, expired, suspended or superseded basis (only current consent versions are ever
given to `decide`); an objection stops consent, statutory powers and public tasks, while a
statutory duty or vital interests still apply and the decision says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.consent.policy.outcome import (
    AgreementBasis,
    Basis,
    BreakGlassBasis,
    ConsentBasis,
    Decision,
    WithheldCategory,
)
from services.consent.policy.terms import (
    OVERRIDES_OBJECTION,
    AgreementTerms,
    BreakGlassGrant,
    ConsentTerms,
    ObjectionTerms,
    PolicyState,
    Question,
)
from services.consent.policy.vocab import covered, special_categories

# Which basis a decision relies on when several apply: a duty is the firmest ground.
_RANK = {
    "statutory_duty": 0,
    "consent": 1,
    "statutory_power": 2,
    "public_task": 3,
    "vital_interests": 4,
    "break_glass": 5,
}


@dataclass(frozen=True)
class _Candidate:
    kind: str
    until: datetime
    consent: ConsentTerms | None = None
    agreement: AgreementTerms | None = None
    grant: BreakGlassGrant | None = None

    @property
    def rank(self) -> int:
        return _RANK[self.agreement.legal_basis if self.agreement else self.kind]

    @property
    def legal_basis(self) -> str:
        if self.agreement:
            return self.agreement.legal_basis
        return "consent" if self.consent else "vital_interests"


def consent_failure(c: ConsentTerms, q: Question, category: str, now: datetime) -> str | None:
    """Why this consent does not cover the category (None when it does). Scope comes before
    time, so an expired consent is named only for what it used to cover."""
    if c.status == "withdrawn":
        return "consent_withdrawn"
    if c.source_agencies and q.disclosing_agency not in c.source_agencies:
        return "consent_source_not_covered"
    if (
        q.recipient_agency in c.withdrawn_recipients
        or q.recipient_type in c.withdrawn_recipient_types
    ):
        return "consent_withdrawn_in_part"
    if q.recipient_agency not in c.recipients and q.recipient_type not in c.recipient_types:
        return "consent_recipient_not_covered"
    if q.purpose in c.withdrawn_purposes:
        return "consent_withdrawn_in_part"
    if q.purpose not in c.purposes:
        return "consent_purpose_not_covered"
    if covered(c.withdrawn_categories, category):
        return "consent_withdrawn_in_part"
    if not covered(c.categories, category):
        return "consent_category_not_covered"
    if now >= c.expires_at:
        return "consent_expired"
    if now < c.starts_at:
        return "consent_not_started"
    return None


def agreement_failure(a: AgreementTerms, q: Question, category: str, now: datetime) -> str | None:
    """Why this agreement does not cover the category (None when it does)."""
    if a.status != "active":
        return {
            "suspended": "agreement_suspended",
            "expired": "agreement_expired",
            "retired": "agreement_retired",
        }.get(a.status, "agreement_not_active")
    if now >= a.ends_at:
        return "agreement_expired"
    if now < a.starts_at:
        return "agreement_not_started"
    if q.purpose not in a.purposes:
        return "agreement_purpose_not_covered"
    if not covered(a.categories, category):
        return "agreement_category_not_covered"
    return None


def relevant_agreement(a: AgreementTerms, q: Question) -> bool:
    return q.disclosing_agency in a.providers and q.recipient_agency in a.recipients


def grant_applies(g: BreakGlassGrant, q: Question, category: str, now: datetime) -> bool:
    return (
        now < g.until
        and g.disclosing_agency == q.disclosing_agency
        and g.recipient_agency == q.recipient_agency
        and g.purpose == q.purpose
        and covered(g.categories, category)
    )


def objection_against(
    objections: Iterable[ObjectionTerms], q: Question, category: str
) -> ObjectionTerms | None:
    """The first active objection whose scope (empty = everything) takes in this share."""
    for o in objections:
        if o.purposes and q.purpose not in o.purposes:
            continue
        if o.recipients and q.recipient_agency not in o.recipients:
            continue
        if o.categories and not covered(o.categories, category):
            continue
        return o
    return None


def _candidates(
    state: PolicyState, q: Question, category: str, now: datetime
) -> tuple[list[_Candidate], list[str]]:
    found: list[_Candidate] = []
    failures: list[str] = []
    for a in state.agreements:
        if not relevant_agreement(a, q):
            continue
        why = agreement_failure(a, q, category, now)
        if why is None:
            found.append(_Candidate("agreement", a.ends_at, agreement=a))
        else:
            failures.append(why)
    for c in state.consents:
        why = consent_failure(c, q, category, now)
        if why is None:
            found.append(_Candidate("consent", c.expires_at, consent=c))
        else:
            failures.append(why)
    for g in state.grants:
        if grant_applies(g, q, category, now):
            found.append(_Candidate("break_glass", g.until, grant=g))
    return found, failures


def _best(candidates: list[_Candidate]) -> _Candidate:
    return min(candidates, key=lambda c: (c.rank, -c.until.timestamp()))


class _Ledger:
    """Collects bases, obligations and reasons as categories are decided."""

    def __init__(self) -> None:
        self.bases: dict[tuple[str, str], Basis] = {}
        self.obligations: list[dict[str, Any]] = []
        self.reasons: list[str] = []
        self.until: datetime | None = None

    def rely_on(self, cand: _Candidate, category: str, now: datetime) -> None:
        basis: Basis
        if cand.consent is not None:
            key = ("consent", cand.consent.consent_id)
            if key not in self.bases:
                self.bases[key] = ConsentBasis(
                    consent_id=cand.consent.consent_id, version=cand.consent.version
                )
                self.note(
                    kind="discard_after",
                    until=now + timedelta(days=cand.consent.data_life_days),
                    consent_id=cand.consent.consent_id,
                )
            basis = self.bases[key]
        elif cand.agreement is not None:
            a = cand.agreement
            key = ("agreement", a.agreement_id)
            if key not in self.bases:
                self.bases[key] = AgreementBasis(
                    agreement_id=a.agreement_id, legal_basis=a.legal_basis, citation=a.citation
                )
                if a.security:
                    self.note(kind="security", agreement_id=a.agreement_id, arrangements=a.security)
            basis = self.bases[key]
        else:
            assert cand.grant is not None
            key = ("break_glass", cand.grant.grant_id)
            if key not in self.bases:
                self.bases[key] = BreakGlassBasis(grant_id=cand.grant.grant_id, until=cand.until)
                self.note(kind="time_limited_access", until=cand.until)
            basis = self.bases[key]
        basis.categories.append(category)
        self.until = cand.until if self.until is None else min(self.until, cand.until)

    def note(self, **obligation: Any) -> None:
        if obligation not in self.obligations:
            self.obligations.append(obligation)

    def reason(self, code: str) -> None:
        if code not in self.reasons:
            self.reasons.append(code)


def _suggestions(
    category: str, q: Question, state: PolicyState, blocked: bool, now: datetime
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if blocked:
        out.append(
            {
                "category": category,
                "action": "discuss_objection",
                "note": "Only a statutory duty or vital interests override an objection.",
            }
        )
        return out
    for c in state.consents:
        lapsed = consent_failure(c, q, category, now) == "consent_expired"
        if lapsed and consent_failure(c, q, category, c.starts_at) is None:
            out.append(
                {"category": category, "action": "renew_consent", "consent_id": c.consent_id}
            )
    for a in state.agreements:
        if not relevant_agreement(a, q) or q.purpose not in a.purposes:
            continue
        if not covered(a.categories, category):
            continue
        action = {
            "suspended": "reinstate_agreement",
            "draft": "approve_agreement",
            "approved": "activate_agreement",
        }.get(a.status)
        if action:
            out.append({"category": category, "action": action, "agreement_id": a.agreement_id})
    out.append(
        {
            "category": category,
            "action": "seek_consent",
            "purpose": q.purpose,
            "recipient_agency": q.recipient_agency,
        }
    )
    return out


def decide(q: Question, state: PolicyState, *, now: datetime) -> Decision:
    """Answer one sharing question from one snapshot of the policy state."""
    if not q.purpose:
        return Decision(
            decision="deny",
            permitted=[],
            withheld=[WithheldCategory(category=c, reasons=["no_purpose"]) for c in q.categories],
            bases=[],
            obligations=[],
            reasons=["no_purpose"],
            revision=state.revision,
            valid_until=None,
            suggestions=[{"action": "state_purpose"}],
        )
    ledger = _Ledger()
    permitted: list[str] = []
    withheld: list[WithheldCategory] = []
    suggestions: list[dict[str, Any]] = []
    unmet: list[str] = []
    for category in q.categories:
        found, failures = _candidates(state, q, category, now)
        objection = objection_against(state.objections, q, category)
        blocked = False
        if objection is not None and found:
            surviving = [f for f in found if f.legal_basis in OVERRIDES_OBJECTION]
            if not surviving:
                blocked = True
                failures = [objection.kind]
            found = surviving
        if found:
            best = _best(found)
            ledger.rely_on(best, category, now)
            permitted.append(category)
            if objection is not None:
                ledger.reason(f"{objection.kind}_overridden:{best.legal_basis}")
                ledger.note(
                    kind="notify_client",
                    reason=f"{objection.kind}_overridden",
                    legal_basis=best.legal_basis,
                    citation=best.agreement.citation if best.agreement else "",
                    objection_id=objection.objection_id,
                )
            continue
        if objection is not None and not blocked:
            failures.append(objection.kind)
        codes = sorted(set(failures)) or ["no_basis"]
        withheld.append(WithheldCategory(category=category, reasons=codes))
        suggestions += _suggestions(category, q, state, blocked, now)
        unmet.append(category)
    glass = None
    if q.break_glass is not None and unmet:
        glass = BreakGlassBasis(grant_id=q.break_glass.grant_id, until=q.break_glass.until)
        ledger.bases[("break_glass", glass.grant_id)] = glass
        glass.categories.extend(unmet)
        ledger.until = glass.until if ledger.until is None else min(ledger.until, glass.until)
        ledger.reason("break_glass")
        ledger.note(kind="time_limited_access", until=glass.until)
        ledger.note(kind="notify_client", reason="break_glass")
        ledger.note(kind="review", reason="break_glass", by="ig_officer")
        permitted += unmet
        withheld, suggestions = [], []
    if permitted:
        ledger.note(kind="use_only_for_purpose", purpose=q.purpose)
        special = special_categories(permitted)
        if special:
            ledger.note(kind="special_category", categories=special)
    for w in withheld:
        for code in w.reasons:
            ledger.reason(code)
    verdict = "permit" if not withheld else "deny" if not permitted else "partial"
    return Decision(
        decision=verdict,
        permitted=permitted,
        withheld=withheld,
        bases=list(ledger.bases.values()),
        obligations=ledger.obligations,
        reasons=ledger.reasons,
        revision=state.revision,
        valid_until=ledger.until if permitted else None,
        suggestions=suggestions,
        break_glass_granted=glass,
    )
