"""Checks on what a caller asks to record, against the controlled vocabularies (P10).

Each failure names the field it concerns, so the caller gets one 422 listing every problem
and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from shared.errors import Unprocessable
from shared.vocabulary import Vocabulary


class FieldErrors:
    """Accumulates field errors; `raise_if_any` turns them into one 422 problem."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, field: str, message: str, code: str) -> None:
        self.errors.append({"field": field, "message": message, "code": code})

    def raise_if_any(self) -> None:
        if self.errors:
            raise Unprocessable(
                "The request has invalid fields.", slug="validation-error", errors=self.errors
            )


def check_terms(
    errors: FieldErrors,
    vocab: Vocabulary,
    *,
    purposes: Iterable[str] = (),
    categories: Iterable[str] = (),
    agencies: dict[str, Iterable[str]] | None = None,
    agency_types: Iterable[str] = (),
    prefix: str = "body",
) -> None:
    """Every purpose, category, agency and agency type must be in the vocabulary."""
    for i, p in enumerate(purposes):
        if vocab.purpose(p) is None:
            errors.add(f"{prefix}.purposes.{i}", f"Unknown purpose {p!r}.", "unknown_purpose")
    for i, c in enumerate(categories):
        if vocab.category(c) is None:
            errors.add(f"{prefix}.categories.{i}", f"Unknown category {c!r}.", "unknown_category")
    for field, ids in (agencies or {}).items():
        for i, a in enumerate(ids):
            if vocab.agency(a) is None:
                errors.add(f"{prefix}.{field}.{i}", f"Unknown agency {a!r}.", "unknown_agency")
    known_types = vocab.agency_types()
    for i, t in enumerate(agency_types):
        if t not in known_types:
            errors.add(
                f"{prefix}.recipient_types.{i}",
                f"Unknown agency type {t!r}.",
                "unknown_agency_type",
            )


def max_consent_period(vocab: Vocabulary, purposes: Iterable[str]) -> timedelta | None:
    """The longest a consent may run: the shortest maximum among its purposes."""
    days = [p.max_consent_days for p in map(vocab.purpose, purposes) if p is not None]
    return timedelta(days=min(days)) if days else None


def check_period(
    errors: FieldErrors,
    vocab: Vocabulary,
    *,
    purposes: Iterable[str],
    starts_at: datetime,
    expires_at: datetime,
    now: datetime,
    field: str = "body.expires_at",
) -> None:
    """Expiry after the start, in the future, and within the purposes' maximum period."""
    if expires_at <= starts_at:
        errors.add(field, "The consent would end before it starts.", "ends_before_start")
        return
    if expires_at <= now:
        errors.add(field, "The expiry is in the past.", "expiry_in_past")
        return
    limit = max_consent_period(vocab, purposes)
    if limit is not None and expires_at - max(starts_at, now) > limit:
        errors.add(
            field,
            f"The expiry is beyond the maximum of {limit.days} days for these purposes.",
            "beyond_maximum_period",
        )
