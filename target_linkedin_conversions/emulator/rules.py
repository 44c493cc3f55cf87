"""Conversion rules (/rest/conversions) and campaign associations (/rest/campaignConversions).

Status choices where LinkedIn's documentation is silent, so that tests can rely on them:
- schema problems in a body (unknown or read-only field, wrong JSON type, missing required field,
  unknown enum symbol, malformed URN) → 422 `ERROR :: /field :: reason`, one line per problem,
  like the events endpoint; MARKETING_QUALIFIED_LEAD / SALES_QUALIFIED_LEAD are unknown enum
  symbols below LinkedIn-Version 202608;
- business rules (window sizes, empty name, changing `account`) and bad query params → 400;
- an account id that does not exist → 404; an account without a role → 403, and a VIEWER → 403
  on writes (create, update, associate, dissociate);
- a rule read or updated with another account than its own → 404, as if it did not exist.
Creating rules is not idempotent (two creates with one name make two rules); associating is.
"""

from __future__ import annotations

import json
import re
import typing as t

from target_linkedin_conversions.emulator import restli
from target_linkedin_conversions.emulator.ads import (
    ApiError,
    bad_request,
    check_account,
    guarded,
    params,
    parse_account_urn,
    project,
    require_finder,
    start_count_page,
)
from target_linkedin_conversions.emulator.routing import Request, Response, error, route

if t.TYPE_CHECKING:
    from target_linkedin_conversions.emulator.world import World

MAX_COUNT = 500
RULE_URN_PREFIX = "urn:lla:llaPartnerConversion:"
_RULE_URN = re.compile(r"urn:lla:llaPartnerConversion:(\d+)")
_CAMPAIGN_URN = re.compile(r"urn:li:sponsoredCampaign:(\d+)")
_KEY_PARTS = ("campaign", "conversion")

RULE_TYPES = frozenset({
    "ADD_BILLING_INFO", "ADD_TO_CART", "ADD_TO_LIST", "AD_CLICK", "AD_VIEW", "BOOK_APPOINTMENT",
    "COMPLETE_SIGNUP", "CONTACT", "DONATE", "DOWNLOAD", "INSTALL", "INVITE", "JOB_APPLY",
    "KEY_PAGE_VIEW", "LEAD", "LOGIN", "OTHER", "OUTBOUND_CLICK", "PHONE_CALL", "PURCHASE",
    "QUALIFIED_LEAD", "RATE", "REQUEST_QUOTE", "SAVE", "SCHEDULE", "SEARCH", "SHARE", "SIGN_UP",
    "START_CHECKOUT", "START_TRIAL", "SUBMIT_APPLICATION", "SUBSCRIBE", "TALENT_LEAD",
    "VIEW_CONTENT", "VIEW_VIDEO",
})
VERSION_GATED_TYPES = {"MARKETING_QUALIFIED_LEAD": 202608, "SALES_QUALIFIED_LEAD": 202608}
LONG_WINDOW_TYPES = frozenset({"SUBMIT_APPLICATION", "PURCHASE", "ADD_TO_CART",
                               "QUALIFIED_LEAD", "LEAD"})
WINDOW_SIZES = (1, 7, 30, 90, 180)
LONG_WINDOW = 365
METHODS = frozenset({"CONVERSIONS_API", "INSIGHT_TAG_URL_MATCH_RULES",
                     "INSIGHT_TAG_JAVASCRIPT_EVENT", "IMAGE_PIXEL"})
ATTRIBUTION_TYPES = frozenset({"LAST_TOUCH_BY_CAMPAIGN", "LAST_TOUCH_BY_CONVERSION"})
VALUE_TYPES = frozenset({"DYNAMIC", "FIXED", "NO_VALUE"})
AUTO_ASSOCIATION_TYPES = frozenset({"ALL_CAMPAIGNS", "OBJECTIVE_BASED"})
_AUTO_STATUSES = frozenset({"ACTIVE", "PAUSED", "DRAFT"})
_CONVERSION_OBJECTIVES = frozenset({"WEBSITE_CONVERSION", "LEAD_GENERATION"})

DEFAULTS: dict[str, t.Any] = {
    "enabled": True,
    "attributionType": "LAST_TOUCH_BY_CAMPAIGN",
    "postClickAttributionWindowSize": 30,
    "viewThroughAttributionWindowSize": 7,
    "valueType": "DYNAMIC",
}
REQUIRED = ("account", "name", "conversionMethod", "type")
READ_ONLY = frozenset({"id", "campaigns", "associatedCampaigns", "created", "lastModified",
                       "lastCallbackAt", "latestFirstPartyCallbackAt", "imagePixelTag",
                       "urlMatchRuleExpression"})


def version_of(req: Request) -> int:
    """The YYYYMM of the LinkedIn-Version header (a `.RR` revision is ignored); 0 if absent."""
    text = req.headers.get("linkedin-version", "")[:6]
    return int(text) if text.isdigit() else 0


def restli_method(req: Request) -> str:
    """The X-RestLi-Method header, upper-cased; empty when absent."""
    return req.headers.get("x-restli-method", "").strip().upper()


def json_object(req: Request, what: str) -> dict[str, t.Any]:
    """The body as a JSON object; 400 otherwise."""
    try:
        body = req.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"{what} body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise bad_request(f"{what} body must be a JSON object")
    return body


# --- rule validation ------------------------------------------------------------------------

def _type_problem(field: str, value: t.Any) -> str | None:
    """The 422 reason for a wrong JSON type of FIELD, None when the type is right."""
    shown = json.dumps(value, ensure_ascii=False)
    if field in ("postClickAttributionWindowSize", "viewThroughAttributionWindowSize"):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"{shown} cannot be coerced to Integer"
    if field == "enabled":
        return None if isinstance(value, bool) else f"{shown} cannot be coerced to Boolean"
    if field == "value":
        ok = isinstance(value, dict) and set(value) == {"currencyCode", "amount"} and all(
            isinstance(v, str) for v in value.values())
        return None if ok else "must be {\"currencyCode\": String, \"amount\": String}"
    if field == "urlRules":
        return None if isinstance(value, list) else f"{shown} cannot be coerced to Array"
    return None if isinstance(value, str) else f"{shown} cannot be coerced to String"


def _enum_problem(field: str, value: str, version: int) -> str | None:
    """The 422 reason for an enum symbol this LinkedIn-Version does not know."""
    symbols = {"conversionMethod": METHODS, "attributionType": ATTRIBUTION_TYPES,
               "valueType": VALUE_TYPES}.get(field)
    if field == "type":
        gate = VERSION_GATED_TYPES.get(value)
        if gate is not None and version < gate:
            return f'"{value}" is not an enum symbol (available from LinkedIn-Version {gate})'
        symbols = RULE_TYPES | set(VERSION_GATED_TYPES)
    if field == "account" and not re.fullmatch(r"urn:li:sponsoredAccount:\d+", value):
        return "Invalid Urn format. Invalid prefix."
    if symbols is not None and value not in symbols:
        return f'"{value}" is not an enum symbol'
    return None


def schema_problems(fields: dict[str, t.Any], version: int, *, required: t.Iterable[str] = ()
                    ) -> list[str]:
    """All 422 lines for FIELDS, in field order, like LinkedIn's validator collects them."""
    problems: list[str] = []
    for field, value in fields.items():
        if field in READ_ONLY:
            reason: str | None = "field is read-only and cannot be set"
        elif field not in _WRITABLE:
            reason = "unrecognized field found but not allowed"
        else:
            reason = _type_problem(field, value)
            if reason is None and isinstance(value, str):
                reason = _enum_problem(field, value, version)
        if reason:
            problems.append(f"ERROR :: /{field} :: {reason}")
    for field in required:
        if field not in fields:
            problems.append(
                f"ERROR :: /{field} :: field is required but not found and has no default value")
    return problems


_WRITABLE = frozenset({*REQUIRED, *DEFAULTS, "value", "urlRules"})
_ENTITY_ORDER = ("name", "account", "conversionMethod", "enabled", "type", "attributionType",
                 "postClickAttributionWindowSize", "viewThroughAttributionWindowSize", "valueType")


def raise_schema(problems: list[str]) -> None:
    """422 with every problem on its own line."""
    if problems:
        raise ApiError(Response(422, {"message": "\n".join(problems), "status": 422}))


def business_problems(rule: dict[str, t.Any]) -> list[str]:
    """The 400 reasons of a complete rule: empty name, window sizes allowed for its type."""
    problems = []
    if not rule["name"].strip():
        problems.append("name must not be empty")
    for field in ("postClickAttributionWindowSize", "viewThroughAttributionWindowSize"):
        size = rule[field]
        if size in WINDOW_SIZES or (size == LONG_WINDOW and rule["type"] in LONG_WINDOW_TYPES):
            continue
        problems.append(
            f"{field} {size} is not allowed for type {rule['type']}: use one of "
            f"{', '.join(map(str, WINDOW_SIZES))} ({LONG_WINDOW} only for "
            f"{', '.join(sorted(LONG_WINDOW_TYPES))})")
    return problems


def raise_business(rule: dict[str, t.Any]) -> None:
    """400 listing every business-rule problem of RULE."""
    problems = business_problems(rule)
    if problems:
        raise ApiError(error(400, "; ".join(problems), code="INVALID_VALUE"))


# --- rule lookup ----------------------------------------------------------------------------

def account_query(req: Request) -> int:
    """The account id of the required `account` query parameter."""
    raw = params(req)
    if not raw.get("account"):
        raise bad_request("account is required, e.g. account=urn%3Ali%3AsponsoredAccount%3A123")
    return parse_account_urn(restli.scalar(raw["account"]))


def rule_in_account(world: World, raw_id: str, account_id: int) -> dict[str, t.Any]:
    """The rule with id RAW_ID if it belongs to ACCOUNT_ID; 404 otherwise (also on mismatch)."""
    if not raw_id.isdigit():
        raise bad_request(f"Conversion rule id must be numeric, got {restli.scalar(raw_id)!r}")
    rule = world.rules.get(int(raw_id))
    if rule is None or rule["account"] != f"urn:li:sponsoredAccount:{account_id}":
        raise ApiError(error(
            404, f"Conversion rule {raw_id} does not exist in ad account {account_id}",
            code="NOT_FOUND"))
    return rule


def public(rule: dict[str, t.Any]) -> dict[str, t.Any]:
    """A copy of RULE safe to serialise outside the lock."""
    return json.loads(json.dumps(rule))


# --- /rest/conversions ----------------------------------------------------------------------

@route("GET", r"/rest/conversions/?")
@guarded
def find_rules(world: World, req: Request) -> Response:
    """`q=account` finder, ordered by id, start/count paged, optional `fields` projection."""
    raw = params(req)
    require_finder(raw, "account")
    account_id = account_query(req)
    urn = f"urn:li:sponsoredAccount:{account_id}"
    with world.lock:
        check_account(world, account_id)
        rules = [public(rule) for _, rule in sorted(world.rules.items())
                 if rule["account"] == urn]
    return Response(200, start_count_page(rules, raw, max_count=MAX_COUNT))


@route("GET", r"/rest/conversions/(?P<rule_id>[^/]+)")
@guarded
def get_rule(world: World, req: Request) -> Response:
    """One rule; the `account` parameter is required and must be the rule's own."""
    account_id = account_query(req)
    with world.lock:
        check_account(world, account_id)
        rule = public(rule_in_account(world, req.path_params["rule_id"], account_id))
    return Response(200, project(rule, params(req)))


@route("POST", r"/rest/conversions/?")
@guarded
def create_rule(world: World, req: Request) -> Response:
    """Create a rule: 201 with `x-restli-id`, `Location` and the full entity."""
    if restli_method(req) not in ("", "CREATE"):
        raise bad_request(f"X-RestLi-Method {restli_method(req)} is not supported on /conversions")
    body = json_object(req, "Create")
    raise_schema(schema_problems(body, version_of(req), required=REQUIRED))
    auto = restli.scalar(params(req).get("autoAssociationType", ""))
    if auto and auto not in AUTO_ASSOCIATION_TYPES:
        raise bad_request(f"autoAssociationType must be one of "
                          f"{', '.join(sorted(AUTO_ASSOCIATION_TYPES))}, got {auto!r}")
    rule = {**DEFAULTS, **body}

    with world.lock:
        check_account(world, parse_account_urn(body["account"]), manage=True)
        raise_business(rule)
        rule_id = world.new_id()
        stamp = world.now_ms()
        ordered = {field: rule[field] for field in _ENTITY_ORDER if field in rule}
        world.rules[rule_id] = {"id": rule_id, **ordered, **rule, "campaigns": [],
                                "created": stamp, "lastModified": stamp}
        if auto:
            _auto_associate(world, world.rules[rule_id], auto, stamp)
        created = public(world.rules[rule_id])
    return Response(201, created, {"x-restli-id": str(rule_id),
                                   "Location": f"/conversions/{rule_id}"})


def _auto_associate(world: World, rule: dict[str, t.Any], auto: str, stamp: int) -> None:
    """Associate the account's live campaigns (ACTIVE/PAUSED/DRAFT) once, at creation.

    OBJECTIVE_BASED narrows that to conversion and lead-generation objectives (an emulator choice;
    LinkedIn does not document the selection).
    """
    for campaign_id, campaign in sorted(world.campaigns.items()):
        if campaign["account"] != rule["account"] or campaign["status"] not in _AUTO_STATUSES:
            continue
        objective = campaign.get("objectiveType")
        if auto == "OBJECTIVE_BASED" and objective not in _CONVERSION_OBJECTIVES:
            continue
        _link(world, f"urn:li:sponsoredCampaign:{campaign_id}",
              f"{RULE_URN_PREFIX}{rule['id']}", stamp)


@route("POST", r"/rest/conversions/(?P<rule_id>[^/]+)")
@guarded
def update_rule(world: World, req: Request) -> Response:
    """PARTIAL_UPDATE with `{"patch": {"$set": {...}}}` → 204; `account` cannot change."""
    if restli_method(req) != "PARTIAL_UPDATE":
        raise bad_request("POST /conversions/{id} needs X-RestLi-Method: PARTIAL_UPDATE")
    account_id = account_query(req)
    changes = _patch_set(json_object(req, "Partial update"))
    raise_schema(schema_problems(changes, version_of(req)))

    with world.lock:
        check_account(world, account_id, manage=True)
        rule = rule_in_account(world, req.path_params["rule_id"], account_id)
        if changes.get("account", rule["account"]) != rule["account"]:
            raise bad_request("account of a conversion rule cannot be changed")
        merged = {**rule, **changes}
        raise_business(merged)
        rule.update(changes)
        rule["lastModified"] = world.now_ms()
    return Response(204)


def _patch_set(body: dict[str, t.Any]) -> dict[str, t.Any]:
    """The `$set` map of a Rest.li patch; other patch operations are not emulated (400)."""
    patch = body.get("patch")
    if set(body) != {"patch"} or not isinstance(patch, dict):
        raise bad_request('Partial update body must be {"patch": {"$set": {...}}}')
    if set(patch) - {"$set"} or not isinstance(patch.get("$set"), dict):
        raise bad_request('Only {"patch": {"$set": {...}}} is supported for conversion rules')
    return t.cast("dict[str, t.Any]", patch["$set"])


# --- /rest/campaignConversions --------------------------------------------------------------

def decode_key(raw: str) -> tuple[str, str]:
    """(campaign URN, conversion URN) of a Rest.li 2.0 compound key; 400 with the fix."""
    try:
        key = restli.decode_compound_key(raw, _KEY_PARTS)
    except restli.RestliSyntaxError as exc:
        raise bad_request(
            f"Invalid campaignConversions key {raw!r}: {exc}. Expected "
            "(campaign:urn%3Ali%3AsponsoredCampaign%3A<id>,"
            "conversion:urn%3Alla%3AllaPartnerConversion%3A<id>) with the URN values "
            "percent-encoded and ( : , literal"
        ) from exc
    if not _CAMPAIGN_URN.fullmatch(key["campaign"]):
        raise bad_request(
            f"campaign must be urn:li:sponsoredCampaign:<id>, got {key['campaign']!r}")
    if not _RULE_URN.fullmatch(key["conversion"]):
        raise bad_request(
            f"conversion must be urn:lla:llaPartnerConversion:<id>, got {key['conversion']!r}")
    return key["campaign"], key["conversion"]


def check_entity(entity: t.Any, key: tuple[str, str]) -> None:
    """The PUT body must be exactly {"campaign", "conversion"} and repeat the key."""
    if not isinstance(entity, dict):
        raise bad_request("campaignConversion body must be a JSON object")
    unknown = [f"ERROR :: /{f} :: unrecognized field found but not allowed"
               for f in entity if f not in _KEY_PARTS]
    raise_schema(unknown)
    if (entity.get("campaign"), entity.get("conversion")) != key:
        raise bad_request(f"Body campaign/conversion {entity.get('campaign')!r}/"
                          f"{entity.get('conversion')!r} must match the key {key[0]}/{key[1]}")


def associate(world: World, campaign_urn: str, conversion_urn: str) -> None:
    """Associate (idempotently) after checking the rule, the campaign and the member's role."""
    rule, campaign = _resolve(world, campaign_urn, conversion_urn)
    check_account(world, parse_account_urn(rule["account"]), manage=True)
    if campaign["account"] != rule["account"]:
        raise bad_request(
            f"Campaign {campaign['id']} belongs to {campaign['account']} but conversion rule "
            f"{rule['id']} belongs to {rule['account']}; both must be in the same ad account")
    _link(world, campaign_urn, conversion_urn, world.now_ms())


def _resolve(world: World, campaign_urn: str, conversion_urn: str
             ) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    """The rule and campaign of a key; 404 naming whichever does not exist."""
    rule = world.rules.get(int(conversion_urn.rsplit(":", 1)[1]))
    if rule is None:
        raise ApiError(error(404, f"Conversion rule {conversion_urn} does not exist",
                             code="NOT_FOUND"))
    campaign = world.campaigns.get(int(campaign_urn.rsplit(":", 1)[1]))
    if campaign is None:
        raise ApiError(error(404, f"Campaign {campaign_urn} does not exist", code="NOT_FOUND"))
    return rule, campaign


def _link(world: World, campaign_urn: str, conversion_urn: str, stamp: int) -> None:
    """Record the association once and keep the rule's `campaigns` list in step."""
    world.campaign_conversions.setdefault(
        (campaign_urn, conversion_urn),
        {"campaign": campaign_urn, "conversion": conversion_urn, "associatedAt": stamp},
    )
    campaigns = world.rules[int(conversion_urn.rsplit(":", 1)[1])].setdefault("campaigns", [])
    if campaign_urn not in campaigns:
        campaigns.append(campaign_urn)


@route("PUT", r"/rest/campaignConversions/(?P<key>[^/]+)")
@guarded
def put_association(world: World, req: Request) -> Response:
    """Associate one campaign with one rule → 204 (repeating it changes nothing)."""
    key = decode_key(req.path_params["key"])
    check_entity(json_object(req, "campaignConversion"), key)
    with world.lock:
        associate(world, *key)
    return Response(204)


@route("PUT", r"/rest/campaignConversions/?")
@guarded
def batch_put_associations(world: World, req: Request) -> Response:
    """BATCH_UPDATE: `ids=List(key,...)` and `{"entities": {key: entity}}` → per-key statuses."""
    if restli_method(req) not in ("", "BATCH_UPDATE"):
        raise bad_request(f"X-RestLi-Method {restli_method(req)} is not supported here")
    entities = _batch_entities(req)
    results: dict[str, t.Any] = {}
    errors: dict[str, t.Any] = {}
    with world.lock:
        for raw_key, (key, entity) in entities.items():
            try:
                check_entity(entity, key)
                associate(world, *key)
                results[raw_key] = {"status": 204}
            except ApiError as exc:
                errors[raw_key] = exc.response.body
    return Response(200, {"results": results, "errors": errors})


def _batch_entities(req: Request) -> dict[str, tuple[tuple[str, str], t.Any]]:
    """Body keys (as sent) → (decoded key, entity), after checking they match `ids` exactly."""
    raw = params(req)
    if "ids" not in raw:
        raise bad_request("ids=List((campaign:...,conversion:...),...) is required")
    ids = _decode_ids(raw["ids"])
    body = json_object(req, "Batch update")
    if set(body) != {"entities"} or not isinstance(body["entities"], dict):
        raise bad_request('Batch update body must be {"entities": {"<key>": {...}, ...}}')
    entities = {raw_key: (decode_key(raw_key), entity)
                for raw_key, entity in body["entities"].items()}
    if {key for key, _ in entities.values()} != set(ids) or len(entities) != len(set(ids)):
        raise bad_request("The keys of entities must be exactly the keys listed in ids")
    return entities


def _decode_ids(raw_ids: str) -> list[tuple[str, str]]:
    """The compound keys of `ids=List((...),(...))`."""
    try:
        value = restli.decode(raw_ids)
    except restli.RestliSyntaxError as exc:
        raise bad_request(f"Invalid ids: {exc}") from exc
    if not isinstance(value, list) or not value:
        raise bad_request("ids must be a non-empty List((campaign:...,conversion:...),...)")
    return [decode_key(restli.encode(item)) for item in value]


@route("GET", r"/rest/campaignConversions/?")
@guarded
def find_associations(world: World, req: Request) -> Response:
    """`q=campaigns&campaigns=List(urn,...)`: the associations of those campaigns."""
    raw = params(req)
    require_finder(raw, "campaigns")
    campaigns = _campaign_list(raw)
    with world.lock:
        found = [dict(world.campaign_conversions[pair])
                 for pair in sorted(world.campaign_conversions, key=_pair_order)
                 if pair[0] in campaigns and _readable(world, pair[1])]
    return Response(200, start_count_page(found, raw, max_count=MAX_COUNT))


def _campaign_list(raw: dict[str, str]) -> set[str]:
    """The campaign URNs of the `campaigns` finder parameter."""
    try:
        value = restli.decode(raw.get("campaigns", ""))
    except restli.RestliSyntaxError as exc:
        raise bad_request(f"campaigns must be List(urn%3Ali%3AsponsoredCampaign%3A<id>,...): "
                          f"{exc}") from exc
    if not isinstance(value, list) or not all(
            isinstance(v, str) and _CAMPAIGN_URN.fullmatch(v) for v in value):
        raise bad_request("campaigns must be List(urn%3Ali%3AsponsoredCampaign%3A<id>,...)")
    return set(t.cast("list[str]", value))


def _pair_order(pair: tuple[str, str]) -> tuple[int, int]:
    """Associations ordered by campaign id, then rule id."""
    return int(pair[0].rsplit(":", 1)[1]), int(pair[1].rsplit(":", 1)[1])


def _readable(world: World, conversion_urn: str) -> bool:
    """Whether the member may see the rule's account (associations elsewhere stay hidden)."""
    rule = world.rules.get(int(conversion_urn.rsplit(":", 1)[1]))
    if rule is None:
        return False
    try:
        check_account(world, parse_account_urn(rule["account"]))
    except ApiError:
        return False
    return True


@route("GET", r"/rest/campaignConversions/(?P<key>[^/]+)")
@guarded
def get_association(world: World, req: Request) -> Response:
    """One association by key, 404 when not associated."""
    key = decode_key(req.path_params["key"])
    with world.lock:
        found = world.campaign_conversions.get(key)
        if found is None or not _readable(world, key[1]):
            raise ApiError(error(404, f"Campaign {key[0]} is not associated with {key[1]}",
                                 code="NOT_FOUND"))
        return Response(200, dict(found))


@route("DELETE", r"/rest/campaignConversions/(?P<key>[^/]+)")
@guarded
def delete_association(world: World, req: Request) -> Response:
    """Dissociate → 204; 404 when the pair is not associated."""
    key = decode_key(req.path_params["key"])
    with world.lock:
        rule, _campaign = _resolve(world, *key)
        check_account(world, parse_account_urn(rule["account"]), manage=True)
        if world.campaign_conversions.pop(key, None) is None:
            raise ApiError(error(404, f"Campaign {key[0]} is not associated with {key[1]}",
                                 code="NOT_FOUND"))
        if key[0] in rule.get("campaigns", []):
            rule["campaigns"].remove(key[0])
    return Response(204)
