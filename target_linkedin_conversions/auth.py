"""Access tokens for LinkedIn: a fixed token, or one obtained and renewed from a refresh token.

Both are `requests` auth callables from singer-sdk, so the target's client and the companion
tap's streams authenticate through the same code.
"""

from __future__ import annotations

import json
import logging
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
        try:
            super().update_access_token()
        except (requests.exceptions.InvalidURL, LocationParseError) as exc:
            msg = (f"the token request could not be sent: oauth_token_url is not a usable URL "
                   f"({type(exc).__name__})")
            raise FatalAPIError(msg) from None
        except RuntimeError as exc:
            status = _status_of(exc)
            if status.startswith("5"):
                msg = f"LinkedIn's OAuth endpoint failed ({status}) while renewing the token"
                raise RetriableAPIError(msg, status=int(status)) from None
            msg = (
                "LinkedIn refused the refresh token (the OAuth endpoint answered "
                f"{status}). Refresh tokens live 365 days from the member's consent "
                "and cannot be extended: re-authorise the app and set a new refresh_token."
            )
            raise AuthenticationError(msg, status=401) from None
        except (KeyError, ValueError):
            msg = ("LinkedIn's OAuth endpoint answered without an access token; check "
                   "oauth_token_url")
            raise AuthenticationError(msg, status=401) from None
        LOGGER.info("Obtained a new LinkedIn access token from the refresh token")

    def handle_error(self, *, content: str, status_code: int | None) -> None:
        """Log the OAuth error code only: the SDK's default logs the raw response body."""
        code = "unknown"
        try:
            code = str(json.loads(content).get("error", "unknown"))[:64]
        except (ValueError, AttributeError):
            pass
        LOGGER.error("LinkedIn OAuth token request failed: status %s, error '%s'",
                     status_code, code)


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

