"""Fellegi-Sunter scoring: each field's level adds log2(m/u) to the match weight.

m = P(level | same person), u = P(level | different people). The total is compared with
an upper threshold (link) and a lower one (below it: a new person; between: review).
Both rise with the size of the index (`threshold_shift`). An exact name agreement on a
common name weighs less (`term_frequencies`). Every score keeps its explanation: the level
and weight of each field.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from services.identity.matching.comparisons import (
    FIELD_LEVELS,
    compare,
    family_name_level,
    given_name_level,
)
from services.identity.matching.profile import Profile

Outcome = Literal["link", "review", "new"]

DEFAULT_MODEL_FILE = Path(__file__).with_name("default_model.json")


# The fields whose exact agreement is weighed by how common the agreed value is.
TERM_FIELDS = ("given_name", "family_name")


@dataclass(frozen=True)
class FieldWeight:
    field: str
    level: str | None
    weight: float
    term_frequency: float | None = None  # set when a common name lowered the weight


@dataclass(frozen=True)
class Score:
    """A scored pair: the total match weight and what each field contributed."""

    total: float
    fields: tuple[FieldWeight, ...]
    names_swapped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": round(self.total, 3),
            "names_swapped": self.names_swapped,
            "fields": [
                {"field": f.field, "level": f.level, "weight": round(f.weight, 3)}
                | ({"term_frequency": f.term_frequency} if f.term_frequency is not None else {})
                for f in self.fields
            ],
        }


def term_of(p: Profile, field_name: str) -> str:
    """The name a profile gives for a term field, as exact agreement compares it."""
    name = p.given if field_name == "given_name" else p.family
    return name.replace(" ", "") if name else ""


def threshold_shift(persons: int, reference: int) -> float:
    """Bits both thresholds rise by in an index of `persons`, set for one of `reference`.

    A pair's weights are the same in any index, but the odds that a new record is one given
    person fall as 1 / persons (the Fellegi-Sunter prior): among a million people many more
    strangers share a name and a date of birth with someone by chance. So a million-person
    index needs log2(1,000,000 / 20,000) = 5.6 more bits for the same confidence. Never
    negative: a smaller index keeps the configured thresholds."""
    if reference <= 0 or persons <= reference:
        return 0.0
    return math.log2(persons / reference)


@dataclass
class MatchModel:
    """m and u per field level, the two thresholds (in match-weight bits), and the names
    common enough to weigh less when they agree.

    `term_frequencies[field][name]` is the name's share of the index's records, kept only
    where it exceeds the field's u for "exact" (the chance that two random records agree on
    that field). Two strangers called Smith agree far more often than two called Okonkwo, so
    an exact agreement on a common name weighs log2(m / share) instead of log2(m / u), as in
    Splink. One-sided on purpose: a rare surname is no stronger than an average one, because
    the strangers who share a rare surname are the family at the same address."""

    m: dict[str, dict[str, float]]
    u: dict[str, dict[str, float]]
    upper: float = 12.0
    lower: float = 4.0
    term_frequencies: dict[str, dict[str, float]] = field(default_factory=dict)
    weights: dict[str, dict[str, float]] = field(init=False)
    _parts: dict[str, dict[str | None, FieldWeight]] = field(init=False, repr=False, compare=False)
    _terms: dict[str, dict[str, FieldWeight]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.weights = {
            f: {
                level: math.log2(max(self.m[f][level], 1e-6) / max(self.u[f][level], 1e-6))
                for level in levels
            }
            for f, levels in FIELD_LEVELS.items()
        }
        # Every (field, level) has one FieldWeight, built here once: weigh runs for every
        # candidate, and building six frozen dataclasses per pair cost more than comparing.
        self._parts = {
            f: {None: FieldWeight(f, None, 0.0)}
            | {level: FieldWeight(f, level, w) for level, w in levels.items()}
            for f, levels in self.weights.items()
        }
        m_exact = {f: max(self.m[f]["exact"], 1e-6) for f in TERM_FIELDS}
        self._terms = {  # only fields with common names: the rest cost nothing in `weigh`
            f: {
                name: FieldWeight(f, "exact", math.log2(m_exact[f] / share), share)
                for name, share in self.term_frequencies.get(f, {}).items()
                if share > self.u[f]["exact"]
            }
            for f in TERM_FIELDS
            if self.term_frequencies.get(f)
        }

    def weigh(
        self, vector: dict[str, str | None], a: Profile
    ) -> tuple[float, tuple[FieldWeight, ...]]:
        """The weights of a comparison vector; `a` is one side of the pair, whose names are
        the agreed ones where a name field is "exact"."""
        parts = [
            (level == "exact" and f in self._terms and self._terms[f].get(term_of(a, f)))
            or self._parts[f][level]
            for f, level in vector.items()
        ]
        return sum([p.weight for p in parts]), tuple(parts)

    def score(self, a: Profile, b: Profile) -> Score:
        """Score a pair, also trying given and family names the other way round."""
        vector = compare(a, b)
        total, parts = self.weigh(vector, a)
        # Names the other way round can only help when neither name already agrees.
        poor = (None, "else", "jw80", "initial")
        if (
            vector["given_name"] in poor
            and vector["family_name"] in poor
            and a.given
            and a.family
            and b.given
            and b.family
        ):
            # Either side swapped: a multi-word surname written as the given name ("de la
            # Cruz") splits unevenly, and the score must not depend on which came first.
            # Only the names change, so only they are compared again.
            for x, y in ((a.swapped(), b), (a, b.swapped())):
                given, family = given_name_level(x, y), family_name_level(x, y)
                # Only a real swap counts: both names must agree the other way round.
                if given != "else" and family != "else":
                    alt = vector | {"given_name": given, "family_name": family}
                    alt_total, alt_parts = self.weigh(alt, x)
                    if alt_total > total + 1.0:
                        return Score(alt_total, alt_parts, names_swapped=True)
        return Score(total, parts)

    def outcome(self, total: float, shift: float = 0.0) -> Outcome:
        if total >= self.upper + shift:
            return "link"
        return "review" if total >= self.lower + shift else "new"

    # -- persistence: the `estimate` command writes this, the service reads it --------------
    def to_json(self) -> dict[str, Any]:
        return {
            "upper": self.upper,
            "lower": self.lower,
            "m": self.m,
            "u": self.u,
            "term_frequencies": self.term_frequencies,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MatchModel:
        return cls(
            m=data["m"],
            u=data["u"],
            upper=data["upper"],
            lower=data["lower"],
            term_frequencies=data.get("term_frequencies", {}),
        )

    @classmethod
    def load(cls, path: Path | None = None) -> MatchModel:
        return cls.from_json(json.loads((path or DEFAULT_MODEL_FILE).read_text()))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
