"""Strong identifiers: each type is configuration, validated by its real rule.

NHS number and NINO are built in; other types (a council reference, a foreign social
security number) are declared with a regular expression or no format at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Check = Literal["nhs_number", "nino", "regex", "none"]

# NINO prefixes never issued (HMRC National Insurance Manual NIM39110).
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})
_NINO = re.compile(r"^([A-CEGHJ-PR-TW-Z])([A-CEGHJ-NPR-TW-Z])(\d{6})([A-D])$")


def nhs_number_is_valid(digits: str) -> bool:
    """NHS number: 10 digits; check digit by modulus 11 with weights 10..2 (10 is invalid)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def nino_is_valid(value: str) -> bool:
    """NINO: two prefix letters (D, F, I, Q, U, V never; O not second; some pairs never
    allocated), six digits, suffix A-D (HMRC NIM39110)."""
    m = _NINO.match(value)
    return bool(m) and value[:2] not in _NINO_BAD_PREFIXES


@dataclass(frozen=True)
class IdentifierType:
    """One kind of strong identifier and how to check it.

    `deterministic`: a match on a valid value links records outright (only for identifiers
    with a check rule that catches typos and that are unique to a person).
    """

    name: str
    check: Check = "none"
    pattern: str | None = None
    deterministic: bool = False

    def normalise(self, raw: str) -> str:
        """Upper case without spaces or dashes: how people write these varies."""
        value = re.sub(r"[\s\-]", "", raw).upper()
        return value

    def problem(self, raw: str) -> str | None:
        """Why `raw` is not a valid identifier of this type, or None when it is."""
        value = self.normalise(raw)
        if not value:
            return "is empty"
        if self.check == "nhs_number" and not nhs_number_is_valid(value):
            return "is not a valid NHS number (10 digits with a modulus 11 check digit)"
        if self.check == "nino" and not nino_is_valid(value):
            return "is not a valid National Insurance number (prefix, 6 digits, suffix A-D)"
        if self.check == "regex" and self.pattern and not re.fullmatch(self.pattern, value):
            return f"does not match the format {self.pattern}"
        return None


DEFAULT_IDENTIFIER_TYPES: dict[str, IdentifierType] = {
    t.name: t
    for t in (
        IdentifierType("nhs_number", check="nhs_number", deterministic=True),
        IdentifierType("nino", check="nino", deterministic=True),
        # Police National Computer id: two- or four-digit year, slash, serial, check letter.
        IdentifierType("pnc_id", check="regex", pattern=r"\d{2}(\d{2})?/\d{1,7}[A-Z]"),
        IdentifierType("council_ref", check="none"),
    )
}
