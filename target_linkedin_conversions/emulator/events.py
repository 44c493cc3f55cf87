"""`POST /rest/conversionEvents`: LinkedIn's validation of streamed conversion events.

Validation is all-or-nothing, in two stages as LinkedIn answers them: schema errors (422, one
`ERROR :: /path :: reason` line per problem, prefixed `Index: N, ` in the batch form), then
business errors (403 for an unknown rule; 400 listing the offending indices). Only a request that
passes both is recorded in `world.accepted_events`.
"""

from __future__ import annotations

import copy
import json
import re
import typing as t

from target_linkedin_conversions.emulator.routing import Request, Response, error, route

if t.TYPE_CHECKING:
    from target_linkedin_conversions.emulator.world import World

MAX_BATCH = 5000
WINDOW_MS = 90 * 24 * 60 * 60 * 1000
HASHED_NAMES_SINCE = 202609

ID_TYPES = (
    "SHA256_EMAIL",
    "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID",
    "ACXIOM_ID",
    "PLAINTEXT_IP_ADDRESS",
    "SHA256_IP_ADDRESS",
    "GOOGLE_AID",
)
HASHED_ID_TYPES = frozenset({"SHA256_EMAIL", "SHA256_IP_ADDRESS"})

HEX64 = re.compile(r"[0-9a-f]{64}")
CONVERSION_URN = re.compile(r"urn:lla:llaPartnerConversion:([0-9]+)")  # ASCII digits only
LEAD_URN = re.compile(r"urn:li:leadGenFormResponse:\S+")
DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")

EVENT_FIELDS = ("conversion", "conversionHappenedAt", "conversionValue", "eventId", "user")
EVENT_REQUIRED = ("conversion", "conversionHappenedAt", "user")
USER_FIELDS = ("userIds", "userInfo", "externalIds", "lead")
USER_INFO_FIELDS = ("firstName", "lastName", "companyName", "title", "countryCode")
HASHED_NAME_FIELDS = ("hashedFirstName", "hashedLastName")

REQUIRED = "field is required but not found"
UNRECOGNIZED = "unrecognized field found but not allowed"
BAD_URN = "Invalid Urn format. Invalid prefix."
HASH_REASON = "value must be 64 lowercase hexadecimal characters"

TIME_MESSAGE = "Conversion time should be within 90 days and not exceed current time"
METHOD_MESSAGE = "Conversion's method should be CONVERSIONS_API"
DISABLED_MESSAGE = (
    "Conversion event is associated to a conversion that's marked as deleted. "
    "Conversion enabled should be true"
)
IDENTITY_MESSAGE = (
    "The request must contain one of these fields: userIds with idType SHA256_EMAIL, "
    "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID, ACXIOM_ID, PLAINTEXT_IP_ADDRESS, SHA256_IP_ADDRESS "
    "or GOOGLE_AID; userInfo with firstName and lastName; externalIds; lead. "
    "Inputs may not be empty strings"
)

Problems = list[tuple[str, str]]  # (JSON path, reason)


def _show(value: t.Any) -> str:
    """A value as LinkedIn's validator prints it, cut short so a huge value stays readable."""
    shown = json.dumps(value, ensure_ascii=False)
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _fields(obj: dict[str, t.Any], path: str, allowed: t.Iterable[str],
            required: t.Iterable[str], problems: Problems) -> None:
    """Unknown members, then missing required members, of one record."""
    allowed = set(allowed)
    problems.extend((f"{path}/{name}", UNRECOGNIZED) for name in obj if name not in allowed)
    problems.extend((f"{path}/{name}", REQUIRED) for name in required if name not in obj)


def _is_record(value: t.Any, path: str, problems: Problems) -> bool:
    """True for a JSON object; otherwise note the type error."""
    if isinstance(value, dict):
        return True
    problems.append((path or "/", f"{_show(value)} cannot be coerced to Record"))
    return False


def _is_string(value: t.Any, path: str, problems: Problems) -> bool:
    """True for a JSON string; otherwise note the type error."""
    if isinstance(value, str):
        return True
    problems.append((path, f"{_show(value)} cannot be coerced to String"))
    return False


def _check_conversion(value: t.Any, problems: Problems) -> None:
    """The rule reference must be an llaPartnerConversion URN with a numeric id."""
    if _is_string(value, "/conversion", problems) and not CONVERSION_URN.fullmatch(value):
        problems.append(("/conversion", BAD_URN))


def _check_happened_at(value: t.Any, problems: Problems) -> None:
    """Epoch milliseconds as a JSON integer: a float or a string is a type error."""
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(("/conversionHappenedAt", f"{_show(value)} cannot be coerced to Long"))


def _check_value(value: t.Any, problems: Problems) -> None:
    """conversionValue needs both members, the amount as a decimal string."""
    path = "/conversionValue"
    if not _is_record(value, path, problems):
        return
    _fields(value, path, ("currencyCode", "amount"), ("currencyCode", "amount"), problems)
    if "currencyCode" in value:
        _is_string(value["currencyCode"], f"{path}/currencyCode", problems)
    amount = value.get("amount")
    if "amount" in value and _is_string(amount, f"{path}/amount", problems):
        if not DECIMAL.fullmatch(amount):
            problems.append((f"{path}/amount", f"{_show(amount)} is not a valid decimal amount"))


def _check_user_id(entry: t.Any, path: str, problems: Problems) -> None:
    """One {idType, idValue}: a known symbol, a non-empty value, hashes as 64 lowercase hex."""
    if not _is_record(entry, path, problems):
        return
    _fields(entry, path, ("idType", "idValue"), ("idType", "idValue"), problems)
    id_type = entry.get("idType")
    if "idType" in entry and _is_string(id_type, f"{path}/idType", problems):
        if id_type not in ID_TYPES:
            problems.append((f"{path}/idType", f"{_show(id_type)} is not an enum symbol"))
    value = entry.get("idValue")
    if "idValue" not in entry or not _is_string(value, f"{path}/idValue", problems):
        return
    if value == "":
        problems.append((f"{path}/idValue", "value must not be an empty string"))
    elif id_type in HASHED_ID_TYPES and not HEX64.fullmatch(value):
        problems.append((f"{path}/idValue",
                         f"{id_type} {HASH_REASON}"))


def _check_user_ids(value: t.Any, problems: Problems) -> None:
    """userIds is a list (possibly empty) of id entries."""
    if not isinstance(value, list):
        problems.append(("/user/userIds", f"{_show(value)} cannot be coerced to Array"))
        return
    for position, entry in enumerate(value):
        _check_user_id(entry, f"/user/userIds/{position}", problems)


def _check_user_info(value: t.Any, version: int, problems: Problems) -> None:
    """userInfo must carry a name pair; hashed halves exist only from 202609."""
    path = "/user/userInfo"
    if not _is_record(value, path, problems):
        return
    hashed_allowed = version >= HASHED_NAMES_SINCE
    allowed = USER_INFO_FIELDS + (HASHED_NAME_FIELDS if hashed_allowed else ())
    _fields(value, path, allowed, (), problems)
    for name in allowed:
        if name in value:
            _is_string(value[name], f"{path}/{name}", problems)
    for plain, hashed in zip(("firstName", "lastName"), HASHED_NAME_FIELDS, strict=False):
        if plain not in value and not (hashed_allowed and hashed in value):
            problems.append((f"{path}/{plain}", REQUIRED))
        hashed_value = value.get(hashed)
        if hashed_allowed and isinstance(hashed_value, str) and not HEX64.fullmatch(hashed_value):
            problems.append((f"{path}/{hashed}", HASH_REASON))


def _check_external_ids(value: t.Any, problems: Problems) -> None:
    """externalIds is a list of strings."""
    if not isinstance(value, list):
        problems.append(("/user/externalIds", f"{_show(value)} cannot be coerced to Array"))
        return
    for position, item in enumerate(value):
        _is_string(item, f"/user/externalIds/{position}", problems)


def _check_user(value: t.Any, version: int, problems: Problems) -> None:
    """The user block: userIds always present, the other identifiers optional."""
    if not _is_record(value, "/user", problems):
        return
    _fields(value, "/user", USER_FIELDS, ("userIds",), problems)
    if "userIds" in value:
        _check_user_ids(value["userIds"], problems)
    if "userInfo" in value:
        _check_user_info(value["userInfo"], version, problems)
    if "externalIds" in value:
        _check_external_ids(value["externalIds"], problems)
    if "lead" in value and _is_string(value["lead"], "/user/lead", problems):
        if not LEAD_URN.fullmatch(value["lead"]):
            problems.append(("/user/lead", BAD_URN))


def schema_problems(event: t.Any, version: int) -> Problems:
    """Every schema problem of one event, in field order (LinkedIn reports them all at once)."""
    problems: Problems = []
    if not _is_record(event, "", problems):
        return problems
    _fields(event, "", EVENT_FIELDS, EVENT_REQUIRED, problems)
    if "conversion" in event:
        _check_conversion(event["conversion"], problems)
    if "conversionHappenedAt" in event:
        _check_happened_at(event["conversionHappenedAt"], problems)
    if "conversionValue" in event:
        _check_value(event["conversionValue"], problems)
    if "eventId" in event:
        _is_string(event["eventId"], "/eventId", problems)
    if "user" in event:
        _check_user(event["user"], version, problems)
    return problems


def _has_identifier(user: dict[str, t.Any]) -> bool:
    """At least one non-empty identifier of any of the accepted kinds."""
    if any(entry.get("idValue") for entry in user.get("userIds", [])):
        return True
    info = user.get("userInfo") or {}
    first = info.get("firstName") or info.get("hashedFirstName")
    last = info.get("lastName") or info.get("hashedLastName")
    if first and last:
        return True
    if any(user.get("externalIds") or ()):
        return True
    return bool(user.get("lead"))


def _rule_id(event: dict[str, t.Any]) -> int:
    """The numeric rule id of a schema-valid event."""
    return int(event["conversion"].rsplit(":", 1)[1])


def _indices_sentence(message: str, indices: list[int]) -> str:
    """LinkedIn's business-error sentence with the 0-based indices of the offending events."""
    return f"{message}, indices [{', '.join(str(i) for i in indices)}] (0-indexed)."


def business_problem(world: World, events: list[dict[str, t.Any]]) -> Response | None:
    """403 for an unknown rule, else one 400 naming every failing index per rule violated."""
    now = world.now_ms()
    failing: dict[str, list[int]] = {TIME_MESSAGE: [], METHOD_MESSAGE: [], DISABLED_MESSAGE: [],
                                     IDENTITY_MESSAGE: []}
    for index, event in enumerate(events):
        rule = world.rules.get(_rule_id(event))
        if rule is None:
            return error(403, "No ad accounts found")
        if not now - WINDOW_MS <= event["conversionHappenedAt"] <= now:
            failing[TIME_MESSAGE].append(index)
        if rule.get("conversionMethod") != "CONVERSIONS_API":
            failing[METHOD_MESSAGE].append(index)
        if not rule.get("enabled", False):
            failing[DISABLED_MESSAGE].append(index)
        if not _has_identifier(event["user"]):
            failing[IDENTITY_MESSAGE].append(index)

    sentences = [_indices_sentence(msg, indices) for msg, indices in failing.items() if indices]
    if sentences:
        return error(400, "\n".join(sentences))
    return None


def _version(request: Request) -> int:
    """The YYYYMM part of the (already checked) LinkedIn-Version header."""
    return int(request.headers.get("linkedin-version", "0")[:6] or 0)


def _schema_response(world: World, events: list[t.Any], version: int,
                     batch: bool) -> Response | None:
    """The 422 for all schema problems and scripted element rejections, or None."""
    with world.lock:
        rejections = dict(world.rejected_event_ids)

    lines = []
    for index, event in enumerate(events):
        prefix = f"Index: {index}, " if batch else ""
        lines.extend(f"{prefix}ERROR :: {path} :: {reason}"
                     for path, reason in schema_problems(event, version))
        event_id = event.get("eventId") if isinstance(event, dict) else None
        if isinstance(event_id, str) and event_id in rejections:
            message = rejections[event_id]
            if not message.startswith("ERROR ::"):
                message = f"ERROR :: / :: {message}"
            lines.append(prefix + message)
    if lines:
        return Response(422, {"message": "\n".join(lines), "status": 422})
    return None


def _accept(world: World, events: t.Sequence[tuple[int, dict[str, t.Any]]], version: int) -> None:
    """Record the (index, event) pairs with this request's sequence number; count repeats of
    an eventId."""
    world.event_seq += 1
    received = world.now_ms()
    for index, event in events:
        event_id = event.get("eventId")
        if event_id is not None:
            key = (event_id, event["conversion"])
            if key in world.seen_event_keys:
                world.duplicate_event_ids += 1
            world.seen_event_keys.add(key)
        world.accepted_events.append({
            "seq": world.event_seq, "index": index, "receivedAt": received,
            "version": str(version), "event": copy.deepcopy(event),
        })


def _process(world: World, request: Request, events: list[t.Any], batch: bool) -> Response:
    """Validate all events, then accept all of them or none."""
    version = _version(request)
    problem = _schema_response(world, events, version, batch)
    if problem is not None:
        return problem

    with world.lock:
        problem = business_problem(world, events)
        if problem is not None:
            return problem
        if not batch:
            _accept(world, list(enumerate(events)), version)
            return Response(201, None, {"x-restli-id": str(world.new_id())})
        statuses = [_element_status(world, event) for event in events]
        _accept(world, [(index, event) for index, event in enumerate(events)
                        if statuses[index]["status"] < 400], version)
        return Response(200, {"elements": statuses})


def _element_status(world: World, event: dict[str, t.Any]) -> dict[str, t.Any]:
    """201, or the scripted failure of this event inside a 200 batch answer."""
    failure = world.failed_event_ids.get(event.get("eventId"))  # type: ignore[arg-type]
    if failure is None:
        return {"status": 201}
    status, message = failure
    return {"status": status, "error": {"status": status, "message": message}}


def _batch_events(body: t.Any) -> list[t.Any] | Response:
    """The elements of a BATCH_CREATE body, or the error for a malformed envelope."""
    if not isinstance(body, dict) or not isinstance(body.get("elements"), list):
        return error(400, 'BATCH_CREATE requires a JSON object with an "elements" array')
    extra = [name for name in body if name != "elements"]
    if extra:
        message = "\n".join(f"ERROR :: /{name} :: {UNRECOGNIZED}" for name in extra)
        return Response(422, {"message": message, "status": 422})
    count = len(body["elements"])
    if not 1 <= count <= MAX_BATCH:
        return error(400, f"A BATCH_CREATE request must contain between 1 and {MAX_BATCH} "
                          f"elements, but it contained {count}.")
    return body["elements"]


@route("POST", r"/rest/conversionEvents/?")
def create_conversion_events(world: World, request: Request) -> Response:
    """Single create (the body is the event) or BATCH_CREATE (`{"elements": [...]}`)."""
    method = request.headers.get("x-restli-method", "").upper()
    if method not in ("", "CREATE", "BATCH_CREATE"):
        return error(400, "Unsupported X-RestLi-Method for conversionEvents; use CREATE or "
                          "BATCH_CREATE")
    if not request.body.strip():
        return error(400, "A request body is required")
    body = request.json()

    if method == "BATCH_CREATE":
        events = _batch_events(body)
        if isinstance(events, Response):
            return events
        return _process(world, request, events, batch=True)
    return _process(world, request, [body], batch=False)
