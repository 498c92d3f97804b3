"""Blocking keys: a new record is compared only with records sharing at least one key.

Each key is chosen to survive one kind of error, so a pair with several errors is still
found by another key: the date of birth (with day and month in either order) survives name
typos; phonetic surname and birth year survive date typos; phonetic full name survives a
wrong date; postcode and initial survive both a new surname and a wrong date.
"""

from __future__ import annotations

from services.identity.matching.profile import Profile, phonetic

# A block this small is searched whole; a record in a larger one must share a second key.
SELECTIVE_BLOCK = 100


def blocking_keys(p: Profile) -> set[str]:
    keys: set[str] = set()
    dob = p.birth_date
    given_code = phonetic(p.given_canonical) if p.given_canonical else None
    surnames = {p.family_phonetic} | {phonetic(part) for part in p.family_parts}
    surnames.discard(None)
    if dob is not None:
        lo, hi = sorted((dob.month, dob.day))
        keys.add(f"dob:{dob.year}-{lo:02d}-{hi:02d}")
        for code in surnames:
            keys.add(f"sny:{code}:{dob.year}")
        if given_code:
            keys.add(f"gmd:{given_code}:{dob.month:02d}{dob.day:02d}")
    if given_code:
        names = sorted(c for c in surnames if c)
        for code in names:
            keys.add(f"nm:{'|'.join(sorted((given_code, code)))}")
    if p.postcode is not None and p.given:
        keys.add(f"pci:{p.postcode.full}:{p.given[0]}")
    for kind, value in p.identifiers.items():
        keys.add(f"id:{kind}:{value}")
    return keys
