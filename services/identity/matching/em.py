"""Estimating m and u from unlabelled data.

u: from random pairs (almost all are different people), as Splink does.
m: by expectation-maximisation over blocked candidate pairs, with u held fixed; the share
of true matches among the pairs (lambda) is estimated alongside.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.identity.matching.comparisons import FIELD_LEVELS
from services.identity.matching.scoring import MatchModel

Vector = dict[str, str | None]


def _encode(vectors: Sequence[Vector]) -> dict[str, np.ndarray]:
    return {
        f: np.array([levels.index(v[f]) if v[f] is not None else -1 for v in vectors])
        for f, levels in FIELD_LEVELS.items()
    }


def _frequencies(codes: np.ndarray, n_levels: int, weights: np.ndarray) -> np.ndarray:
    present = codes >= 0
    counts = np.bincount(codes[present], weights=weights[present], minlength=n_levels)
    smoothed = counts.astype(float) + 0.5  # smoothing: an unseen level is rare, not impossible
    return smoothed / smoothed.sum()


def estimate_u(random_pairs: Sequence[Vector]) -> dict[str, dict[str, float]]:
    codes = _encode(random_pairs)
    ones = np.ones(len(random_pairs))
    return {
        f: dict(zip(levels, _frequencies(codes[f], len(levels), ones).tolist(), strict=True))
        for f, levels in FIELD_LEVELS.items()
    }


def estimate_m(
    blocked_pairs: Sequence[Vector],
    start: MatchModel,
    u: dict[str, dict[str, float]],
    *,
    iterations: int = 30,
    fixed_m: frozenset[str] = frozenset(),
) -> tuple[dict[str, dict[str, float]], float]:
    """EM for m (u fixed). Returns m and the estimated share of matches among the pairs."""
    codes = _encode(blocked_pairs)
    n = len(blocked_pairs)
    m = {f: dict(start.m[f]) for f in FIELD_LEVELS}
    lam = 0.1
    for _ in range(iterations):
        log_m = np.zeros(n)
        log_u = np.zeros(n)
        for f, levels in FIELD_LEVELS.items():
            mf = np.log(np.array([max(m[f][lv], 1e-9) for lv in levels] + [1.0]))
            uf = np.log(np.array([max(u[f][lv], 1e-9) for lv in levels] + [1.0]))
            log_m += mf[codes[f]]  # index -1 picks the trailing 1.0: a missing field is neutral
            log_u += uf[codes[f]]
        odds = np.clip(log_m - log_u + np.log(lam / (1 - lam)), -50, 50)
        p = 1.0 / (1.0 + np.exp(-odds))
        lam = float(np.clip(p.mean(), 1e-6, 1 - 1e-6))
        for f, levels in FIELD_LEVELS.items():
            if f in fixed_m:
                continue
            m[f] = dict(zip(levels, _frequencies(codes[f], len(levels), p).tolist(), strict=True))
    return m, lam


def estimate(
    blocked_pairs: Sequence[Vector],
    random_pairs: Sequence[Vector],
    start: MatchModel,
    *,
    iterations: int = 30,
) -> MatchModel:
    """A new model with u from random pairs and m by EM; thresholds are kept."""
    u = estimate_u(random_pairs)
    m, _ = estimate_m(blocked_pairs, start, u, iterations=iterations)
    return MatchModel(m=m, u=u, upper=start.upper, lower=start.lower)
