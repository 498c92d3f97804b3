"""Postcodes as configuration: each format is a regex naming its district and sector parts.

The UK format is only the default; Australian four-digit postcodes (FEBRL) or any other
country's are declared the same way. A format without the named groups still compares
on the full postcode.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@dataclass(frozen=True)
class PostcodeFormat:
    name: str
    pattern: str  # applied to the upper-cased postcode with spaces removed

    def parse(self, raw: str) -> Postcode | None:
        value = "".join(raw.split()).upper()
        m = _compiled(self.pattern).fullmatch(value)
        if m is None:
            return None
        groups = m.groupdict()
        district = groups.get("district")
        sector = (district or "") + groups["sector"] if groups.get("sector") else None
        return Postcode(full=value, district=district, sector=sector)


@dataclass(frozen=True)
class Postcode:
    full: str
    district: str | None
    sector: str | None


# UK: outward code (area letters, district digit(s), optional letter) then the inward code
# (sector digit, two unit letters). District = outward code; sector = outward + digit.
UK = PostcodeFormat("uk", r"(?P<district>[A-Z]{1,2}\d[A-Z\d]?)(?P<sector>\d)[A-Z]{2}")
# Australia: four digits; the first two name the region, the third narrows it.
AU = PostcodeFormat("au", r"(?P<district>\d{2})(?P<sector>\d)\d")
ANY = PostcodeFormat("any", r"[A-Z0-9]{2,10}")

BUILTIN_FORMATS = {f.name: f for f in (UK, AU, ANY)}


def parse_postcode(raw: str, formats: list[PostcodeFormat]) -> Postcode | None:
    """The first configured format that accepts `raw`, or None when none does."""
    return _parse(raw, tuple(formats))


@functools.lru_cache(maxsize=65536)
def _parse(raw: str, formats: tuple[PostcodeFormat, ...]) -> Postcode | None:
    # Remembered: every candidate profile parses its record's postcode again, and households
    # and streets share them.
    for fmt in formats:
        parsed = fmt.parse(raw)
        if parsed is not None:
            return parsed
    return None
