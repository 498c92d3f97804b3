"""Training pairs for EM, drawn the way the service draws candidates: blocked pairs (likely
matches and near misses) and random pairs (almost all non-matches, for u)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace

from services.identity.matching.blocking import blocking_keys
from services.identity.matching.comparisons import compare
from services.identity.matching.em import Vector, estimate
from services.identity.matching.profile import Profile
from services.identity.matching.scoring import TERM_FIELDS, MatchModel, term_of


def blocked_pairs(
    profiles: Sequence[Profile], *, max_block: int = 50, max_pairs: int = 200_000, seed: int = 1
) -> list[tuple[int, int]]:
    """Index pairs sharing a blocking key (blocks larger than `max_block` are sampled)."""
    rng = random.Random(seed)
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(profiles):
        for key in blocking_keys(p):
            blocks[key].append(i)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) > max_block:
            members = rng.sample(members, max_block)
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                pairs.add((members[x], members[y]))
    out = sorted(pairs)
    return rng.sample(out, max_pairs) if len(out) > max_pairs else out


def random_pairs(n: int, count: int, seed: int = 2) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    return [(a, b) for a, b in (rng.sample(range(n), 2) for _ in range(count))]


def term_frequencies(
    profiles: Sequence[Profile], u: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    """Each name's share of the records, for the names more common than the field's u for
    "exact" (only those change a weight: see `MatchModel`)."""
    out: dict[str, dict[str, float]] = {}
    for f in TERM_FIELDS:
        counts = Counter(term_of(p, f) for p in profiles)
        counts.pop("", None)
        total = sum(counts.values())
        out[f] = {
            name: round(n / total, 6)
            for name, n in counts.most_common()
            if n / total > u[f]["exact"]
        }
    return out


def train(
    profiles: Sequence[Profile], start: MatchModel, *, n_random: int = 50_000, iterations: int = 30
) -> MatchModel:
    """m by EM over blocked pairs, u from random pairs, the common names' shares counted;
    thresholds kept from `start`."""
    if len(profiles) < 2:
        return start
    blocked: list[Vector] = [compare(profiles[a], profiles[b]) for a, b in blocked_pairs(profiles)]
    rand: list[Vector] = [
        compare(profiles[a], profiles[b]) for a, b in random_pairs(len(profiles), n_random)
    ]
    model = estimate(blocked, rand, start, iterations=iterations)
    return replace(model, term_frequencies=term_frequencies(profiles, model.u))
