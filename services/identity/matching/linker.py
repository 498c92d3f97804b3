"""The link decision for one record against its candidates: pure, so it is unit-tested and
benchmarked exactly as the service runs it.

Rules, in order:
1. deterministic: a valid strong identifier (NHS number, NINO...) shared with a person links.
2. probabilistic: the best-scoring candidate person (by its best record) is linked above the
   upper threshold, queued for review between the thresholds, and a new person below; both
   thresholds rise with the size of the index (`scoring.threshold_shift`).
3. guards: a pair whose verified identifiers of the same type differ, or whose given names,
   family names or dates of birth disagree entirely without an identifier that agrees (a new
   surname is a question for a person unless the old one is given, or the date of birth and
   address both agree), is never linked
   automatically (twins, household members sharing a surname and an address): at most review;
   nor is a pair whose dates of birth are not exactly the same (or missing) unless identifier
   or address agree: names and a nearly matching date in another town are as often namesakes
   (at a million persons, 22 of 300 strangers were linked so; bench/identity_speed.py).
   Each guard can be switched off in configuration (CASEBRIDGE_IDENTITY_GUARDS).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from services.identity.matching.profile import Profile
from services.identity.matching.scoring import MatchModel, Outcome, Score, threshold_shift


@dataclass(frozen=True)
class Candidate:
    record_id: str
    person_id: str
    profile: Profile


@dataclass(frozen=True)
class LinkDecision:
    outcome: Outcome
    rule: str
    person_id: str | None = None  # the person linked to, or proposed for review
    record_id: str | None = None  # the candidate record that scored best
    score: Score | None = None
    candidates: int = 0
    persons: int = 0  # in the index when deciding
    shift: float = 0.0  # bits the thresholds rose by for that size

    def explanation(self, model: MatchModel) -> dict[str, Any]:
        """What the caller and the audit trail see: no other record's identity or agency."""
        return {
            "decision": {"link": "linked", "review": "review", "new": "new_person"}[self.outcome],
            "rule": self.rule,
            "thresholds": {
                "upper": round(model.upper + self.shift, 3),
                "lower": round(model.lower + self.shift, 3),
            },
            "index_size": {"persons": self.persons, "threshold_shift": round(self.shift, 3)},
            "candidates_compared": self.candidates,
            **(self.score.as_dict() if self.score else {"total": None, "fields": []}),
        }


ALL_GUARDS = frozenset(
    {
        "verified-identifier-differs",
        "given-name-differs",
        "family-name-differs",
        "birth-date-differs",
        "too-little-evidence",
    }
)


def _guard(score: Score, conflict: bool, guards: frozenset[str]) -> str | None:
    """The first enabled guard that stops an automatic link, if any."""
    levels = {f.field: f.level for f in score.fields}
    identifier_agrees = levels["identifier"] in ("agree", "near")
    # A new surname (marriage, a corrupted entry) with the same date of birth and address is
    # no evidence of another person: households share a surname. Another first name there
    # is (twins), and so is a pair with both names different (a twin with the names swapped).
    same_dob_home = levels["birth_date"] == "exact" and levels["place"] == "address"
    fired = [
        ("verified-identifier-differs", conflict),
        ("given-name-differs", not identifier_agrees and levels["given_name"] == "else"),
        (
            "family-name-differs",
            not identifier_agrees and levels["family_name"] == "else" and not same_dob_home,
        ),
        ("birth-date-differs", not identifier_agrees and levels["birth_date"] == "else"),
        (
            "too-little-evidence",
            not identifier_agrees
            and levels["birth_date"] != "exact"
            and levels["place"] not in ("address", "full"),
        ),
    ]
    return next((name for name, hit in fired if hit and name in guards), None)


def identifier_conflict(a: Profile, b: Profile, verified: frozenset[str]) -> bool:
    return any(
        a.identifiers[k] != b.identifiers[k]
        for k in verified & a.identifiers.keys() & b.identifiers.keys()
    )


def decide(
    profile: Profile,
    candidates: Iterable[Candidate],
    model: MatchModel,
    *,
    verified_types: frozenset[str],
    identifier_matches: Iterable[tuple[str, str]] = (),
    excluded_persons: frozenset[str] = frozenset(),
    guards: frozenset[str] = ALL_GUARDS,
    persons: int = 0,
    reference_persons: int = 0,
) -> LinkDecision:
    """Decide what `profile` links to. `identifier_matches`: (type, person id) pairs found by
    exact lookup of its verified identifiers; `excluded_persons`: pairs a reviewer rejected;
    `persons`: the index's size, which raises both thresholds above `reference_persons`.
    `candidates` is not iterated when an identifier decides (callers pass it lazily)."""
    shift = threshold_shift(persons, reference_persons)
    for kind, person_id in identifier_matches:
        if person_id not in excluded_persons:
            return LinkDecision(
                "link", f"deterministic:{kind}", person_id=person_id, persons=persons, shift=shift
            )
    best: tuple[float, Candidate, Score, bool] | None = None
    count = 0
    for cand in candidates:
        if cand.person_id in excluded_persons:
            continue
        count += 1
        score = model.score(profile, cand.profile)
        if best is None or score.total > best[0]:
            conflict = identifier_conflict(profile, cand.profile, verified_types)
            best = (score.total, cand, score, conflict)
    if best is None:
        return LinkDecision("new", "no-candidates", candidates=0, persons=persons, shift=shift)
    total, cand, score, conflict = best
    outcome = model.outcome(total, shift)
    rule = {
        "link": "probabilistic:above-upper",
        "review": "probabilistic:between-thresholds",
        "new": "probabilistic:below-lower",
    }[outcome]
    if outcome == "link":
        guard = _guard(score, conflict, guards)
        if guard:
            outcome, rule = "review", f"guard:{guard}"
    if outcome == "new":
        return LinkDecision(
            "new", rule, score=score, candidates=count, persons=persons, shift=shift
        )
    return LinkDecision(
        outcome,
        rule,
        person_id=cand.person_id,
        record_id=cand.record_id,
        score=score,
        candidates=count,
        persons=persons,
        shift=shift,
    )
