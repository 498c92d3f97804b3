"""A record reduced to what comparison needs: normalised names, date, sex, place, ids."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import jellyfish

from services.identity.matching.nicknames import canonical_given_name
from services.identity.matching.postcodes import Postcode

_NOT_NAME = re.compile(r"[^A-Z\s\-]")


@lru_cache(maxsize=65536)
def normalise_name(raw: str | None) -> str | None:
    """Upper case, accents and apostrophes dropped, hyphens kept as separators."""
    if not raw:
        return None
    text = unicodedata.normalize("NFKD", raw)
    text = "".join(c for c in text if not unicodedata.combining(c)).upper()
    text = _NOT_NAME.sub("", text.replace("'", "").replace("’", ""))
    text = " ".join(text.replace("-", " - ").split()).replace(" - ", "-")
    return text.strip("-") or None


@lru_cache(maxsize=65536)
def phonetic(name: str | None) -> str | None:
    """Metaphone code of a name (letters only), for phonetic comparison and blocking."""
    if not name:
        return None
    letters = re.sub(r"[^A-Z]", "", name)
    return jellyfish.metaphone(letters) if letters else None


@lru_cache(maxsize=65536)
def normalise_address(raw: str | None) -> str | None:
    if not raw:
        return None
    text = unicodedata.normalize("NFKD", raw).upper()
    text = re.sub(r"[^A-Z0-9 ]", " ", text)
    return " ".join(text.split()) or None


@lru_cache(maxsize=65536)
def _numbers(address: str | None) -> frozenset[str]:
    return (
        frozenset(t for t in address.split() if any(c.isdigit() for c in t))
        if address
        else frozenset()
    )


@dataclass(frozen=True, slots=True)
class Profile:
    """What is compared. Build with `make_profile` so the derived fields are consistent."""

    given: str | None
    family: str | None
    other_names: tuple[str, ...] = ()
    birth_date: date | None = None
    sex: str | None = None
    postcode: Postcode | None = None
    address: str | None = None
    address_numbers: frozenset[str] = frozenset()  # house and flat numbers: see place_level
    identifiers: dict[str, str] = field(default_factory=dict)
    given_canonical: str | None = None
    given_phonetic: str | None = None
    family_phonetic: str | None = None
    family_parts: tuple[str, ...] = ()
    _swapped: Profile | None = field(default=None, init=False, repr=False, compare=False)

    def swapped(self) -> Profile:
        """This profile with given and family names exchanged (forms filled in the wrong
        order). Kept once made: a new record is swapped against each of its candidates, and a
        cached candidate against each new record it meets."""
        if self._swapped is not None:
            return self._swapped
        first = self.family.split(" ")[0] if self.family else None
        other = Profile(
            given=first,
            family=self.given,
            other_names=self.other_names,
            birth_date=self.birth_date,
            sex=self.sex,
            postcode=self.postcode,
            address=self.address,
            address_numbers=self.address_numbers,
            identifiers=self.identifiers,
            given_canonical=canonical_given_name(first) if first else None,
            given_phonetic=phonetic(first),
            family_phonetic=self.given_phonetic,
            family_parts=(self.given,) if self.given else (),
        )
        object.__setattr__(self, "_swapped", other)  # frozen: set once, like a cache
        return other


def make_profile(
    *,
    given_name: str | None,
    family_name: str | None,
    other_names: list[str] | tuple[str, ...] = (),
    birth_date: date | None = None,
    sex: str | None = None,
    postcode: Postcode | None = None,
    address_line: str | None = None,
    identifiers: dict[str, str] | None = None,
) -> Profile:
    given_full = normalise_name(given_name)
    given_tokens = given_full.replace("-", " ").split() if given_full else []
    given = given_tokens[0] if given_tokens else None
    family = normalise_name(family_name)
    others: list[str] = list(given_tokens[1:])
    for raw in other_names:
        n = normalise_name(raw)
        if n:
            others.extend(n.replace("-", " ").split())
    family_parts = tuple(family.split("-")) if family else ()
    family_flat = family.replace("-", " ") if family else None
    address = normalise_address(address_line)
    return Profile(
        given=given,
        family=family_flat,
        other_names=tuple(dict.fromkeys(others)),
        birth_date=birth_date,
        sex=sex.upper()[:1] if sex and sex.lower() not in ("unknown", "u") else None,
        postcode=postcode,
        address=address,
        address_numbers=_numbers(address),
        identifiers=dict(identifiers or {}),
        given_canonical=canonical_given_name(given) if given else None,
        given_phonetic=phonetic(given),
        family_phonetic=phonetic(family_flat),
        family_parts=tuple(p.replace(" ", "") for p in family_parts) if family_parts else (),
    )
