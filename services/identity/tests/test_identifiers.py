"""Strong identifiers and postcodes are checked by their real rules, from configuration."""

from __future__ import annotations

import pytest

from services.identity.config import IdentitySettings
from services.identity.matching.identifiers import (
    IdentifierType,
    nhs_number_is_valid,
    nino_is_valid,
)
from services.identity.matching.postcodes import AU, UK, PostcodeFormat, parse_postcode


@pytest.mark.parametrize("number", ["9434765919", "4010232137", "4505577104"])
def test_valid_nhs_numbers(number):
    assert nhs_number_is_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "9434765918",  # wrong check digit
        "943476591",  # 9 digits
        "94347659190",  # 11 digits
        "94347659a9",
        "1000000010",  # remainder gives check digit 10: never issued
    ],
)
def test_invalid_nhs_numbers(number):
    assert not nhs_number_is_valid(number)


def test_nhs_number_type_accepts_spaces_and_dashes():
    t = IdentifierType("nhs_number", check="nhs_number", deterministic=True)
    assert t.problem("943 476 5919") is None
    assert t.problem("943-476-5919") is None
    assert t.normalise("943 476 5919") == "9434765919"
    assert "modulus 11" in (t.problem("943 476 5918") or "")


@pytest.mark.parametrize("nino", ["AB123456C", "JG103759A", "ZY999999D", "CE000001B"])
def test_valid_ninos(nino):
    assert nino_is_valid(nino)


@pytest.mark.parametrize(
    "nino",
    [
        "DA123456A",  # D never first
        "FA123456A",
        "IA123456A",
        "QA123456A",
        "UA123456A",
        "VA123456A",
        "AO123456A",  # O never second
        "AD123456A",
        "BG123456A",  # unallocated prefixes
        "GB123456A",
        "NK123456A",
        "KN123456A",
        "TN123456A",
        "NT123456A",
        "ZZ123456A",
        "AB123456E",  # suffix A-D only
        "AB12345C",
        "AB1234567C",
    ],
)
def test_invalid_ninos(nino):
    assert not nino_is_valid(nino)


def test_declared_identifier_types_use_their_regex_or_none():
    settings = IdentitySettings(
        identifier_types={"ssn_us": {"check": "regex", "pattern": r"\d{9}"}}  # type: ignore[dict-item]
    )
    types = settings.identifier_registry
    assert types["ssn_us"].problem("123-45-6789") is None
    assert types["ssn_us"].problem("12345") is not None
    assert types["council_ref"].problem("any thing 123") is None
    assert types["pnc_id"].problem("01/123456A") is None
    assert types["pnc_id"].problem("banana") is not None
    assert settings.verified_types == {"nhs_number", "nino"}


def test_uk_postcodes_give_district_and_sector():
    pc = UK.parse("sw1a 1aa")
    assert pc is not None and (pc.full, pc.district, pc.sector) == ("SW1A1AA", "SW1A", "SW1A1")
    pc = UK.parse("M1 4BT")
    assert pc is not None and (pc.district, pc.sector) == ("M1", "M14")
    assert UK.parse("2000") is None
    assert UK.parse("SW1A") is None


def test_postcode_formats_are_configuration_not_uk_only():
    assert AU.parse("2000") is not None and AU.parse("2000").sector == "200"  # type: ignore[union-attr]
    nl = PostcodeFormat("nl", r"(?P<district>\d{4})(?P<sector>[A-Z])[A-Z]")
    assert parse_postcode("1012 AB", [UK, nl]) is not None
    assert parse_postcode("1012 AB", [UK]) is None
    settings = IdentitySettings(
        postcode_formats=["nl", "uk"], custom_postcode_formats={"nl": nl.pattern}
    )
    assert [f.name for f in settings.formats] == ["nl", "uk"]
