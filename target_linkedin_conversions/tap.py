"""`tap-linkedin-conversions`: lists what the target can use, with the target's own settings.

Users need ids before they can configure the target (which ad account, which rule, which
campaigns to associate), so this tap streams the ad structure and the conversion rules that the
same token can reach. Connection settings, authentication, headers and error classes are the
target's, imported, so both plugins accept the same config and fail the same way.
"""

from __future__ import annotations

import functools
import re
import typing as t

from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.exceptions import FatalAPIError as SDKFatalAPIError
from singer_sdk.exceptions import RetriableAPIError as SDKRetriableAPIError

from target_linkedin_conversions.auth import build_auth
from target_linkedin_conversions.client import RequestPacer
from target_linkedin_conversions.errors import ConfigError, FatalAPIError, RetriableAPIError
from target_linkedin_conversions.settings import (
    ACCOUNT_URN_PREFIX,
    CONNECTION_PROPERTIES,
    Connection,
    SettingsHooks,
)
from target_linkedin_conversions.streams import STREAM_TYPES, AdAccountUsersStream, urn_id

if t.TYPE_CHECKING:
    from target_linkedin_conversions.auth import RefreshTokenAuth, StaticTokenAuth
    from target_linkedin_conversions.streams import LinkedInStream

ACCOUNT_STATUSES = ["ACTIVE", "CANCELED", "DRAFT", "PENDING_DELETION", "REMOVED"]
CAMPAIGN_GROUP_STATUSES = ["ACTIVE", "ARCHIVED", "CANCELED", "DRAFT", "PAUSED",
                           "PENDING_DELETION", "REMOVED"]
CAMPAIGN_STATUSES = ["ACTIVE", "PAUSED", "ARCHIVED", "COMPLETED", "CANCELED", "DRAFT",
                     "PENDING_DELETION", "REMOVED"]
CREATIVE_STATUSES = ["ACTIVE", "PAUSED", "DRAFT", "ARCHIVED", "CANCELED", "PENDING_DELETION",
                     "REMOVED"]

# Failures whose message already says what happened and what to do: no traceback needed.
# The streams turn the token endpoint's failures and dropped connections into the SDK's
# retriable error; the target's own is listed too, should one ever escape unmapped.
_CLEAN_FAILURES = (FatalAPIError, SDKFatalAPIError, SDKRetriableAPIError, RetriableAPIError)
_ACCOUNT_ID = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also takes "5²", and int()
# takes full-width or Arabic-Indic digits


def _status_filter(name: str, allowed: list[str], what: str) -> th.Property[t.Any]:
    return th.Property(
        name,
        th.ArrayType(th.StringType(allowed_values=allowed)),
        description=f"Only {what} with these statuses ({', '.join(allowed)}). Unset: all, as "
        "LinkedIn's search returns them.",
    )


CONFIG_SCHEMA = th.PropertiesList(
    *CONNECTION_PROPERTIES,
    th.Property(
        "ad_account_ids",
        th.ArrayType(th.CustomType({"type": ["integer", "string"]})),
        description="Ad accounts to list (numbers or urn:li:sponsoredAccount:N). Unset: every "
        "account the token's member holds a role on (adAccountUsers).",
    ),
    _status_filter("account_statuses", ACCOUNT_STATUSES, "ad accounts"),
    _status_filter("campaign_group_statuses", CAMPAIGN_GROUP_STATUSES, "campaign groups"),
    _status_filter("campaign_statuses", CAMPAIGN_STATUSES,
                   "campaigns (and their campaign_conversions)"),
    _status_filter("creative_statuses", CREATIVE_STATUSES, "creatives (by intendedStatus)"),
).to_dict()


class TapLinkedInConversions(SettingsHooks, Tap):
    """Ad accounts, campaign groups, campaigns, creatives, conversion rules and associations."""

    name = "tap-linkedin-conversions"
    package_name = "target-linkedin-conversions"
    config_jsonschema = CONFIG_SCHEMA

    def discover_streams(self) -> list[LinkedInStream]:
        """The fixed stream list; no HTTP here (the SDK's test kit calls it at collection)."""
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]

    @functools.cached_property
    def connection(self) -> Connection:
        """The shared connection settings, checked together with `ad_account_ids`."""
        problems: list[str] = []
        connection = Connection.from_config(self.config, problems)
        self._configured_account_ids(problems)
        if problems:
            raise ConfigError(*problems)
        return connection

    @functools.cached_property
    def linkedin_auth(self) -> StaticTokenAuth | RefreshTokenAuth:
        """The target's authenticator: a fixed token, or one renewed from the refresh token."""
        return build_auth(self.connection)

    @functools.cached_property
    def pacer(self) -> RequestPacer:
        """Client-side pacing under LinkedIn's per-token quota, shared by all streams."""
        return RequestPacer(self.connection.requests_per_minute)

    @functools.cache  # noqa: B019 - one tap instance per run; the ids must be fetched once
    def ad_account_ids(self) -> list[int]:
        """`ad_account_ids` from config, else the accounts of the member's roles."""
        configured = self._configured_account_ids([])
        if configured:
            return configured
        users = AdAccountUsersStream(tap=self)
        ids = [urn_id(row["account"]) for row in users.request_records(None)]
        self.logger.info("The token's member holds a role on %d ad account(s)", len(ids))
        return list(dict.fromkeys(ids))

    def _configured_account_ids(self, problems: list[str]) -> list[int]:
        ids: list[int] = []
        for value in self.config.get("ad_account_ids") or []:
            bare = str(value).strip().removeprefix(ACCOUNT_URN_PREFIX)
            if not isinstance(value, bool) and _ACCOUNT_ID.fullmatch(bare):
                ids.append(int(bare))
            else:
                problems.append(f"ad_account_ids entries must be numbers or "
                                f"{ACCOUNT_URN_PREFIX}N; got {value!r}")
        return list(dict.fromkeys(ids))

    def sync_all(self) -> None:
        """Check the settings first, then sync; a LinkedIn failure ends with its message only."""
        _ = self.connection
        try:
            super().sync_all()
        except _CLEAN_FAILURES as exc:
            self.logger.error("Stopping: %s", exc)
            raise SystemExit(1) from None


if __name__ == "__main__":
    TapLinkedInConversions.cli()
