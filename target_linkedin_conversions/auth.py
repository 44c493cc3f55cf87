"""Access tokens for LinkedIn: a fixed token, or one obtained and renewed from a refresh token.

Both are `requests` auth callables from singer-sdk, so the target's client and the companion
tap's streams authenticate through the same code.
"""

from __future__ import annotations

import json
import logging
import re
import typing as t

import requests
from singer_sdk.authenticators import BearerTokenAuthenticator, OAuthAuthenticator
from urllib3.exceptions import LocationParseError

from target_linkedin_conversions.errors import (
    AuthenticationError,
    FatalAPIError,
    RetriableAPIError,
)

if t.TYPE_CHECKING:
    from target_linkedin_conversions.settings import Connection

LOGGER = logging.getLogger(__name__)


class _KeepsURL:
    """Authenticates by header only and leaves the URL exactly as the client built it.

    singer-sdk's authenticators re-encode the query string even with no auth parameters,
    which turns Rest.li structure into `%28`/`%3A` and merges it with the percent-encoded
    URN colons: `ids=List((campaign:urn%3A...))` would reach LinkedIn unreadable.
    """

    def authenticate_request(self, request: requests.PreparedRequest
                             ) -> requests.PreparedRequest:
        """The SDK's authentication (token refresh, header), then the original URL back."""
        url = request.url
        authenticated = super().authenticate_request(request)  # type: ignore[misc]
        authenticated.url = url
        return t.cast("requests.PreparedRequest", authenticated)


class StaticTokenAuth(_KeepsURL, BearerTokenAuthenticator):
    """A Direct API token or an OAuth access token given in config; it cannot be renewed."""

    can_refresh = False

    def force_refresh(self) -> None:
        """A fixed token has nothing to refresh to."""


class RefreshTokenAuth(_KeepsURL, OAuthAuthenticator):
    """Trades `refresh_token` for access tokens at LinkedIn's OAuth endpoint, on demand."""

    can_refresh = True

    def __init__(self, *, refresh_token: str, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self._refresh_token = refresh_token
        self._error_code: str | None = None  # of the last refusal, when it looked like one

    @property
    def oauth_request_body(self) -> dict[str, t.Any]:
        """LinkedIn's refresh grant (form-encoded by the SDK)."""
        return {
            "grant_type": "refresh_token",
            "refresh_token": self._refresh_token,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }

    def force_refresh(self) -> None:
        """Drop the current token so the next request fetches a new one (after a 401)."""
        self.last_refreshed = None

    def update_access_token(self) -> None:
        """Refresh, turning the SDK's generic failure into a message that says what to do."""
        self._error_code = None
        try:
            super().update_access_token()
        except (requests.exceptions.InvalidURL, LocationParseError) as exc:
            msg = (f"the token request could not be sent: oauth_token_url is not a usable URL "
                   f"({type(exc).__name__})")
            raise FatalAPIError(msg) from None
        except _UNREACHABLE as exc:
            endpoint = self.auth_endpoint.split("?")[0]
            msg = (f"LinkedIn's OAuth endpoint could not be reached ({type(exc).__name__}) at "
                   f"{endpoint}; check oauth_token_url")
            raise RetriableAPIError(msg) from None
        except RuntimeError as exc:
            status = _status_of(exc)
            if status.startswith("5"):
                msg = f"LinkedIn's OAuth endpoint failed ({status}) while renewing the token"
                raise RetriableAPIError(msg, status=int(status)) from None
            raise AuthenticationError(_refusal(status, self._error_code), status=401) from None
        except (KeyError, TypeError, ValueError):  # not an object, or no token in it
            raise AuthenticationError(_EMPTY_ANSWER, status=401) from None
        token = self.access_token.strip() if isinstance(self.access_token, str) else None
        if not token:
            raise AuthenticationError(_EMPTY_ANSWER, status=401)
        if any(char.isspace() or not char.isprintable() for char in token):
            msg = ("LinkedIn's OAuth endpoint answered with an access token that holds spaces or "
                   "control characters, which no request can carry; check oauth_token_url")
            raise AuthenticationError(msg, status=401)
        self.access_token = token
        LOGGER.info("Obtained a new LinkedIn access token from the refresh token")

    def handle_error(self, *, content: str, status_code: int | None) -> None:
        """Log the OAuth error code only, and only when it looks like one: the SDK's default
        logs the raw response body, and a server may echo what it was sent in either field."""
        code = None
        try:
            body = json.loads(content)
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            code = body["error"] if _SAFE_OAUTH_CODE.fullmatch(body["error"]) else _UNSAFE_CODE
        self._error_code = code
        LOGGER.error("LinkedIn OAuth token request failed: status %s, error '%s'",
                     status_code, code or "unknown")


_SAFE_OAUTH_CODE = re.compile(r"[a-z_]{1,64}")  # RFC 6749's codes; anything else is not logged
_UNSAFE_CODE = "(unrecognised error code)"
_UNREACHABLE = (requests.Timeout, requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
_EMPTY_ANSWER = ("LinkedIn's OAuth endpoint answered without a usable access token (none, or an "
                 "expiry that is no number); check oauth_token_url")


def _refusal(status: str, code: str | None) -> str:
    """What to fix when the OAuth endpoint refuses the refresh grant, by its error code."""
    if code == "invalid_client":
        return ("LinkedIn refused the app's credentials (the OAuth endpoint answered "
                f"{status} invalid_client): client_id or client_secret is wrong. "
                "Copy both again from the app's Auth tab in the LinkedIn Developer Portal.")
    if code == "invalid_grant":
        return ("LinkedIn refused the refresh token (the OAuth endpoint answered "
                f"{status} invalid_grant). Refresh tokens live 365 days from the member's "
                "consent and cannot be extended: re-authorise the app and set a new "
                "refresh_token.")
    return (f"LinkedIn's OAuth endpoint refused the token request (it answered {status}, "
            f"error '{code or 'unknown'}'). Check client_id, client_secret and refresh_token, "
            "and that oauth_token_url is LinkedIn's token endpoint.")


def _status_of(exc: BaseException) -> str:
    text = str(exc)
    return text[text.find("status=") + 7:].rstrip(")") if "status=" in text else "an error"


def build_auth(settings: Connection) -> StaticTokenAuth | RefreshTokenAuth:
    """The authenticator the settings ask for; a refresh token wins over a fixed token."""
    if settings.refresh_token and settings.client_id and settings.client_secret:
        return RefreshTokenAuth(
            refresh_token=settings.refresh_token,
            auth_endpoint=settings.oauth_token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            default_expiration=5_184_000,
        )
    return StaticTokenAuth(token=settings.access_token or "")

