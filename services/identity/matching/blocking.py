"""Blocking keys: a new record is compared only with records sharing at least one key.

Each key is chosen to survive one kind of error, so a pair with several errors is still
found by another key: the date of birth (with day and month in either order) survives name
typos; phonetic surname and birth year survive date typos; phonetic full name survives a
wrong date; postcode or address and initials survive both a new surname and a wrong date; two
letters of each name and the birth year survive typos further on in both names.

A record is stored under `blocking_keys` and looked for under `query_keys`, which add the name
keys of its names the other way round and of its former names: a record with given and family
names swapped, or married since, otherwise shared only the date block, and a record in a large
block must share two keys to be a candidate (see `SELECTIVE_BLOCK`). Storing those keys too
would pair every two people with the same first name and birth year.
"""

from __future__ import annotations

from services.identity.matching.profile import Profile, phonetic

# A block this small is searched whole; a record in a larger one must share a second key.
SELECTIVE_BLOCK = 30


def blocking_keys(p: Profile) -> set[str]:
    """The keys a record is stored under."""
    keys = _name_keys(p)
    if p.given_canonical:
        # The given name's initial (a nickname's by its full form) survives a new surname;
        # both initials in either order survive names swapped.
        first = p.given_canonical[0]
        initials = {first, "".join(sorted(first + p.family[0]))} if p.family else {first}
        for initial in initials:
            if p.postcode is not None:
                keys.add(f"pci:{p.postcode.full}:{initial}")
            if p.address:
                keys.add(f"adi:{p.address}:{initial}")
    for kind, value in p.identifiers.items():
        keys.add(f"id:{kind}:{value}")
    return keys


def query_keys(p: Profile) -> set[str]:
    """The keys a record's candidates are looked for under."""
    keys = blocking_keys(p)
    if p.given and p.family:
        keys |= _name_keys(p.swapped())
    if p.birth_date is not None:
        keys |= {f"sny:{code}:{p.birth_date.year}" for n in p.other_names if (code := phonetic(n))}
    return keys


def _name_keys(p: Profile) -> set[str]:
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
        if p.given and p.family:
            keys.add(f"ny2:{'|'.join(sorted((p.given[:2], p.family[:2])))}:{dob.year}")
    if given_code:
        for code in sorted(c for c in surnames if c):
            keys.add(f"nm:{'|'.join(sorted((given_code, code)))}")
    return keys
