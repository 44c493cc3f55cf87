"""Discovery endpoints: ad account users, ad accounts, campaign groups, campaigns, creatives.

Also the helpers the rules endpoints share with them: the member's role on an account, start/count
and cursor paging, `fields` projection and the `ApiError` short-cut for error answers.

Access: the emulator has one authenticated member, whose roles are `world.ad_account_users`. An
account id that does not exist answers 404; an existing account without a role answers 403, and
so does a VIEWER on anything that changes conversion data.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import typing as t

from target_linkedin_conversions.emulator import restli
from target_linkedin_conversions.emulator.routing import Request, Response, error, route

if t.TYPE_CHECKING:
    from target_linkedin_conversions.emulator.world import World

MANAGE_ROLES = frozenset({"ACCOUNT_BILLING_ADMIN", "ACCOUNT_MANAGER", "CAMPAIGN_MANAGER",
                          "CREATIVE_MANAGER"})
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
DEFAULT_COUNT = 10
_ACCOUNT_URN = re.compile(r"urn:li:sponsoredAccount:(\d+)")
_TOKEN_PREFIX = "after:"  # noqa: S105 - a page-token prefix, not a credential


class ApiError(Exception):
    """Raised inside a handler to answer with RESPONSE; keeps validation helpers flat."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.body)
        self.response = response


def bad_request(message: str) -> ApiError:
    """A 400 for a malformed parameter or body."""
    return ApiError(error(400, message, code="PARAM_INVALID"))


def guarded(handler: t.Callable[[World, Request], Response]
            ) -> t.Callable[[World, Request], Response]:
    """Turn an ApiError raised by HANDLER into its response."""

    @functools.wraps(handler)
    def wrapper(world: World, req: Request) -> Response:
        try:
            return handler(world, req)
        except ApiError as exc:
            return exc.response

    return wrapper


# --- access ---------------------------------------------------------------------------------

def account_urn(account_id: int) -> str:
    """The sponsoredAccount URN of ACCOUNT_ID."""
    return f"urn:li:sponsoredAccount:{account_id}"


def parse_account_urn(value: str, what: str = "account") -> int:
    """The numeric id of an `urn:li:sponsoredAccount:N`; 400 for anything else."""
    match = _ACCOUNT_URN.fullmatch(value)
    if not match:
        raise bad_request(f"{what} must be an URN like urn:li:sponsoredAccount:123, got {value!r}")
    return int(match.group(1))


def member_role(world: World, account_id: int) -> str | None:
    """The authenticated member's role on ACCOUNT_ID, None without access."""
    urn = account_urn(account_id)
    for row in world.ad_account_users:
        if row["account"] == urn:
            return str(row["role"])
    return None


def check_account(world: World, account_id: int, *, manage: bool = False) -> dict[str, t.Any]:
    """The account entity if the member may read it (or MANAGE it); raises 404/403 otherwise."""
    account = world.ad_accounts.get(account_id)
    if account is None:
        raise ApiError(error(404, f"Ad account {account_id} does not exist", code="NOT_FOUND"))
    role = member_role(world, account_id)
    if role is None or (manage and role not in MANAGE_ROLES):
        held = f"role {role}" if role else "no role"
        raise ApiError(error(
            403,
            f"Not enough permissions to access ad account {account_id}: the member has {held}",
            code="ACCESS_DENIED", service_error_code=100,
        ))
    return account


def parse_account_id(raw: str) -> int:
    """A numeric account id from the path; 400 for anything else."""
    if not raw.isdigit():
        raise bad_request(f"Ad account id must be numeric, got {restli.scalar(raw)!r}")
    return int(raw)


# --- parameters, paging, projection ---------------------------------------------------------

def params(req: Request) -> dict[str, str]:
    """The request's raw (still percent-encoded) query parameters."""
    return restli.raw_params(req.raw_query)


def int_param(raw: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer parameter within [LOW, HIGH]; 400 names the parameter and the bounds."""
    if name not in raw:
        return default
    text = restli.scalar(raw[name])
    if not re.fullmatch(r"-?\d+", text) or not low <= int(text) <= high:
        raise bad_request(f"{name} must be an integer between {low} and {high}, got {text!r}")
    return int(text)


def require_finder(raw: dict[str, str], finder: str) -> None:
    """400 unless the request names FINDER in `q`."""
    found = restli.scalar(raw.get("q", ""))
    if found != finder:
        raise bad_request(f"q must be {finder!r}, got {found!r}" if found
                          else f"q={finder} is required")


def decode_param(raw: dict[str, str], name: str) -> restli.Value | None:
    """A Rest.li 2.0 structured parameter, None when absent; 400 with the parser's position."""
    if name not in raw:
        return None
    try:
        return restli.decode(raw[name])
    except restli.RestliSyntaxError as exc:
        raise bad_request(
            f"Invalid Rest.li 2.0 value for {name}: {exc}. Structure characters ( ) , : must be "
            "sent literally and only the values inside percent-encoded"
        ) from exc


def decode_list(raw: dict[str, str], name: str) -> list[str] | None:
    """A `List(a,b)` parameter of plain values, None when absent."""
    value = decode_param(raw, name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"{name} must be a Rest.li list of values like List(a,b)")
    return t.cast("list[str]", value)


def project(entity: dict[str, t.Any], raw: dict[str, str]) -> dict[str, t.Any]:
    """Apply a 1.0-style `fields=a,b` projection (top-level fields only)."""
    if "fields" not in raw:
        return entity
    wanted = [f.strip() for f in restli.scalar(raw["fields"]).split(",") if f.strip()]
    return {key: entity[key] for key in wanted if key in entity}


def start_count_page(elements: list[dict[str, t.Any]], raw: dict[str, str], *,
                     max_count: int) -> dict[str, t.Any]:
    """A start/count page of ELEMENTS with LinkedIn's `paging` block."""
    start = int_param(raw, "start", 0, 0, 10**9)
    count = int_param(raw, "count", DEFAULT_COUNT, 0, max_count)
    page = elements[start:start + count]
    return {
        "elements": [project(e, raw) for e in page],
        "paging": {"start": start, "count": count, "total": len(elements), "links": []},
    }


def page_token(key: int) -> str:
    """The opaque token that resumes after the element whose sort key is KEY."""
    return base64.urlsafe_b64encode(f"{_TOKEN_PREFIX}{key}".encode()).decode().rstrip("=")


def _token_key(token: str) -> int:
    """The sort key a page token resumes after; 400 for a token this server did not issue."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if not text.startswith(_TOKEN_PREFIX) or not text[len(_TOKEN_PREFIX):].isdigit():
        raise bad_request(f"Invalid pageToken {token!r}")
    return int(text[len(_TOKEN_PREFIX):])


def cursor_page(keyed: list[tuple[int, dict[str, t.Any]]], raw: dict[str, str]
                ) -> dict[str, t.Any]:
    """A pageSize/pageToken page over KEYED (sort key, entity), resuming by key, not offset.

    Keyset tokens keep paging exact even when objects are created between two page requests.
    """
    size = int_param(raw, "pageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    keyed = sorted(keyed, key=lambda pair: pair[0])
    if "pageToken" in raw:
        after = _token_key(restli.scalar(raw["pageToken"]))
        keyed = [pair for pair in keyed if pair[0] > after]
    page = keyed[:size]
    metadata: dict[str, t.Any] = {}
    if len(keyed) > size:
        metadata["nextPageToken"] = page_token(page[-1][0])
    return {"elements": [project(entity, raw) for _, entity in page], "metadata": metadata}


# --- search criteria ------------------------------------------------------------------------

Criterion = t.Callable[[dict[str, t.Any], restli.Value], bool]


def _tail(value: t.Any) -> str:
    """The last URN segment, so `123` and `urn:li:x:123` compare equal."""
    return str(value).rsplit(":", 1)[-1]


def values_of(name: str, value: restli.Value) -> list[str]:
    """The list inside `name:(values:List(...))`; 400 for any other shape."""
    if (not isinstance(value, dict) or set(value) != {"values"}
            or not isinstance(value["values"], list)
            or not all(isinstance(v, str) for v in value["values"])):
        raise bad_request(f"search.{name} must look like {name}:(values:List(A,B))")
    return t.cast("list[str]", value["values"])


def match_values(field: str, *, by_tail: bool = False) -> Criterion:
    """A criterion matching FIELD against `(values:List(...))` (by URN tail when BY_TAIL)."""

    def matches(entity: dict[str, t.Any], value: restli.Value) -> bool:
        wanted = values_of(field, value)
        if by_tail:
            return _tail(entity.get(field)) in {_tail(v) for v in wanted}
        return str(entity.get(field)) in wanted

    return matches


def match_test(entity: dict[str, t.Any], value: restli.Value) -> bool:
    """The boolean `test:true|false` criterion."""
    if value not in ("true", "false"):
        raise bad_request(f"search.test must be true or false, got {value!r}")
    return bool(entity.get("test")) == (value == "true")


def search_filter(raw: dict[str, str], criteria: dict[str, Criterion]
                  ) -> t.Callable[[dict[str, t.Any]], bool]:
    """Decode `search=(k:v,...)` and return a predicate; 400 for bad syntax or unknown keys."""
    search = decode_param(raw, "search")
    if search is None:
        return lambda _entity: True
    if not isinstance(search, dict):
        raise bad_request(
            "search must be a Rest.li 2.0 object like (status:(values:List(ACTIVE))); were its "
            "parentheses or colons percent-encoded?"
        )
    unknown = sorted(set(search) - set(criteria))
    if unknown:
        raise bad_request(f"Unknown search criteria {', '.join(unknown)}; supported: "
                          f"{', '.join(sorted(criteria))}")
    for name, value in search.items():  # validate shapes even when nothing would match
        criteria[name]({}, value)
    return lambda entity: all(criteria[n](entity, v) for n, v in search.items())


_ACCOUNT_CRITERIA: dict[str, Criterion] = {
    "id": match_values("id", by_tail=True),
    "name": match_values("name"),
    "reference": match_values("reference"),
    "type": match_values("type"),
    "status": match_values("status"),
    "test": match_test,
}
_GROUP_CRITERIA: dict[str, Criterion] = {
    "id": match_values("id", by_tail=True),
    "name": match_values("name"),
    "status": match_values("status"),
    "test": match_test,
}
_CAMPAIGN_CRITERIA: dict[str, Criterion] = {
    **_GROUP_CRITERIA,
    "type": match_values("type"),
    "campaignGroup": match_values("campaignGroup", by_tail=True),
    "objectiveType": match_values("objectiveType"),
}


# --- handlers -------------------------------------------------------------------------------

@route("GET", r"/rest/adAccountUsers/?")
@guarded
def ad_account_users(world: World, req: Request) -> Response:
    """The member's roles on ad accounts: LinkedIn's cheap `r_ads` identity check."""
    raw = params(req)
    require_finder(raw, "authenticatedUser")
    with world.lock:
        rows = [dict(row) for row in world.ad_account_users]
    return Response(200, start_count_page(rows, raw, max_count=MAX_PAGE_SIZE))


@route("GET", r"/rest/adAccounts/?")
@guarded
def search_ad_accounts(world: World, req: Request) -> Response:
    """Accounts the member holds a role on, filtered by `search`, cursor-paged."""
    raw = params(req)
    require_finder(raw, "search")
    keep = search_filter(raw, _ACCOUNT_CRITERIA)
    with world.lock:
        keyed = [(account_id, dict(account)) for account_id, account in world.ad_accounts.items()
                 if member_role(world, account_id) is not None and keep(account)]
    return Response(200, cursor_page(keyed, raw))


@route("GET", r"/rest/adAccounts/(?P<account_id>[^/]+)")
@guarded
def get_ad_account(world: World, req: Request) -> Response:
    """One account by id."""
    account_id = parse_account_id(req.path_params["account_id"])
    with world.lock:
        account = dict(check_account(world, account_id))
    return Response(200, project(account, params(req)))


def _children(world: World, req: Request, table: str, finder: str,
              criteria: dict[str, Criterion]) -> Response:
    """Search one account's child TABLE (campaign groups or campaigns), cursor-paged."""
    raw = params(req)
    account_id = parse_account_id(req.path_params["account_id"])
    require_finder(raw, finder)
    keep = search_filter(raw, criteria)
    urn = account_urn(account_id)
    with world.lock:
        check_account(world, account_id)
        keyed = [(key, dict(entity)) for key, entity in getattr(world, table).items()
                 if entity["account"] == urn and keep(entity)]
    return Response(200, cursor_page(keyed, raw))


@route("GET", r"/rest/adAccounts/(?P<account_id>[^/]+)/adCampaignGroups/?")
@guarded
def search_campaign_groups(world: World, req: Request) -> Response:
    """Campaign groups of one account."""
    return _children(world, req, "campaign_groups", "search", _GROUP_CRITERIA)


@route("GET", r"/rest/adAccounts/(?P<account_id>[^/]+)/adCampaigns/?")
@guarded
def search_campaigns(world: World, req: Request) -> Response:
    """Campaigns of one account."""
    return _children(world, req, "campaigns", "search", _CAMPAIGN_CRITERIA)


@route("GET", r"/rest/adAccounts/(?P<account_id>[^/]+)/creatives/?")
@guarded
def find_creatives(world: World, req: Request) -> Response:
    """Creatives of one account, optionally by `campaigns`, `creatives`, `intendedStatuses`."""
    raw = params(req)
    account_id = parse_account_id(req.path_params["account_id"])
    require_finder(raw, "criteria")
    filters = {field: decode_list(raw, name) for name, field in
               (("campaigns", "campaign"), ("creatives", "id"),
                ("intendedStatuses", "intendedStatus"))}
    urn = account_urn(account_id)

    def keep(entity: dict[str, t.Any]) -> bool:
        return all(wanted is None or entity[field] in wanted for field, wanted in filters.items())

    with world.lock:
        check_account(world, account_id)
        keyed = [(key, dict(entity)) for key, entity in world.creatives.items()
                 if entity["account"] == urn and keep(entity)]
    return Response(200, cursor_page(keyed, raw))


def _child(world: World, req: Request, table: str, what: str) -> Response:
    """One campaign group or campaign of one account; 404 when it is not in that account."""
    account_id = parse_account_id(req.path_params["account_id"])
    raw_id = req.path_params["entity_id"]
    with world.lock:
        check_account(world, account_id)
        entity = getattr(world, table).get(int(raw_id)) if raw_id.isdigit() else None
        if entity is None or entity["account"] != account_urn(account_id):
            raise ApiError(error(404, f"{what} {restli.scalar(raw_id)} does not exist in ad "
                                      f"account {account_id}", code="NOT_FOUND"))
        entity = dict(entity)
    return Response(200, project(entity, params(req)))


@route("GET", r"/rest/adAccounts/(?P<account_id>[^/]+)/adCampaignGroups/(?P<entity_id>[^/]+)")
@guarded
def get_campaign_group(world: World, req: Request) -> Response:
    """One campaign group by id."""
    return _child(world, req, "campaign_groups", "Campaign group")


@route("GET", r"/rest/adAccounts/(?P<account_id>[^/]+)/adCampaigns/(?P<entity_id>[^/]+)")
@guarded
def get_campaign(world: World, req: Request) -> Response:
    """One campaign by id."""
    return _child(world, req, "campaigns", "Campaign")
