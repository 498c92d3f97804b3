"""The identity service's own settings (prefix CASEBRIDGE_IDENTITY_): what identifiers and
postcodes look like, and where the match model (m, u, thresholds) lives."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.identity.matching.identifiers import DEFAULT_IDENTIFIER_TYPES, IdentifierType
from services.identity.matching.linker import ALL_GUARDS
from services.identity.matching.postcodes import BUILTIN_FORMATS, PostcodeFormat
from services.identity.matching.scoring import MatchModel


class IdentifierTypeConfig(BaseModel):
    check: Literal["nhs_number", "nino", "regex", "none"] = "none"
    pattern: str | None = None
    deterministic: bool = False


class IdentitySettings(BaseSettings):
    """Everything here can be set from the environment, JSON for the structured values, e.g.
    CASEBRIDGE_IDENTITY_IDENTIFIER_TYPES='{"ssn_us": {"check": "regex", "pattern": "\\\\d{9}"}}'."""

    model_config = SettingsConfigDict(env_prefix="CASEBRIDGE_IDENTITY_", extra="ignore")

    # Declared in addition to the built-in NHS number, NINO, PNC id and council reference.
    identifier_types: dict[str, IdentifierTypeConfig] = {}
    # Built-in format names (uk, au, any) or {"name": "regex with (?P<district>) (?P<sector>)"}.
    postcode_formats: list[str] = ["uk"]
    custom_postcode_formats: dict[str, str] = {}
    # m/u and thresholds: a JSON file written by `identity estimate`; the shipped default otherwise.
    model_file: Path | None = None
    upper_threshold: float | None = None
    lower_threshold: float | None = None
    # The index size the thresholds are set for: in a larger index both rise by
    # log2(persons / this) bits (matching/scoring.py `threshold_shift`). At a million persons
    # that cut the strangers sent to review from 112 to 31 of 292 and kept 673 of 674 true
    # links (bench/identity_speed.py). 0 keeps the thresholds as set. Persons are counted at
    # most every `index_size_refresh_seconds` per process.
    threshold_reference_persons: int = 20_000
    index_size_refresh_seconds: float = 60.0
    # Rules that stop an automatic link (at most review); see matching/linker.py.
    guards: list[str] = sorted(ALL_GUARDS)
    # Most candidate records scored for one link decision, the best-connected first. At a
    # million persons 25 kept every true link of 1,000 probes that 1,000 kept, and cut the
    # decision's p50 from 2.7 to 1.6 ms (bench/identity_speed.py).
    max_candidates: int = 25
    # Most of one agency's records scored for a demographic search (unordered, so wider).
    max_search_candidates: int = 1000

    @cached_property
    def identifier_registry(self) -> dict[str, IdentifierType]:
        types = dict(DEFAULT_IDENTIFIER_TYPES)
        for name, cfg in self.identifier_types.items():
            types[name] = IdentifierType(name, cfg.check, cfg.pattern, cfg.deterministic)
        return types

    @cached_property
    def verified_types(self) -> frozenset[str]:
        return frozenset(n for n, t in self.identifier_registry.items() if t.deterministic)

    @cached_property
    def formats(self) -> list[PostcodeFormat]:
        known = {**BUILTIN_FORMATS}
        known.update({n: PostcodeFormat(n, p) for n, p in self.custom_postcode_formats.items()})
        return [known[name] for name in self.postcode_formats]

    @cached_property
    def model(self) -> MatchModel:
        model = MatchModel.load(self.model_file)
        if self.upper_threshold is not None:
            model.upper = self.upper_threshold
        if self.lower_threshold is not None:
            model.lower = self.lower_threshold
        return model

    def with_model(self, model: MatchModel) -> IdentitySettings:
        """The same settings scoring with `model` (a freshly estimated one, in benchmarks)."""
        copy = self.model_copy()
        copy.__dict__["model"] = model
        return copy
