"""Comparison levels: how closely two profiles agree on each field, best level first.

A level is a name ("exact", "nickname", "transposed"...); the model turns it into a match
weight. None means a side is missing the field, which contributes no evidence either way.
"""

from __future__ import annotations

from datetime import date

from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler
from rapidfuzz.fuzz import token_set_ratio

from services.identity.matching.nicknames import are_name_variants
from services.identity.matching.profile import Profile

FIELD_LEVELS: dict[str, tuple[str, ...]] = {
    "given_name": ("exact", "nickname", "jw92", "phonetic", "jw80", "initial", "else"),
    "family_name": ("exact", "part", "jw92", "phonetic", "jw80", "else"),
    "birth_date": ("exact", "transposed", "near", "else"),
    "sex": ("agree", "disagree"),
    "place": ("address", "full", "sector", "district", "else"),
    "identifier": ("agree", "near", "disagree"),
}


def given_name_level(a: Profile, b: Profile) -> str | None:
    if not a.given or not b.given:
        return None
    x, y = a.given, b.given
    if x == y:
        return "exact"
    if are_name_variants(x, y):
        return "nickname"
    if len(x) > 1 and len(y) > 1:
        jw = JaroWinkler.similarity(x, y)
        if jw >= 0.92:
            return "jw92"
        if a.given_phonetic and a.given_phonetic == b.given_phonetic:
            return "phonetic"
        if jw >= 0.80:
            return "jw80"
    elif x[0] == y[0]:
        return "initial"
    # A middle name used as the first name ("Mary Jane" known as "Jane").
    if x in b.other_names or y in a.other_names:
        return "nickname"
    return "else"


def family_name_level(a: Profile, b: Profile) -> str | None:
    if not a.family or not b.family:
        return None
    x, y = a.family, b.family
    if x == y or x.replace(" ", "") == y.replace(" ", ""):
        return "exact"
    parts_a, parts_b = set(a.family_parts), set(b.family_parts)
    # Hyphenated or double-barrelled names, reversed parts, and maiden or former names.
    if (
        parts_a & parts_b
        or x.replace(" ", "") in b.other_names
        or y.replace(" ", "") in a.other_names
    ):
        return "part"
    jw = JaroWinkler.similarity(x, y)
    if jw >= 0.92:
        return "jw92"
    if a.family_phonetic and a.family_phonetic == b.family_phonetic:
        return "phonetic"
    if jw >= 0.80:
        return "jw80"
    return "else"


def birth_date_level(a: date | None, b: date | None) -> str | None:
    if a is None or b is None:
        return None
    if a == b:
        return "exact"
    if a.year == b.year and a.day == b.month and a.month == b.day:
        return "transposed"
    if abs((a - b).days) <= 3:
        return "near"
    if a.month == b.month and a.day == b.day:
        # A year typo, or a year off by one (1989 / 1990: two digits, one slip).
        near_year = _one_typo(str(a.year), str(b.year)) or abs(a.year - b.year) == 1
        return "near" if near_year else "else"
    same = (a.year == b.year) + (a.month == b.month) + (a.day == b.day)
    return "near" if same == 2 else "else"


def _one_typo(x: str, y: str) -> bool:
    """One digit different, or two adjacent digits swapped (1965 / 1956)."""
    diff = [i for i in range(len(x)) if x[i] != y[i]] if len(x) == len(y) else [0, 9]
    if len(diff) == 1:
        return True
    i, j = (diff + [0, 0])[:2]
    return len(diff) == 2 and j == i + 1 and x[i] == y[j] and x[j] == y[i]


def sex_level(a: str | None, b: str | None) -> str | None:
    if not a or not b:
        return None
    return "agree" if a == b else "disagree"


def place_level(a: Profile, b: Profile) -> str | None:
    """Postcode and address line as one field: they are far from independent, so counting
    both would let a shared home outweigh a different name (household members)."""
    same_address = _same_address(a, b)
    if a.postcode is None or b.postcode is None:
        return "full" if same_address else None
    if a.postcode.full == b.postcode.full:
        return "address" if same_address else "full"
    if same_address:
        return "full"  # a postcode typo at the same address
    if a.postcode.sector and a.postcode.sector == b.postcode.sector:
        return "sector"
    if a.postcode.district and a.postcode.district == b.postcode.district:
        return "district"
    return "else"


def _same_address(a: Profile, b: Profile) -> bool:
    """The same home, allowing for typos and extra words, but not another house or flat
    number: "43 Park Lane" and "37 Park Lane" share most of their words and are two homes
    (a street name recurs in every town, so at a million persons this mattered)."""
    if not a.address or not b.address:
        return False
    if a.address == b.address:
        return True
    x, y = a.address_numbers, b.address_numbers
    if x and y and not (x <= y or y <= x):
        return False
    return token_set_ratio(a.address, b.address) >= 85


def identifier_level(a: dict[str, str], b: dict[str, str]) -> str | None:
    """Over the identifier types both records carry: any equal, any one edit apart, or none."""
    shared = a.keys() & b.keys()
    if not shared:
        return None
    best = "disagree"
    for kind in shared:
        if a[kind] == b[kind]:
            return "agree"
        if DamerauLevenshtein.distance(a[kind], b[kind]) <= 1:
            best = "near"
    return best


def compare(a: Profile, b: Profile) -> dict[str, str | None]:
    """The comparison vector of two profiles: a level (or None) per field."""
    return {
        "given_name": given_name_level(a, b),
        "family_name": family_name_level(a, b),
        "birth_date": birth_date_level(a.birth_date, b.birth_date),
        "sex": sex_level(a.sex, b.sex),
        "place": place_level(a, b),
        "identifier": identifier_level(a.identifiers, b.identifiers),
    }
