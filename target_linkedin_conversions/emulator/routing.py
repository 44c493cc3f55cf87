"""Request/response types and the route table shared by the emulator's endpoint modules.

The emulator is an independent oracle of LinkedIn's contract: nothing under this package may
import from the rest of `target_linkedin_conversions`.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing as t
from urllib.parse import parse_qsl

if t.TYPE_CHECKING:
    from target_linkedin_conversions.emulator.world import World


@dataclasses.dataclass
class Request:
    """One HTTP request as the endpoint handlers see it."""

    method: str
    path: str
    raw_query: str
    headers: dict[str, str]  # keys lower-cased
    body: bytes
    path_params: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def query(self) -> dict[str, str]:
        """Query parameters, percent-decoded once (Rest.li structure characters stay as sent)."""
        return dict(parse_qsl(self.raw_query, keep_blank_values=True))

    def json(self) -> t.Any:
        """The body parsed as JSON; raises ValueError for a body that is not JSON."""
        return json.loads(self.body.decode("utf-8"))


@dataclasses.dataclass
class Response:
    """What a handler answers: status, a JSON-able body (None for empty) and extra headers."""

    status: int
    body: t.Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


def error(status: int, message: str, *, code: str | None = None,
          service_error_code: int | None = None) -> Response:
    """LinkedIn's generic error envelope."""
    body: dict[str, t.Any] = {"status": status, "message": message}
    if code is not None:
        body["code"] = code
    if service_error_code is not None:
        body["serviceErrorCode"] = service_error_code
    return Response(status, body)


Handler = t.Callable[["World", Request], Response]


@dataclasses.dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


ROUTES: list[Route] = []


def route(method: str, path_regex: str) -> t.Callable[[Handler], Handler]:
    """Register a handler for METHOD and a full-match path regex with named groups."""

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method.upper(), re.compile(path_regex), handler))
        return handler

    return register


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The first route matching METHOD and PATH, with its named path groups."""
    for candidate in ROUTES:
        if candidate.method != method.upper():
            continue
        match = candidate.pattern.fullmatch(path)
        if match:
            return candidate, match.groupdict()
    return None
