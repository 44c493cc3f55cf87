"""The companion tap's streams: LinkedIn's ad structure and conversion rules.

Every request goes through singer-sdk's `RESTStream` machinery (request building, paging,
backoff) with the target's settings, headers and authenticator, so the tap has no HTTP or auth
code of its own. What LinkedIn adds on top of plain REST lives here:
- Rest.li 2.0 query values: structure characters `( ) , :` travel literally while every value
  inside is percent-encoded first (`urn%3Ali%3AsponsoredAccount%3A1`), hence
  `safe_query_chars` includes `%` and every value is quoted before it enters the params;
- two paging styles: cursor (`pageSize`/`pageToken`, `metadata.nextPageToken`) for the search
  finders, `start`/`count` with `paging.total` for the older finders; a 200 whose body is not
  such a page, or a page token seen before in the same listing, stops the run (never a silent
  truncation or a record sent twice);
- the target's token handling: a 401 with refresh credentials renews the token once and tries
  the request again, and the token endpoint's failures are retried like LinkedIn's own;
- error answers that must not leak the response body or the token into the logs.
"""

from __future__ import annotations

import datetime
import logging
import time
import typing as t
from urllib.parse import quote, urlparse

import backoff
import requests
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.pagination import JSONPathPaginator, OffsetPaginator
from singer_sdk.streams import RESTStream
from urllib3.exceptions import LocationParseError

from target_linkedin_conversions import errors, schemas
from target_linkedin_conversions.client import (
    UNSENDABLE,
    error_fields,
    raise_for_linkedin_error,
    unsendable,
    versioned_headers,
)
from target_linkedin_conversions.settings import ACCOUNT_URN_PREFIX

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.pagination import BaseAPIPaginator
    from singer_sdk.streams.rest import HTTPRequest, PageContext

    from target_linkedin_conversions.auth import RefreshTokenAuth, StaticTokenAuth
    from target_linkedin_conversions.tap import TapLinkedInConversions

LOGGER = logging.getLogger(__name__)

RESTLI_SAFE_CHARS = "():,%"
PAGE_SIZE = 100  # LinkedIn's default page size for both paging styles
URNS_PER_REQUEST = 50  # keeps a List(...) of encoded URNs near 2,000 characters, far below the
# ~4,000 where LinkedIn wants query tunnelling
CAMPAIGN_URN_PREFIX = "urn:li:sponsoredCampaign:"
_MAX_FALLBACK_WAIT = 60.0
_CONNECTION_FAILURES = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError)
_sleep = time.sleep  # the wait before trying a renewed token again (tests record it instead)


# --- Rest.li and LinkedIn value helpers ----------------------------------------------------

def restli_value(value: object) -> str:
    """One Rest.li 2.0 leaf value, percent-encoded so that `:` inside an URN is not structure."""
    return quote(str(value), safe="")


def restli_list(values: t.Iterable[object]) -> str:
    """`List(a,b)` of encoded leaf values."""
    return "List(" + ",".join(restli_value(value) for value in values) + ")"


def restli_search(criteria: t.Mapping[str, t.Sequence[object] | None]) -> str | None:
    """`(key:(values:List(...)),...)` for the criteria that have values; None when none do."""
    parts = [f"{key}:(values:{restli_list(values)})" for key, values in criteria.items() if values]
    return "(" + ",".join(parts) + ")" if parts else None


def urn_id(urn: object) -> int:
    """The numeric id at the end of an URN (or of a bare id)."""
    return int(str(urn).rsplit(":", 1)[-1])


def epoch_ms_to_datetime(value: object) -> object:
    """LinkedIn's epoch milliseconds as an ISO 8601 UTC string; other values pass through."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    moment = datetime.datetime.fromtimestamp(value / 1000, tz=datetime.timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def convert_timestamps(record: dict[str, t.Any], paths: t.Iterable[tuple[str, ...]]) -> None:
    """Convert the epoch-millisecond values at PATHS (nested keys) in place, where present."""
    for path in paths:
        parent: t.Any = record
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and path[-1] in parent:
            parent[path[-1]] = epoch_ms_to_datetime(parent[path[-1]])


_AUDIT_PATHS = (("changeAuditStamps", "created", "time"),
                ("changeAuditStamps", "lastModified", "time"))
_SCHEDULE_PATHS = (("runSchedule", "start"), ("runSchedule", "end"))


def _retry_after(exc: BaseException) -> float | None:
    """Seconds from the Retry-After header of the failed response, if LinkedIn sent one."""
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _within_budget(
    waits: t.Generator[float, BaseException | None, None], budget: float
) -> t.Generator[float | None, BaseException | None, None]:
    """Pass WAITS on until their sum would pass BUDGET seconds, then end.

    python-backoff gives up and re-raises the last error when its wait generator ends, which is
    how `max_retry_seconds` is honoured without replacing the SDK's retry decorator.
    """
    waits.send(None)
    exc = yield None
    spent = 0.0
    while True:
        wait = waits.send(exc)
        if spent + wait > budget:
            LOGGER.warning("Giving up: waiting %.1f s more would pass max_retry_seconds (%d)",
                           wait, budget)
            return
        spent += wait
        exc = yield wait


# --- paginators -----------------------------------------------------------------------------

class CursorPaginator(JSONPathPaginator):
    """`metadata.nextPageToken` paging; an empty page that still names a next page goes on.

    Every token of the listing is remembered: LinkedIn naming one again (the same token twice,
    or a cycle a → b → a) would repeat pages forever or send their records twice, so it stops
    the run instead.
    """

    def __init__(self, stream_name: str = "?") -> None:
        super().__init__("$.metadata.nextPageToken")
        self.stream_name = stream_name
        self._seen_tokens: set[str] = set()

    def continue_if_empty(self, response: requests.Response) -> bool:
        """LinkedIn may filter a page down to nothing; only a missing token ends the listing."""
        return bool(self.get_next(response))

    def advance(self, response: requests.Response) -> None:
        """Move to the next token, refusing one this listing has already followed."""
        token = self.get_next(response)
        if token:
            if token in self._seen_tokens:
                raise errors.FatalAPIError(
                    f"LinkedIn answered stream '{self.stream_name}' with a repeated page token "
                    f"after {len(self._seen_tokens)} page(s): following it would list the same "
                    "pages again. Run again later; if it persists, LinkedIn's paging is broken "
                    "for this listing.")
            self._seen_tokens.add(token)
        super().advance(response)


class StartCountPaginator(OffsetPaginator):
    """`start`/`count` paging that stops at `paging.total`, or at the first empty page when
    LinkedIn reports the total as -1 or not at all."""

    def _remaining(self, response: requests.Response) -> bool | None:
        paging = response.json().get("paging") or {}
        total = paging.get("total")
        if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
            return self.current_value + self.page_size < total
        return None

    def has_more(self, response: requests.Response) -> bool:
        """More pages when the total says so; without a total, until a page comes back empty."""
        remaining = self._remaining(response)
        if remaining is not None:
            return remaining
        return bool(response.json().get("elements"))

    def continue_if_empty(self, response: requests.Response) -> bool:
        """A short or empty page before the reported total is not the end."""
        return bool(self._remaining(response))


# --- base stream ----------------------------------------------------------------------------

class LinkedInStream(RESTStream[t.Any]):
    """Shared plumbing: base URL, headers, auth, timeouts, paging, retries and error messages."""

    records_jsonpath = "$.elements[*]"
    extra_retry_statuses: t.Sequence[int] = (408, 429)
    cursor_paging = True
    restli_method: str | None = None
    timestamp_paths: tuple[tuple[str, ...], ...] = ()
    # Element fields the stream cannot do without: present and not null; the numeric ones also
    # end in a number (`urn_id`). A page missing them is not a page of this stream.
    required_fields: tuple[str, ...] = ("id",)
    numeric_fields: tuple[str, ...] = ("id",)

    @property
    def linkedin(self) -> TapLinkedInConversions:
        """The tap, typed: it owns the connection settings, authenticator and pacer."""
        return t.cast("TapLinkedInConversions", self._tap)

    @property
    def url_base(self) -> str:
        """`{api_base_url}/rest`, so the emulator or a proxy can stand in for LinkedIn."""
        return self.linkedin.connection.api_base_url + "/rest"

    @property
    def http_headers(self) -> dict[str, str]:
        """LinkedIn-Version and the Rest.li protocol header; the authenticator adds the token."""
        headers = versioned_headers(self.linkedin.connection.linkedin_version)
        if self.restli_method:
            headers["X-RestLi-Method"] = self.restli_method
        return headers

    @property
    def authenticator(self) -> StaticTokenAuth | RefreshTokenAuth:
        """The tap's one authenticator, so a refreshed token is shared by all streams; it
        leaves the Rest.li query exactly as built."""
        return self.linkedin.linkedin_auth

    @property
    def timeout(self) -> t.Any:
        """(connect, read) seconds from the shared connection settings."""
        connection = self.linkedin.connection
        return (connection.connect_timeout, connection.read_timeout)

    def finder_params(self, context: Context | None) -> dict[str, t.Any]:
        """The finder (`q`) and its criteria, every value already percent-encoded."""
        raise NotImplementedError

    def get_url_params(self, context: Context | None, next_page_token: t.Any) -> dict[str, t.Any]:
        """Finder criteria plus the page parameters of this stream's paging style."""
        params = {key: value for key, value in self.finder_params(context).items()
                  if value is not None}
        if self.cursor_paging:
            params["pageSize"] = PAGE_SIZE
            if next_page_token:
                params["pageToken"] = restli_value(next_page_token)
        else:
            params["start"] = next_page_token or 0
            params["count"] = PAGE_SIZE
        return params

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        """The SDK's request, with Rest.li structure characters kept literal; paced first."""
        self.linkedin.pacer.wait_turn()
        request = super().get_http_request(page=page)
        request.safe_query_chars = RESTLI_SAFE_CHARS
        return request

    def get_new_paginator(self) -> BaseAPIPaginator[t.Any]:
        """Cursor paging for the search finders, start/count for the others."""
        if self.cursor_paging:
            return CursorPaginator(self.name)
        return StartCountPaginator(start_value=0, page_size=PAGE_SIZE)

    def parse_response(self, response: requests.Response) -> t.Iterable[dict[str, t.Any]]:
        """The page's `elements`, after checking the body is a page of this stream at all.

        A 200 that is not a page must not end the listing quietly (that is a silent
        truncation) nor fail later on a missing key, so it stops the run with what was wrong.
        """
        yield from self._page_elements(response)

    def _page_elements(self, response: requests.Response) -> list[dict[str, t.Any]]:
        try:
            body = response.json()
        except ValueError:
            self._not_a_page("the body is not JSON")
        if not isinstance(body, dict):
            self._not_a_page(f"the body is {_json_type(body)}, not an object")
        elements = body.get("elements")
        if not isinstance(elements, list):
            self._not_a_page("'elements' is missing" if "elements" not in body
                             else f"'elements' is {_json_type(elements)}, not a list")
        for name in ("paging", "metadata"):
            if body.get(name) is not None and not isinstance(body[name], dict):
                self._not_a_page(f"'{name}' is {_json_type(body[name])}, not an object")
        token = (body.get("metadata") or {}).get("nextPageToken")
        if token is not None and not isinstance(token, str):
            self._not_a_page(f"'metadata.nextPageToken' is {_json_type(token)}, not a string")
        for index, element in enumerate(elements):
            if not isinstance(element, dict):
                self._not_a_page(f"element {index} is {_json_type(element)}, not an object")
            missing = [name for name in self.required_fields if element.get(name) is None]
            if missing:
                self._not_a_page(f"element {index} has no {', '.join(missing)}")
            for name in self.numeric_fields:
                try:
                    urn_id(element[name])
                except ValueError:
                    self._not_a_page(f"element {index} has a {name} that does not end in a "
                                     "number")
        return elements

    def _not_a_page(self, detail: str) -> t.NoReturn:
        raise errors.FatalAPIError(
            f"LinkedIn answered stream '{self.name}' with a body that is not a page ({detail}); "
            "nothing after it can be listed. Check api_base_url and linkedin_version.")

    def post_process(self, row: dict[str, t.Any], context: Context | None = None
                     ) -> dict[str, t.Any] | None:
        """Timestamps to date-time; children carry their account's numeric id."""
        convert_timestamps(row, self.timestamp_paths)
        if context and "account_id" in context:
            row["account_id"] = context["account_id"]
        return row

    # errors and retries

    def build_prepared_request(self, *args: t.Any, **kwargs: t.Any) -> requests.PreparedRequest:
        """The request without its token: the SDK adds it on every attempt inside its retry
        decorator (`request_decorator`), so a failing token endpoint is retried, not fatal."""
        request = requests.Request(*args, **kwargs)
        request.headers.setdefault("User-Agent", self.user_agent)
        try:
            return self.requests_session.prepare_request(request)
        except (requests.exceptions.InvalidURL, LocationParseError) as exc:
            msg = (f"stream '{self.name}' could not send its request: api_base_url is not a "
                   f"usable URL ({type(exc).__name__})")
            raise errors.FatalAPIError(msg) from None

    def request_decorator(self, func: t.Callable[..., requests.Response]
                          ) -> t.Callable[..., requests.Response]:
        """The SDK's retries around one attempt that does what the target's client does
        (`LinkedInClient._send_with_auth`): obtain a token if none is valid; on a 401 with
        refresh credentials renew it once and send again, and once more after LinkedIn's
        revocation lag; a 401 after that stops the run. Connection failures, to LinkedIn or
        to its token endpoint, become retriable with a message that names what failed."""
        auth = self.authenticator

        def attempt(prepared_request: requests.PreparedRequest, context: Context | None
                    ) -> requests.Response:
            self._ensure_token()
            try:
                return func(prepared_request, context)
            except _TokenRejectedError as exc:
                self.logger.warning("LinkedIn answered 401 (%s) for stream '%s'; renewing the "
                                    "access token", exc.code, self.name)
            auth.force_refresh()
            self._ensure_token()
            try:
                return func(prepared_request, context)
            except _TokenRejectedError:
                pass
            wait = self.linkedin.connection.revoked_token_wait_seconds
            self.logger.warning("LinkedIn answered 401 for the renewed token too; trying once "
                                "more in %.0f s", wait)
            _sleep(wait)
            return func(prepared_request, context)  # a 401 now stops the run

        return super().request_decorator(
            lambda prepared_request, context: self._send(attempt, prepared_request, context))

    def _send(self, func: t.Callable[..., requests.Response],
              prepared_request: requests.PreparedRequest, context: Context | None
              ) -> requests.Response:
        """FUNC, with a dropped or timed-out connection as the SDK's retriable error and a
        request that cannot be sent as a fatal one."""
        try:
            return func(prepared_request, context)
        except requests.Timeout as exc:
            msg = (f"LinkedIn did not answer {prepared_request.method} "
                   f"{urlparse(prepared_request.url).path} in time ({type(exc).__name__})")
            raise RetriableAPIError(msg) from None
        except _CONNECTION_FAILURES as exc:
            msg = (f"connection to {self.linkedin.connection.api_base_url} failed during "
                   f"{prepared_request.method} {urlparse(prepared_request.url).path} "
                   f"({type(exc).__name__})")
            raise RetriableAPIError(msg) from None
        except UNSENDABLE as exc:
            path = urlparse(prepared_request.url).path
            raise unsendable(str(prepared_request.method), path, exc) from None

    def _ensure_token(self) -> None:
        """A valid access token before sending: the refresh grant when there is none, its
        5xx and connection failures raised as the SDK's retriable error."""
        auth = self.authenticator
        if not auth.can_refresh or auth.is_token_valid():  # type: ignore[union-attr]
            return
        try:
            auth.update_access_token()
        except errors.RetriableAPIError as exc:  # 5xx, or the endpoint unreachable
            raise RetriableAPIError(str(exc)) from None

    def validate_response(self, response: requests.Response) -> None:
        """LinkedIn's statuses mean what the target's client says they mean; retriable ones
        become the SDK's `RetriableAPIError` so its backoff hooks retry them, and a 401 that a
        renewed token may cure is left to `request_decorator`."""
        try:
            raise_for_linkedin_error(response, version=self.linkedin.connection.linkedin_version,
                                     where=f"stream '{self.name}'")
        except errors.RetriableAPIError:
            raise RetriableAPIError(self.response_error_message(response), response) from None
        except errors.AuthenticationError as exc:
            if response.status_code == 401 and self.authenticator.can_refresh:
                raise _TokenRejectedError(str(exc), code=error_fields(response)[0]) from None
            raise

    def response_error_message(self, response: requests.Response) -> str:
        """Status, path and LinkedIn's error code: no query, body, headers or token."""
        code, message = error_fields(response)
        path = urlparse(response.url).path
        detail = f"{code}: {message}" if message else code
        return f"LinkedIn answered {response.status_code} for {path} ({detail})"

    def backoff_max_tries(self) -> int:
        """`max_attempts` from the shared settings."""
        return self.linkedin.connection.max_attempts

    def backoff_jitter(self, value: float) -> float:
        """No extra jitter: Retry-After is exact and the fallback wait already carries it."""
        return value

    def backoff_wait_generator(self) -> t.Generator[float, None, None]:
        """Retry-After when LinkedIn sends it, else jittered exponential waits (1 s to 60 s),
        ending when the total would pass `max_retry_seconds`."""
        fallback = backoff.expo(factor=1, max_value=_MAX_FALLBACK_WAIT)
        next(fallback)

        def wait_for(exc: BaseException) -> float:
            retry_after = _retry_after(exc)
            if retry_after is not None:
                return retry_after
            return backoff.random_jitter(next(fallback))

        waits = self.backoff_runtime(value=wait_for)
        budget = self.linkedin.connection.max_retry_seconds
        return t.cast("t.Generator[float, None, None]", _within_budget(waits, budget))

    def backoff_handler(self, details: t.Any) -> None:
        """One WARNING per retry with the status or what failed, never the request itself."""
        exc = details.get("exception")
        response = getattr(exc, "response", None)
        reason = str(response.status_code) if response is not None else str(exc)
        self.logger.warning(
            "LinkedIn call for stream '%s' failed (%s), attempt %d of %d; retrying in %.1f s",
            self.name, reason, details.get("tries"), self.backoff_max_tries(),
            details.get("wait") or 0.0,
        )


class _TokenRejectedError(errors.AuthenticationError):
    """A 401 while refresh credentials are set: renewing the token may cure it."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, status=401)
        self.code = code


def _json_type(value: object) -> str:
    """How VALUE looks in JSON terms, for messages (never the value itself)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    names = {dict: "an object", list: "a list", str: "a string", int: "a number",
             float: "a number"}
    return names.get(type(value), type(value).__name__)


# --- streams --------------------------------------------------------------------------------

class AdAccountUsersStream(LinkedInStream):
    """The authenticated member's role on each ad account (`adAccountUsers`, start/count)."""

    name = "ad_account_users"
    path = "/adAccountUsers"
    primary_keys = ("account_id", "user")
    required_fields = ("account", "user")
    numeric_fields = ("account",)
    schema = schemas.AD_ACCOUNT_USERS
    cursor_paging = False
    timestamp_paths = _AUDIT_PATHS

    def finder_params(self, context: Context | None) -> dict[str, t.Any]:
        """LinkedIn's `authenticatedUser` finder."""
        return {"q": "authenticatedUser"}

    def post_process(self, row: dict[str, t.Any], context: Context | None = None
                     ) -> dict[str, t.Any] | None:
        """Add the account's numeric id next to its URN."""
        row = super().post_process(row, context) or row
        row["account_id"] = urn_id(row["account"])
        return row


class AdAccountsStream(LinkedInStream):
    """The ad accounts in `ad_account_ids`, or all the member has a role on (search finder).

    The ids travel in the search's `id` criterion, in chunks, so the query stays short.
    """

    name = "ad_accounts"
    path = "/adAccounts"
    primary_keys = ("id",)
    schema = schemas.AD_ACCOUNTS
    timestamp_paths = _AUDIT_PATHS

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        """Search each chunk of the resolved account ids."""
        ids = self.linkedin.ad_account_ids()
        if not ids:
            self.logger.warning("No ad accounts: the member holds no role on any ad account and "
                                "ad_account_ids is empty")
        found: set[int] = set()
        for start in range(0, len(ids), URNS_PER_REQUEST):
            for row in self.request_records({"account_ids": ids[start:start + URNS_PER_REQUEST]}):
                found.add(int(row["id"]))
                yield row
        missing = [account_id for account_id in ids if account_id not in found]
        if missing:
            self.logger.warning(
                "LinkedIn's search did not return ad account(s) %s: the member holds no role on "
                "them, they do not exist, or account_statuses excludes them",
                ", ".join(str(account_id) for account_id in missing))

    def finder_params(self, context: Context | None) -> dict[str, t.Any]:
        """`search=(id:(values:List(urn,...)),status:(values:List(...)))`."""
        ids = (context or {}).get("account_ids") or []
        search = restli_search({
            "id": [ACCOUNT_URN_PREFIX + str(account_id) for account_id in ids],
            "status": self.config.get("account_statuses"),
        })
        return {"q": "search", "search": search}

    def get_child_context(self, record: dict[str, t.Any], context: Context | None
                          ) -> dict[str, t.Any]:
        """Children are listed per account."""
        return {"account_id": record["id"]}


class _AccountChildStream(LinkedInStream):
    """A finder scoped to one ad account; `account_id` comes from the parent record."""

    parent_stream_type = AdAccountsStream
    primary_keys = ("id",)


class CampaignGroupsStream(_AccountChildStream):
    """Campaign groups of each account, filtered by `campaign_group_statuses`."""

    name = "campaign_groups"
    path = "/adAccounts/{account_id}/adCampaignGroups"
    schema = schemas.CAMPAIGN_GROUPS
    timestamp_paths = _AUDIT_PATHS + _SCHEDULE_PATHS

    def finder_params(self, context: Context | None) -> dict[str, t.Any]:
        """The search finder with an optional status criterion."""
        return {"q": "search",
                "search": restli_search({"status": self.config.get("campaign_group_statuses")})}


class CampaignsStream(_AccountChildStream):
    """Campaigns of each account, filtered by `campaign_statuses`."""

    name = "campaigns"
    path = "/adAccounts/{account_id}/adCampaigns"
    schema = schemas.CAMPAIGNS
    timestamp_paths = _AUDIT_PATHS + _SCHEDULE_PATHS

    def finder_params(self, context: Context | None) -> dict[str, t.Any]:
        """The search finder with an optional status criterion."""
        return {"q": "search",
                "search": restli_search({"status": self.config.get("campaign_statuses")})}


class CreativesStream(_AccountChildStream):
    """Creatives of each account (`criteria` finder), filtered by `creative_statuses`."""

    name = "creatives"
    path = "/adAccounts/{account_id}/creatives"
    schema = schemas.CREATIVES
    restli_method = "FINDER"
    timestamp_paths = (("createdAt",), ("lastModifiedAt",))

    def finder_params(self, context: Context | None) -> dict[str, t.Any]:
        """`q=criteria`, and `intendedStatuses=List(...)` when filtered."""
        statuses = self.config.get("creative_statuses")
        return {"q": "criteria", "intendedStatuses": restli_list(statuses) if statuses else None}

    def post_process(self, row: dict[str, t.Any], context: Context | None = None
                     ) -> dict[str, t.Any] | None:
        """LinkedIn's creative id is an URN: keep it as `urn`, and `id` numeric like elsewhere."""
        row = super().post_process(row, context) or row
        row["urn"] = str(row["id"])
        row["id"] = urn_id(row["id"])
        return row


class ConversionRulesStream(_AccountChildStream):
    """Conversion rules of each account (`q=account` finder, start/count)."""

    name = "conversion_rules"
    path = "/conversions"
    schema = schemas.CONVERSION_RULES
    cursor_paging = False
    timestamp_paths = (("created",), ("lastModified",), ("lastCallbackAt",),
                       ("latestFirstPartyCallbackAt",))

    def finder_params(self, context: Context | None) -> dict[str, t.Any]:
        """`q=account&account=urn%3Ali%3AsponsoredAccount%3AN`."""
        account = ACCOUNT_URN_PREFIX + str((context or {})["account_id"])
        return {"q": "account", "account": restli_value(account)}

    def post_process(self, row: dict[str, t.Any], context: Context | None = None
                     ) -> dict[str, t.Any] | None:
        """Also convert `associatedCampaigns[].associatedAt`; a bare URN item becomes
        `{"campaign": urn}` (LinkedIn's item shape there is not documented)."""
        row = super().post_process(row, context) or row
        associated = row.get("associatedCampaigns")
        if isinstance(associated, list):
            items = [item if isinstance(item, dict) else {"campaign": item}
                     for item in associated]
            for item in items:
                convert_timestamps(item, (("associatedAt",),))
            row["associatedCampaigns"] = items
        return row


class CampaignConversionsStream(_AccountChildStream):
    """Which campaign is associated with which rule (`campaignConversions`, start/count).

    LinkedIn finds associations only by campaign, so per account this lists the account's
    campaigns (through the campaigns stream, honouring `campaign_statuses`) and asks for their
    associations `URNS_PER_REQUEST` campaigns at a time. Each campaign is in exactly one
    request, so each association arrives once.
    """

    name = "campaign_conversions"
    path = "/campaignConversions"
    primary_keys = ("campaign_id", "conversion_rule_id")
    required_fields = numeric_fields = ("campaign", "conversion")
    schema = schemas.CAMPAIGN_CONVERSIONS
    cursor_paging = False
    timestamp_paths = (("associatedAt",),)

    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        """Associations of the account's campaigns, one chunk of campaigns per request."""
        campaigns = self._tap.streams[CampaignsStream.name]
        urns = [CAMPAIGN_URN_PREFIX + str(row["id"])
                for row in t.cast("CampaignsStream", campaigns).request_records(context)]
        for start in range(0, len(urns), URNS_PER_REQUEST):
            chunk = urns[start:start + URNS_PER_REQUEST]
            yield from self.request_records({**(context or {}), "campaigns": chunk})

    def finder_params(self, context: Context | None) -> dict[str, t.Any]:
        """`q=campaigns&campaigns=List(urn%3Ali%3AsponsoredCampaign%3AN,...)`."""
        return {"q": "campaigns", "campaigns": restli_list((context or {})["campaigns"])}

    def post_process(self, row: dict[str, t.Any], context: Context | None = None
                     ) -> dict[str, t.Any] | None:
        """Numeric ids for the composite key, next to LinkedIn's URNs."""
        row = super().post_process(row, context) or row
        row["campaign_id"] = urn_id(row["campaign"])
        row["conversion_rule_id"] = urn_id(row["conversion"])
        return row


STREAM_TYPES: tuple[type[LinkedInStream], ...] = (
    AdAccountUsersStream,
    AdAccountsStream,
    CampaignGroupsStream,
    CampaignsStream,
    CreativesStream,
    ConversionRulesStream,
    CampaignConversionsStream,
)
