"""Vocabulary helpers the rules share (hierarchical categories, special categories)."""

from __future__ import annotations

from collections.abc import Iterable

from shared.vocabulary import load_vocabulary


def covered(granted: Iterable[str], requested: str) -> bool:
    """A grant of a parent category covers its children (`health` covers `health.mental`)."""
    return any(requested == g or requested.startswith(g + ".") for g in granted)


def special_categories(categories: Iterable[str]) -> list[str]:
    vocab = load_vocabulary()
    return [c for c in categories if vocab.is_special(c)]
