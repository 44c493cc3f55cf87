"""Rest.li 2.0 URL syntax: `List(a,b)` lists, `(k:v,k2:v2)` objects and compound keys.

Rest.li parses the raw, still percent-encoded text: the structure characters `( ) , :` are literal
and the values inside are percent-encoded. Decoding the query string first (as most HTTP stacks
do) would make `urn:li:sponsoredAccount:1` indistinguishable from structure, so handlers read raw
parameters through `raw_params` and decode them here.
"""

from __future__ import annotations

import typing as t
from urllib.parse import quote, unquote

_STRUCTURE = "(),:"
_LIST_OPEN = "List("

Value = str | list["Value"] | dict[str, "Value"]


class RestliSyntaxError(ValueError):
    """A Rest.li 2.0 expression that does not parse; the message names the position."""


class _Parser:
    """Recursive-descent parser over one raw (percent-encoded) Rest.li 2.0 expression."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, expected: str) -> t.NoReturn:
        """Raise with the position and what was expected, so a 400 message can point at it."""
        found = repr(self.text[self.pos]) if self.pos < len(self.text) else "end of input"
        raise RestliSyntaxError(f"expected {expected} at position {self.pos}, found {found}")

    def parse(self) -> Value:
        """The whole text as one value; trailing characters are an error."""
        value = self.value()
        if self.pos != len(self.text):
            self.fail("end of input")
        return value

    def value(self) -> Value:
        """A list, an object or a leaf, told apart by the first characters."""
        if self.text.startswith(_LIST_OPEN, self.pos):
            self.pos += len(_LIST_OPEN)
            return self.items()
        if self.text.startswith("(", self.pos):
            self.pos += 1
            return self.fields()
        return self.leaf()

    def items(self) -> list[Value]:
        """The members of `List(...)` after the opening parenthesis."""
        result: list[Value] = []
        if self.take(")"):
            return result
        while True:
            result.append(self.value())
            if self.take(")"):
                return result
            if not self.take(","):
                self.fail("',' or ')' in List(...)")

    def fields(self) -> dict[str, Value]:
        """The members of `(k:v,...)` after the opening parenthesis."""
        result: dict[str, Value] = {}
        if self.take(")"):
            return result
        while True:
            key = self.leaf()
            if not key:
                self.fail("a field name")
            if key in result:
                raise RestliSyntaxError(f"duplicate field {key!r} before position {self.pos}")
            if not self.take(":"):
                self.fail(f"':' after field name {key!r}")
            result[key] = self.value()
            if self.take(")"):
                return result
            if not self.take(","):
                self.fail("',' or ')' in (...)")

    def leaf(self) -> str:
        """A percent-encoded scalar; `''` is the empty string. Stops at any structure char."""
        if self.text.startswith("''", self.pos):
            self.pos += 2
            return ""
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _STRUCTURE:
            self.pos += 1
        if self.pos == start:
            self.fail("a value")
        return unquote(self.text[start:self.pos])

    def take(self, char: str) -> bool:
        """Consume CHAR if it is next."""
        if self.text.startswith(char, self.pos):
            self.pos += len(char)
            return True
        return False


def decode(raw: str) -> Value:
    """Decode one raw Rest.li 2.0 expression (a query value or a key path segment)."""
    return _Parser(raw).parse()


def encode(value: Value) -> str:
    """The canonical Rest.li 2.0 form of VALUE, as a client should send it."""
    if isinstance(value, dict):
        return "(" + ",".join(f"{quote(k, safe='')}:{encode(v)}" for k, v in value.items()) + ")"
    if isinstance(value, list):
        return _LIST_OPEN + ",".join(encode(v) for v in value) + ")"
    return quote(value, safe="") if value else "''"


def raw_params(raw_query: str) -> dict[str, str]:
    """Query parameters with their values left percent-encoded (names are decoded)."""
    params: dict[str, str] = {}
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        params[unquote(name)] = value
    return params


def scalar(raw: str) -> str:
    """A plain scalar parameter (count, pageToken, an URN): decoded once, structure allowed."""
    return unquote(raw)


def decode_compound_key(raw: str, parts: tuple[str, ...]) -> dict[str, str]:
    """Decode `(a:x,b:y)` and check it has exactly the key parts PARTS, each a plain string."""
    value = decode(raw)
    if not isinstance(value, dict):
        raise RestliSyntaxError(f"expected a compound key like ({parts[0]}:...,...)")
    if set(value) != set(parts):
        raise RestliSyntaxError(
            f"compound key must have exactly the parts {', '.join(parts)}; got "
            f"{', '.join(sorted(value)) or 'none'}"
        )
    result: dict[str, str] = {}
    for name in parts:
        part = value[name]
        if not isinstance(part, str):
            raise RestliSyntaxError(f"key part {name!r} must be a single value")
        result[name] = part
    return result
