"""Identifier normalisation and hashing, exactly as LinkedIn matches them.

Pure functions: no config, no I/O. A function returns None for a value that counts as absent
(None, empty, whitespace) and raises `ValueError` for a value that is present but unusable.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import typing as t
import unicodedata

_SHA256_HEX = re.compile(r"^[0-9A-Fa-f]{64}$")
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_CURRENCY = re.compile(r"^[A-Za-z]{3}$")


class NotTextError(ValueError):
    """A value that should be text (or a number) is a list, an object or a boolean."""


def text_or_none(value: t.Any) -> str | None:
    """The value as stripped text, or None when it is absent or blank.

    Numbers become their text (ids are often numeric); a list, object or boolean raises
    `ValueError`: its Python text ("['x']", "True") would be sent as if it were the value.
    """
    if value is None:
        return None
    if value.__class__ is str:
        text = value.strip()
    elif isinstance(value, (bool, dict, list, tuple)):
        raise NotTextError(f"holds a {_JSON_KIND.get(type(value), 'non-text value')}, not text")
    else:
        text = str(value).strip()
    return text or None


_JSON_KIND = {bool: "boolean", dict: "JSON object", list: "JSON array", tuple: "JSON array"}


def is_sha256_hex(value: str) -> bool:
    """True for 64 hex characters in either case: a value that is already hashed."""
    return bool(_SHA256_HEX.match(value))


def sha256_hex(text: str) -> str:
    """Lowercase hex SHA-256 of TEXT encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hashed_email(value: t.Any) -> str | None:
    """SHA256_EMAIL value: strip, lowercase (Unicode-aware), hash; pass a hash through once.

    An input that already is 64 hex characters is lowercased and never hashed again, so a
    warehouse that stores hashes and one that stores addresses produce the same value.
    Non-ASCII text is first NFC-normalised and cleared of invisible format characters (a
    CSV's byte-order mark, zero-width spaces), which would otherwise change the hash and
    lose the match without a trace.
    """
    text = text_or_none(value)
    if text is None:
        return None
    if not text.isascii():
        text = _visible(text)
    if len(text) == 64 and is_sha256_hex(text):
        return text.lower()
    text = "".join(text.split()).lower()
    return sha256_hex(text) if text else None


def _visible(text: str) -> str:
    """NFC-normalised TEXT without invisible format characters (BOM, zero-width), stripped."""
    return "".join(ch for ch in unicodedata.normalize("NFC", text)
                   if unicodedata.category(ch) != "Cf").strip()


def prehashed_email(value: t.Any) -> str | None:
    """A column that claims to hold SHA-256 emails: must be 64 hex characters."""
    text = text_or_none(value)
    if text is None:
        return None
    if not text.isascii():
        text = _visible(text)
    if not is_sha256_hex(text):
        raise ValueError("sha256_email is not 64 hexadecimal characters")
    return text.lower()


def ipv4_address(value: t.Any) -> str | None:
    """A PLAINTEXT_IP_ADDRESS value: LinkedIn only matches IPv4."""
    text = text_or_none(value)
    if text is None:
        return None
    if _IPV4.fullmatch(text):  # the common case, without building an ipaddress object
        return text
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise ValueError("ip_address is not an IP address") from None
    if address.version != 4:
        raise ValueError("ip_address is IPv6; LinkedIn matches IPv4 only")
    return str(address)


def country_code(value: t.Any) -> str | None:
    """ISO-3166 alpha-2, upper-cased."""
    text = text_or_none(value)
    if text is None:
        return None
    if not _COUNTRY.match(text):
        raise ValueError("country_code is not a two-letter ISO-3166 code")
    return text.upper()


def currency_code(value: t.Any) -> str | None:
    """ISO-4217 alpha-3, upper-cased."""
    text = text_or_none(value)
    if text is None:
        return None
    if not _CURRENCY.match(text):
        raise ValueError("currency is not a three-letter ISO-4217 code")
    return text.upper()
