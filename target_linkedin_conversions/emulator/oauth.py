"""`POST /oauth/v2/accessToken`: the refresh-token grant of LinkedIn's OAuth 2.0 server.

Lives on www.linkedin.com in reality; the emulator serves it on its one host. It is not a
`/rest/` call, so it takes no bearer token or version headers, and its errors use the OAuth
envelope (`error`, `error_description`), not LinkedIn's REST one.
"""

from __future__ import annotations

import hmac
import secrets
import typing as t
from urllib.parse import parse_qsl

from target_linkedin_conversions.emulator.routing import Request, Response, route

if t.TYPE_CHECKING:
    from target_linkedin_conversions.emulator.world import World

ACCESS_TOKEN_LIFETIME_S = 5_184_000  # 60 days
SCOPE = "r_ads,rw_conversions"


def oauth_error(status: int, code: str, description: str) -> Response:
    """The OAuth error envelope."""
    return Response(status, {"error": code, "error_description": description})


def _form(request: Request) -> dict[str, str] | None:
    """The form fields, or None when the body is not form-encoded."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison, as a credential check should be even in a fake."""
    return hmac.compare_digest(given.encode(), expected.encode())


@route("POST", r"/oauth/v2/accessToken")
def access_token(world: World, request: Request) -> Response:
    """Exchange a refresh token for a new access token, which becomes valid immediately."""
    form = _form(request)
    if form is None:
        return oauth_error(400, "invalid_request",
                           "The request must be application/x-www-form-urlencoded")
    if form.get("grant_type") != "refresh_token":
        return oauth_error(400, "unsupported_grant_type",
                           "Only the refresh_token grant is supported by the emulator")

    with world.lock:
        if not (_same(form.get("client_id", ""), world.client_id)
                and _same(form.get("client_secret", ""), world.client_secret)):
            return oauth_error(401, "invalid_client", "Client authentication failed")
        if form.get("refresh_token", "") not in world.refresh_tokens:
            return oauth_error(
                400, "invalid_grant",
                "The provided authorization grant or refresh token is invalid, expired or revoked",
            )
        token = secrets.token_urlsafe(32)
        world.valid_tokens.add(token)

    return Response(200, {
        "access_token": token,
        "expires_in": ACCESS_TOKEN_LIFETIME_S,
        "scope": SCOPE,
        "token_type": "Bearer",
    })
