"""Identifier normalisation: exact values LinkedIn matches on."""

from __future__ import annotations

import hashlib

import pytest

from target_linkedin_conversions import identifiers as ids

# sha256("jane.doe@example.com"), (printf %s jane.doe@example.com | sha256sum)
JANE_SHA = "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"


def test_reference_hash_is_the_plain_sha256() -> None:
    assert hashlib.sha256(b"jane.doe@example.com").hexdigest() == JANE_SHA


@pytest.mark.parametrize(
    "raw",
    ["jane.doe@example.com", "  Jane.Doe@Example.COM\t", "JANE.DOE@EXAMPLE.COM\n"],
)
def test_email_is_stripped_lowercased_and_hashed(raw: str) -> None:
    assert ids.hashed_email(raw) == JANE_SHA


def test_email_lowercasing_is_unicode_aware() -> None:
    assert ids.hashed_email("ÉLODIE@Exemple.FR") == hashlib.sha256(
        "élodie@exemple.fr".encode()
    ).hexdigest()


@pytest.mark.parametrize("already", [JANE_SHA, JANE_SHA.upper(), f"  {JANE_SHA.upper()} "])
def test_an_existing_hash_passes_through_lowercased_never_hashed_twice(already: str) -> None:
    assert ids.hashed_email(already) == JANE_SHA


@pytest.mark.parametrize("blank", [None, "", "   ", "\t\n"])
def test_blank_email_counts_as_absent(blank: str | None) -> None:
    assert ids.hashed_email(blank) is None


def test_prehashed_column_must_hold_a_hash() -> None:
    assert ids.prehashed_email(JANE_SHA.upper()) == JANE_SHA
    with pytest.raises(ValueError, match="64 hexadecimal"):
        ids.prehashed_email("jane.doe@example.com")


def test_ipv4_only() -> None:
    assert ids.ipv4_address(" 192.0.2.10 ") == "192.0.2.10"
    with pytest.raises(ValueError, match="IPv6"):
        ids.ipv4_address("2001:db8::1")
    with pytest.raises(ValueError, match="not an IP"):
        ids.ipv4_address("999.1.1.1")


def test_country_and_currency_codes_are_upper_cased_and_checked() -> None:
    assert ids.country_code("gb") == "GB"
    assert ids.currency_code(" eur ") == "EUR"
    with pytest.raises(ValueError):
        ids.country_code("GBR")
    with pytest.raises(ValueError):
        ids.currency_code("EURO")


@pytest.mark.parametrize("invisible", ["\ufeff", "\u200b"])
def test_hash_with_an_invisible_character_is_passed_through_not_hashed_again(
        invisible: str) -> None:
    assert ids.hashed_email(invisible + JANE_SHA.upper()) == JANE_SHA
    assert ids.hashed_email(JANE_SHA + invisible) == JANE_SHA
    assert ids.prehashed_email(invisible + JANE_SHA) == JANE_SHA


@pytest.mark.parametrize("value", [["a@b.c"], {"x": 1}, True])
def test_non_text_values_raise_instead_of_becoming_python_text(value: object) -> None:
    with pytest.raises(ids.NotTextError):
        ids.text_or_none(value)
    assert ids.text_or_none(6543) == "6543"
