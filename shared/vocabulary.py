"""The controlled vocabularies (agencies, purposes, data categories), from configuration.

Every service refuses a term that is not listed here. Lookups are by dictionary: the consent
service consults them on every sharing decision.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, PrivateAttr, model_validator

DEFAULT_FILE = Path(__file__).with_name("vocabulary.yaml")


class Agency(BaseModel):
    id: str
    name: str
    type: str


class Purpose(BaseModel):
    id: str
    name: str
    max_consent_days: int


class Category(BaseModel):
    id: str
    name: str
    special: bool = False

    @property
    def parent(self) -> str | None:
        return self.id.rsplit(".", 1)[0] if "." in self.id else None


class Vocabulary(BaseModel):
    agencies: list[Agency]
    purposes: list[Purpose]
    categories: list[Category]

    _agencies: dict[str, Agency] = PrivateAttr(default_factory=dict)
    _purposes: dict[str, Purpose] = PrivateAttr(default_factory=dict)
    _categories: dict[str, Category] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Vocabulary:
        for kind, items in (
            ("agency", self.agencies),
            ("purpose", self.purposes),
            ("category", self.categories),
        ):
            ids = [i.id for i in items]
            if len(ids) != len(set(ids)):
                raise ValueError(f"duplicate {kind} ids in the vocabulary")
        known = {c.id for c in self.categories}
        for c in self.categories:
            if c.parent is not None and c.parent not in known:
                raise ValueError(f"category {c.id} has no parent {c.parent} in the vocabulary")
        self._agencies = {a.id: a for a in self.agencies}
        self._purposes = {p.id: p for p in self.purposes}
        self._categories = {c.id: c for c in self.categories}
        return self

    def agency(self, agency_id: str) -> Agency | None:
        return self._agencies.get(agency_id)

    def purpose(self, purpose_id: str) -> Purpose | None:
        return self._purposes.get(purpose_id)

    def category(self, category_id: str) -> Category | None:
        return self._categories.get(category_id)

    def agency_types(self) -> set[str]:
        """The kinds of agency (`health`, `police`...): a consent may name a type of recipient."""
        return {a.type for a in self.agencies}

    def covers(self, granted: str, requested: str) -> bool:
        """A grant of a parent category covers its children (`health` covers `health.mental`)."""
        return requested == granted or requested.startswith(granted + ".")

    def is_special(self, category_id: str) -> bool:
        """Special categories (health, criminal history, children's safeguarding) need more."""
        category = self._categories.get(category_id)
        return bool(category and category.special)


@cache
def load_vocabulary(path: str | None = None) -> Vocabulary:
    source = Path(path or os.environ.get("CASEBRIDGE_VOCABULARY_FILE") or DEFAULT_FILE)
    return Vocabulary.model_validate(yaml.safe_load(source.read_text()))
