# ruff: noqa: RUF001 - LinkedIn rule names use an en dash; these are the exact seeded names.
"""The LinkedIn emulator against its contract: exact statuses, bodies and headers.

These tests talk plain `requests` to a started emulator and never import product code: the
emulator is the oracle the client and end-to-end tests trust, so it is checked on its own.
"""

from __future__ import annotations

import ast
import hashlib
import http.client
import json
import os
import pathlib
import signal
import subprocess
import sys
import threading
import time
import typing as t

import pytest
import requests

from target_linkedin_conversions.emulator import Emulator, default_world, routing, seed

REPO = pathlib.Path(__file__).resolve().parents[1]
EMULATOR_DIR = REPO / "target_linkedin_conversions" / "emulator"

HEADERS = {
    "Authorization": "Bearer test-token",
    "LinkedIn-Version": "202609",
    "X-Restli-Protocol-Version": "2.0.0",
}
BATCH_HEADERS = {**HEADERS, "X-RestLi-Method": "BATCH_CREATE"}
EVENTS_PATH = "/rest/conversionEvents"
EMAIL_HASH = hashlib.sha256(b"ada@example.com").hexdigest()
DAY_MS = 86_400_000
PINNED_NOW_S = 1_790_000_000.0  # 2026-09-21T13:33:20Z
PINNED_NOW_MS = int(PINNED_NOW_S * 1000)


def now_ms() -> int:
    """Wall-clock epoch milliseconds (the fixture's emulator uses the real clock)."""
    return int(time.time() * 1000)


def make_event(event_id: str = "evt-1", rule: int = 104001, **overrides: t.Any) -> dict[str, t.Any]:
    """A valid event one hour old; OVERRIDES replace top-level members (None removes one)."""
    event: dict[str, t.Any] = {
        "conversion": f"urn:lla:llaPartnerConversion:{rule}",
        "conversionHappenedAt": now_ms() - 3_600_000,
        "conversionValue": {"currencyCode": "EUR", "amount": "129.90"},
        "eventId": event_id,
        "user": {"userIds": [{"idType": "SHA256_EMAIL", "idValue": EMAIL_HASH}]},
    }
    for name, value in overrides.items():
        if value is None:
            event.pop(name, None)
        else:
            event[name] = value
    return event


def post_single(emu: Emulator, body: t.Any, headers: dict[str, str] | None = None,
                path: str = EVENTS_PATH, **kwargs: t.Any) -> requests.Response:
    """POST one event in the single-create form."""
    kwargs.setdefault("timeout", 10)
    return requests.post(emu.url + path, json=body, headers=headers or HEADERS, **kwargs)


def post_batch(emu: Emulator, elements: list[t.Any], **kwargs: t.Any) -> requests.Response:
    """POST events in the BATCH_CREATE form."""
    return requests.post(emu.url + EVENTS_PATH, json={"elements": elements},
                         headers=BATCH_HEADERS, timeout=10, **kwargs)


def without(headers: dict[str, str], name: str) -> dict[str, str]:
    """HEADERS minus NAME."""
    return {key: value for key, value in headers.items() if key != name}


# -- gateway checks ------------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer  "])
def test_missing_token_is_401_empty_access_token(linkedin_emulator: Emulator,
                                                 authorization: str | None) -> None:
    headers = without(HEADERS, "Authorization")
    if authorization is not None:
        headers["Authorization"] = authorization
    response = post_single(linkedin_emulator, make_event(), headers)
    assert response.status_code == 401
    assert response.json() == {"status": 401, "serviceErrorCode": 65604,
                               "code": "EMPTY_ACCESS_TOKEN", "message": "Empty oauth2 access token"}


@pytest.mark.parametrize("authorization", ["Bearer nope", "Basic test-token", "test-token"])
def test_unknown_token_is_401_invalid_access_token(linkedin_emulator: Emulator,
                                                   authorization: str) -> None:
    response = post_single(linkedin_emulator, make_event(),
                           {**HEADERS, "Authorization": authorization})
    assert response.status_code == 401
    assert response.json() == {"status": 401, "serviceErrorCode": 65600,
                               "code": "INVALID_ACCESS_TOKEN", "message": "Invalid access token"}


def test_token_is_checked_before_version(linkedin_emulator: Emulator) -> None:
    headers = {"Authorization": "Bearer nope"}
    assert post_single(linkedin_emulator, make_event(), headers).status_code == 401


def test_missing_version_is_400_version_missing_with_gateway_header(
        linkedin_emulator: Emulator) -> None:
    response = post_single(linkedin_emulator, make_event(), without(HEADERS, "LinkedIn-Version"))
    assert response.status_code == 400
    assert response.json()["code"] == "VERSION_MISSING"
    assert response.json()["status"] == 400
    assert response.headers["X-Restli-Gateway-Error"] == "true"


@pytest.mark.parametrize("version", ["2026-09", "2026090", "202609.1", "latest", "20260901"])
def test_malformed_version_is_400(linkedin_emulator: Emulator, version: str) -> None:
    response = post_single(linkedin_emulator, make_event(),
                           {**HEADERS, "LinkedIn-Version": version})
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_VERSION"


@pytest.mark.parametrize(("version", "echo"), [
    ("202511", "20251101"), ("202512", "20251201"), ("202401", "20240101"),
    ("202409.02", "20240901"), ("202612", "20261201"),
])
def test_inactive_version_is_426_nonexistent_version(linkedin_emulator: Emulator, version: str,
                                                     echo: str) -> None:
    response = post_single(linkedin_emulator, make_event(),
                           {**HEADERS, "LinkedIn-Version": version})
    assert response.status_code == 426
    assert response.json() == {"status": 426, "code": "NONEXISTENT_VERSION",
                               "message": f"Requested version {echo} is not active"}


@pytest.mark.parametrize("version", [f"2026{month:02d}" for month in range(1, 12)] + ["202609.03"])
def test_active_versions_accept_events(linkedin_emulator: Emulator, version: str) -> None:
    response = post_single(linkedin_emulator, make_event(),
                           {**HEADERS, "LinkedIn-Version": version})
    assert response.status_code == 201


def test_version_header_name_is_case_insensitive(linkedin_emulator: Emulator) -> None:
    headers = {**without(HEADERS, "LinkedIn-Version"), "linkedin-version": "202609"}
    assert post_single(linkedin_emulator, make_event(), headers).status_code == 201


@pytest.mark.parametrize("protocol", [None, "1.0.0"])
def test_restli_protocol_2_is_required(linkedin_emulator: Emulator, protocol: str | None) -> None:
    headers = without(HEADERS, "X-Restli-Protocol-Version")
    if protocol:
        headers["X-Restli-Protocol-Version"] = protocol
    response = post_single(linkedin_emulator, make_event(), headers)
    assert response.status_code == 400
    assert "X-Restli-Protocol-Version: 2.0.0" in response.json()["message"]


def test_unknown_rest_path_is_404(linkedin_emulator: Emulator) -> None:
    response = requests.get(linkedin_emulator.url + "/rest/noSuchThing", headers=HEADERS,
                            timeout=10)
    assert response.status_code == 404
    assert response.json() == {"status": 404, "code": "RESOURCE_NOT_FOUND",
                               "message": "No virtual resource found"}


def test_known_path_with_wrong_method_is_405(linkedin_emulator: Emulator) -> None:
    response = requests.get(linkedin_emulator.url + EVENTS_PATH, headers=HEADERS, timeout=10)
    assert response.status_code == 405


def test_write_with_non_json_content_type_is_415(linkedin_emulator: Emulator) -> None:
    response = requests.post(linkedin_emulator.url + EVENTS_PATH, data="conversion=1",
                             headers={**HEADERS, "Content-Type": "text/plain"}, timeout=10)
    assert response.status_code == 415
    assert response.json() == {"status": 415, "message": "Content-Type must be application/json"}


def test_write_with_broken_json_is_400(linkedin_emulator: Emulator) -> None:
    response = requests.post(linkedin_emulator.url + EVENTS_PATH, data="{not json",
                             headers={**HEADERS, "Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400
    assert response.json()["message"] == "The request body is not valid JSON"


def test_handler_bug_is_a_500_that_says_so(linkedin_emulator: Emulator) -> None:
    def broken(world: t.Any, request: t.Any) -> routing.Response:
        raise KeyError("boom")

    routing.route("GET", r"/rest/brokenForTest")(broken)
    try:
        response = requests.get(linkedin_emulator.url + "/rest/brokenForTest", headers=HEADERS,
                                timeout=10)
    finally:
        routing.ROUTES[:] = [item for item in routing.ROUTES if item.handler is not broken]
    assert response.status_code == 500
    assert response.json()["message"].startswith("Emulator bug: KeyError")


def test_query_tunnelling_turns_a_form_post_into_the_named_method(
        linkedin_emulator: Emulator) -> None:
    def echo(world: t.Any, request: t.Any) -> routing.Response:
        return routing.Response(200, {"method": request.method, "query": request.query})

    routing.route("GET", r"/rest/echoForTest")(echo)
    try:
        response = requests.post(
            linkedin_emulator.url + "/rest/echoForTest?q=search",
            data="ids=List(1,2)", timeout=10,
            headers={**HEADERS, "X-HTTP-Method-Override": "GET",
                     "Content-Type": "application/x-www-form-urlencoded"},
        )
    finally:
        routing.ROUTES[:] = [item for item in routing.ROUTES if item.handler is not echo]
    assert response.json() == {"method": "GET", "query": {"q": "search", "ids": "List(1,2)"}}


# -- success forms -------------------------------------------------------------------------------


def test_single_event_is_201_with_empty_body_and_restli_id(linkedin_emulator: Emulator) -> None:
    event = make_event()
    response = post_single(linkedin_emulator, event)

    assert response.status_code == 201
    assert response.content == b""
    assert response.headers["Content-Length"] == "0"
    assert response.headers["x-restli-id"].isdigit()
    assert linkedin_emulator.accepted_events == [event]
    record = linkedin_emulator.accepted_records[0]
    assert (record["seq"], record["index"], record["version"]) == (1, 0, "202609")


def test_trailing_slash_path_is_accepted(linkedin_emulator: Emulator) -> None:
    response = post_single(linkedin_emulator, make_event(), path=EVENTS_PATH + "/")
    assert response.status_code == 201


def test_batch_is_200_with_one_status_per_element(linkedin_emulator: Emulator) -> None:
    events = [make_event(f"evt-{n}") for n in range(3)]
    response = post_batch(linkedin_emulator, events)

    assert response.status_code == 200
    assert response.json() == {"elements": [{"status": 201}] * 3}
    assert linkedin_emulator.accepted_events == events
    assert [r["seq"] for r in linkedin_emulator.accepted_records] == [1, 1, 1]
    assert post_batch(linkedin_emulator, [make_event("evt-9")]).status_code == 200
    assert linkedin_emulator.accepted_records[-1]["seq"] == 2


def test_accepted_events_are_copies(linkedin_emulator: Emulator) -> None:
    post_single(linkedin_emulator, make_event())
    linkedin_emulator.accepted_events[0]["eventId"] = "changed"
    assert linkedin_emulator.accepted_events[0]["eventId"] == "evt-1"


def test_batch_of_5000_is_accepted(linkedin_emulator: Emulator) -> None:
    response = post_batch(linkedin_emulator, [make_event(f"evt-{n}") for n in range(5000)])
    assert response.status_code == 200
    assert len(response.json()["elements"]) == 5000
    assert len(linkedin_emulator.accepted_events) == 5000


@pytest.mark.parametrize("count", [0, 5001])
def test_batch_outside_1_to_5000_is_400(linkedin_emulator: Emulator, count: int) -> None:
    response = post_batch(linkedin_emulator, [make_event(f"evt-{n}") for n in range(count)])
    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "message": "A BATCH_CREATE request must contain between 1 and 5000 elements, but it "
                   f"contained {count}.",
    }
    assert linkedin_emulator.accepted_events == []


def test_batch_body_without_elements_is_400(linkedin_emulator: Emulator) -> None:
    response = requests.post(linkedin_emulator.url + EVENTS_PATH, json=[make_event()],
                             headers=BATCH_HEADERS, timeout=10)
    assert response.status_code == 400


def test_batch_body_sent_without_batch_header_is_a_schema_error(
        linkedin_emulator: Emulator) -> None:
    response = post_single(linkedin_emulator, {"elements": [make_event()]})
    assert response.status_code == 422
    assert response.json()["message"].splitlines()[0] == (
        "ERROR :: /elements :: unrecognized field found but not allowed")


def test_keep_alive_serves_several_requests_on_one_connection(
        linkedin_emulator: Emulator) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", linkedin_emulator.port, timeout=5)
    try:
        for n in range(3):
            body = json.dumps(make_event(f"evt-{n}"))
            connection.request("POST", EVENTS_PATH, body=body,
                               headers={**HEADERS, "Content-Type": "application/json"})
            response = connection.getresponse()
            assert response.status == 201
            assert response.read() == b""
            response = None
        connection.request("GET", "/rest/noSuchThing", headers=HEADERS)
        answer = connection.getresponse()
        assert answer.status == 404
        assert json.loads(answer.read())["status"] == 404
    finally:
        connection.close()
    assert len(linkedin_emulator.accepted_events) == 3


def test_concurrent_batches_are_all_recorded(linkedin_emulator: Emulator) -> None:
    def send(worker: int) -> None:
        with requests.Session() as session:
            for n in range(5):
                events = [make_event(f"w{worker}-{n}-{m}") for m in range(10)]
                response = session.post(linkedin_emulator.url + EVENTS_PATH,
                                        json={"elements": events}, headers=BATCH_HEADERS,
                                        timeout=10)
                assert response.status_code == 200

    threads = [threading.Thread(target=send, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    records = linkedin_emulator.accepted_records
    assert len(records) == 400
    assert sorted({r["seq"] for r in records}) == list(range(1, 41))
    assert linkedin_emulator.duplicate_event_ids == 0


def test_repeated_event_ids_are_counted_as_duplicates(linkedin_emulator: Emulator) -> None:
    events = [make_event("evt-1"), make_event("evt-2")]
    post_batch(linkedin_emulator, events)
    assert linkedin_emulator.duplicate_event_ids == 0

    post_batch(linkedin_emulator, events)
    post_single(linkedin_emulator, make_event("evt-1", rule=104002))  # other rule: not a repeat
    assert linkedin_emulator.duplicate_event_ids == 2
    assert len(linkedin_emulator.accepted_events) == 5


# -- 422 schema errors ---------------------------------------------------------------------------


def _user(**members: t.Any) -> dict[str, t.Any]:
    """A user block with the standard email id, plus MEMBERS."""
    return {"userIds": [{"idType": "SHA256_EMAIL", "idValue": EMAIL_HASH}], **members}


SCHEMA_CASES: list[tuple[str, dict[str, t.Any], list[str]]] = [
    ("unknown top-level field", {"quatschFeld": 1},
     ["/quatschFeld :: unrecognized field found but not allowed"]),
    ("unknown nested field", {"user": _user(userInfo={"firstName": "A", "lastName": "L",
                                                      "city": "X"})},
     ["/user/userInfo/city :: unrecognized field found but not allowed"]),
    ("unknown field in an id", {"user": {"userIds": [{"idType": "SHA256_EMAIL",
                                                      "idValue": EMAIL_HASH, "x": 1}]}},
     ["/user/userIds/0/x :: unrecognized field found but not allowed"]),
    ("missing conversion", {"conversion": None},
     ["/conversion :: field is required but not found"]),
    ("missing conversionHappenedAt", {"conversionHappenedAt": None},
     ["/conversionHappenedAt :: field is required but not found"]),
    ("missing user", {"user": None}, ["/user :: field is required but not found"]),
    ("missing userIds", {"user": {"userInfo": {"firstName": "Ada", "lastName": "Lovelace"}}},
     ["/user/userIds :: field is required but not found"]),
    ("time as string", {"conversionHappenedAt": "1758200000000"},
     ['/conversionHappenedAt :: "1758200000000" cannot be coerced to Long']),
    ("time as float", {"conversionHappenedAt": 1758200000000.5},
     ["/conversionHappenedAt :: 1758200000000.5 cannot be coerced to Long"]),
    ("numeric amount", {"conversionValue": {"currencyCode": "EUR", "amount": 19.9}},
     ["/conversionValue/amount :: 19.9 cannot be coerced to String"]),
    ("amount not a decimal", {"conversionValue": {"currencyCode": "EUR", "amount": "19,90"}},
     ['/conversionValue/amount :: "19,90" is not a valid decimal amount']),
    ("value without currency", {"conversionValue": {"amount": "1.00"}},
     ["/conversionValue/currencyCode :: field is required but not found"]),
    ("value without amount", {"conversionValue": {"currencyCode": "EUR"}},
     ["/conversionValue/amount :: field is required but not found"]),
    ("unknown idType", {"user": {"userIds": [{"idType": "AXCIOM_ID", "idValue": "x"}]}},
     ['/user/userIds/0/idType :: "AXCIOM_ID" is not an enum symbol']),
    ("upper-case email hash", {"user": {"userIds": [{"idType": "SHA256_EMAIL",
                                                     "idValue": EMAIL_HASH.upper()}]}},
     ["/user/userIds/0/idValue :: SHA256_EMAIL value must be 64 lowercase hexadecimal "
      "characters"]),
    ("short IP hash", {"user": {"userIds": [{"idType": "SHA256_IP_ADDRESS", "idValue": "ab12"}]}},
     ["/user/userIds/0/idValue :: SHA256_IP_ADDRESS value must be 64 lowercase hexadecimal "
      "characters"]),
    ("empty idValue", {"user": {"userIds": [{"idType": "ACXIOM_ID", "idValue": ""}]}},
     ["/user/userIds/0/idValue :: value must not be an empty string"]),
    ("wrong conversion prefix", {"conversion": "urn:li:llaPartnerConversion:104001"},
     ["/conversion :: Invalid Urn format. Invalid prefix."]),
    ("bare rule id", {"conversion": "104001"},
     ["/conversion :: Invalid Urn format. Invalid prefix."]),
    ("wrong lead prefix", {"user": _user(lead="urn:li:lead:1")},
     ["/user/lead :: Invalid Urn format. Invalid prefix."]),
    ("userInfo without lastName", {"user": _user(userInfo={"firstName": "Ada"})},
     ["/user/userInfo/lastName :: field is required but not found"]),
    ("userInfo without names", {"user": _user(userInfo={"countryCode": "GB"})},
     ["/user/userInfo/firstName :: field is required but not found",
      "/user/userInfo/lastName :: field is required but not found"]),
    ("externalIds not a list", {"user": _user(externalIds="crm-1")},
     ['/user/externalIds :: "crm-1" cannot be coerced to Array']),
    ("externalIds with a number", {"user": _user(externalIds=["crm-1", 7])},
     ["/user/externalIds/1 :: 7 cannot be coerced to String"]),
    ("eventId not a string", {"eventId": 42}, ["/eventId :: 42 cannot be coerced to String"]),
]


@pytest.mark.parametrize(("overrides", "errors"), [case[1:] for case in SCHEMA_CASES],
                         ids=[case[0] for case in SCHEMA_CASES])
def test_schema_errors_single_form(linkedin_emulator: Emulator, overrides: dict[str, t.Any],
                                   errors: list[str]) -> None:
    response = post_single(linkedin_emulator, make_event(**overrides))
    assert response.status_code == 422
    assert response.json() == {"message": "\n".join(f"ERROR :: {e}" for e in errors),
                               "status": 422}
    assert linkedin_emulator.accepted_events == []


@pytest.mark.parametrize(("overrides", "errors"), [case[1:] for case in SCHEMA_CASES],
                         ids=[case[0] for case in SCHEMA_CASES])
def test_schema_errors_batch_form_name_the_index(linkedin_emulator: Emulator,
                                                 overrides: dict[str, t.Any],
                                                 errors: list[str]) -> None:
    events = [make_event("ok-0"), make_event("ok-1"), make_event("bad", **overrides)]
    response = post_batch(linkedin_emulator, events)
    assert response.status_code == 422
    assert response.json() == {"message": "\n".join(f"Index: 2, ERROR :: {e}" for e in errors),
                               "status": 422}
    assert linkedin_emulator.accepted_events == []


def test_all_schema_errors_of_a_batch_are_reported_in_order(linkedin_emulator: Emulator) -> None:
    events = [make_event("a", quatschFeld=1), make_event("b"),
              make_event("c", conversionValue={"currencyCode": "EUR", "amount": 19.9},
                         eventId=5)]
    response = post_batch(linkedin_emulator, events)
    assert response.json()["message"].splitlines() == [
        "Index: 0, ERROR :: /quatschFeld :: unrecognized field found but not allowed",
        "Index: 2, ERROR :: /conversionValue/amount :: 19.9 cannot be coerced to String",
        "Index: 2, ERROR :: /eventId :: 5 cannot be coerced to String",
    ]


def test_hashed_names_are_unknown_before_202609(linkedin_emulator: Emulator) -> None:
    name_hash = hashlib.sha256(b"ada").hexdigest()
    event = make_event(user=_user(userInfo={"hashedFirstName": name_hash, "lastName": "L"}))
    response = post_single(linkedin_emulator, event, {**HEADERS, "LinkedIn-Version": "202608"})
    assert response.status_code == 422
    assert response.json()["message"].splitlines() == [
        "ERROR :: /user/userInfo/hashedFirstName :: unrecognized field found but not allowed",
        "ERROR :: /user/userInfo/firstName :: field is required but not found",
    ]


def test_hashed_names_pair_with_plain_names_from_202609(linkedin_emulator: Emulator) -> None:
    name_hash = hashlib.sha256(b"ada").hexdigest()
    event = make_event(user={"userIds": [],
                             "userInfo": {"hashedFirstName": name_hash, "lastName": "L"}})
    assert post_single(linkedin_emulator, event).status_code == 201


def test_hashed_name_must_be_a_hash(linkedin_emulator: Emulator) -> None:
    event = make_event(user=_user(userInfo={"hashedFirstName": "Ada", "lastName": "L"}))
    response = post_single(linkedin_emulator, event)
    assert response.json()["message"] == (
        "ERROR :: /user/userInfo/hashedFirstName :: value must be 64 lowercase hexadecimal "
        "characters")


# -- 400 / 403 business errors -------------------------------------------------------------------


def test_time_outside_90_days_lists_every_bad_index(linkedin_emulator: Emulator) -> None:
    events = [make_event("a"), make_event("old", conversionHappenedAt=now_ms() - 91 * DAY_MS),
              make_event("b"), make_event("future", conversionHappenedAt=now_ms() + 60_000)]
    response = post_batch(linkedin_emulator, events)
    assert response.status_code == 400
    assert response.json() == {
        "message": "Conversion time should be within 90 days and not exceed current time, "
                   "indices [1, 3] (0-indexed).",
        "status": 400,
    }
    assert linkedin_emulator.accepted_events == []


def test_time_window_edges_against_a_pinned_clock() -> None:
    with Emulator(now=lambda: PINNED_NOW_S) as emu:
        def status(happened_at: int) -> int:
            return post_single(emu, make_event(conversionHappenedAt=happened_at)).status_code

        assert status(PINNED_NOW_MS) == 201
        assert status(PINNED_NOW_MS - 90 * DAY_MS) == 201
        assert status(PINNED_NOW_MS + 1) == 400
        assert status(PINNED_NOW_MS - 90 * DAY_MS - 1) == 400
        assert post_single(emu, make_event()).json()["message"] == (
            "Conversion time should be within 90 days and not exceed current time, "
            "indices [0] (0-indexed).")  # make_event uses the real clock: in the "future"


def test_clock_can_be_changed_on_a_running_emulator(linkedin_emulator: Emulator) -> None:
    linkedin_emulator.now = lambda: PINNED_NOW_S
    event = make_event(conversionHappenedAt=PINNED_NOW_MS - DAY_MS)
    assert post_single(linkedin_emulator, event).status_code == 201


def test_rule_with_another_method_is_400(linkedin_emulator: Emulator) -> None:
    response = post_batch(linkedin_emulator, [make_event("a"), make_event("b", rule=104020)])
    assert response.status_code == 400
    assert response.json() == {
        "message": "Conversion's method should be CONVERSIONS_API, indices [1] (0-indexed).",
        "status": 400,
    }


def test_disabled_rule_is_400(linkedin_emulator: Emulator) -> None:
    response = post_single(linkedin_emulator, make_event(rule=104010))
    assert response.status_code == 400
    assert response.json() == {
        "message": "Conversion event is associated to a conversion that's marked as deleted. "
                   "Conversion enabled should be true, indices [0] (0-indexed).",
        "status": 400,
    }


def test_event_without_any_identifier_is_400(linkedin_emulator: Emulator) -> None:
    events = [make_event("a"), make_event("b", user={"userIds": []}),
              make_event("c", user={"userIds": [], "externalIds": []})]
    response = post_batch(linkedin_emulator, events)
    assert response.status_code == 400
    message = response.json()["message"]
    assert message.startswith("The request must contain one of these fields: ")
    assert message.endswith(", indices [1, 2] (0-indexed).")


def test_several_business_errors_are_reported_together(linkedin_emulator: Emulator) -> None:
    events = [make_event("a", rule=104010), make_event("b", rule=104020,
                                                       conversionHappenedAt=1)]
    lines = post_batch(linkedin_emulator, events).json()["message"].splitlines()
    assert lines == [
        "Conversion time should be within 90 days and not exceed current time, "
        "indices [1] (0-indexed).",
        "Conversion's method should be CONVERSIONS_API, indices [1] (0-indexed).",
        "Conversion event is associated to a conversion that's marked as deleted. "
        "Conversion enabled should be true, indices [0] (0-indexed).",
    ]


@pytest.mark.parametrize("user", [
    {"userIds": [], "userInfo": {"firstName": "Ada", "lastName": "Lovelace"}},
    {"userIds": [], "externalIds": ["crm-1"]},
    {"userIds": [], "lead": "urn:li:leadGenFormResponse:abc-123"},
    {"userIds": [{"idType": "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID", "idValue": "a-b-c-d"}]},
    {"userIds": [{"idType": "PLAINTEXT_IP_ADDRESS", "idValue": "192.0.2.1"}]},
    {"userIds": [{"idType": "GOOGLE_AID", "idValue": "38400000-8cf0-11bd-b23e-10b96e40000d"}]},
    {"userIds": [{"idType": "SHA256_IP_ADDRESS",
                  "idValue": hashlib.sha256(b"192.0.2.1").hexdigest()}]},
], ids=["userInfo", "externalIds", "lead", "li_fat_id", "ip", "gaid", "ip-hash"])
def test_each_kind_of_identifier_is_enough(linkedin_emulator: Emulator,
                                           user: dict[str, t.Any]) -> None:
    assert post_single(linkedin_emulator, make_event(user=user)).status_code == 201


def test_unknown_rule_is_403_without_index(linkedin_emulator: Emulator) -> None:
    response = post_batch(linkedin_emulator, [make_event("a"), make_event("b", rule=999999)])
    assert response.status_code == 403
    assert response.json() == {"message": "No ad accounts found", "status": 403}


def test_rule_of_the_partner_account_is_accepted(linkedin_emulator: Emulator) -> None:
    assert post_single(linkedin_emulator, make_event(rule=204001)).status_code == 201


# -- faults --------------------------------------------------------------------------------------


def test_fault_script_plays_in_order_then_passes(linkedin_emulator: Emulator) -> None:
    linkedin_emulator.faults.script(EVENTS_PATH, [
        {"status": 429, "retry_after": 2}, {"status": 429}, {"status": 429, "daily": True},
        {"status": 503}, {"status": 500}, {"status": 502}, {"status": 504}, "pass",
    ], method="POST")
    answers = [post_single(linkedin_emulator, make_event(f"evt-{n}")) for n in range(9)]

    assert [a.status_code for a in answers] == [429, 429, 429, 503, 500, 502, 504, 201, 201]
    assert answers[0].headers["Retry-After"] == "2"
    assert "Retry-After" not in answers[1].headers
    assert answers[1].json() == {"serviceErrorCode": 101, "status": 429, "message":
                                 "Resource level throttle limit for calls to this resource is "
                                 "reached."}
    assert "APPLICATION_AND_MEMBER DAY limit" in answers[2].json()["message"]
    assert answers[3].json() == {"message": "Service Unavailable", "status": 503}
    assert [e["eventId"] for e in linkedin_emulator.accepted_events] == ["evt-7", "evt-8"]
    assert [r.status for r in linkedin_emulator.requests] == [429, 429, 429, 503, 500, 502, 504,
                                                              201, 201]
    assert linkedin_emulator.faults.pending() == 0


def test_fault_script_is_per_method_and_path(linkedin_emulator: Emulator) -> None:
    linkedin_emulator.faults.script(EVENTS_PATH, [{"status": 503}], method="GET")
    assert post_single(linkedin_emulator, make_event()).status_code == 201
    linkedin_emulator.faults.script("/rest/other", [{"status": 503}])
    assert post_single(linkedin_emulator, make_event("e2")).status_code == 201
    assert linkedin_emulator.faults.pending() == 2


def test_fault_script_matches_the_trailing_slash_form(linkedin_emulator: Emulator) -> None:
    linkedin_emulator.faults.script(EVENTS_PATH, [{"status": 502}])
    assert post_single(linkedin_emulator, make_event(), path=EVENTS_PATH + "/").status_code == 502


def test_scripted_revoked_token(linkedin_emulator: Emulator) -> None:
    linkedin_emulator.faults.script(EVENTS_PATH, [{"status": 401, "code": "REVOKED_ACCESS_TOKEN"}])
    response = post_single(linkedin_emulator, make_event())
    assert response.status_code == 401
    assert response.json() == {
        "status": 401, "serviceErrorCode": 65601, "code": "REVOKED_ACCESS_TOKEN",
        "message": "The token used in the request has been revoked by the user",
    }


def test_delay_makes_a_short_client_timeout_fire(linkedin_emulator: Emulator) -> None:
    linkedin_emulator.faults.script(EVENTS_PATH, [{"delay": 0.6}])
    with pytest.raises(requests.exceptions.ReadTimeout):
        post_single(linkedin_emulator, make_event(), timeout=0.15)

    assert len(linkedin_emulator.accepted_events) == 1  # handled, only the answer was late
    assert linkedin_emulator.requests[0].elapsed >= 0.6
    assert post_single(linkedin_emulator, make_event("evt-2")).status_code == 201


def test_drop_breaks_the_connection_and_accepts_nothing(linkedin_emulator: Emulator) -> None:
    linkedin_emulator.faults.script(EVENTS_PATH, [{"drop": True}])
    with requests.Session() as session:
        with pytest.raises((requests.exceptions.ConnectionError,
                            requests.exceptions.ChunkedEncodingError)):
            session.post(linkedin_emulator.url + EVENTS_PATH, json=make_event(), headers=HEADERS,
                         timeout=5)
        retry = session.post(linkedin_emulator.url + EVENTS_PATH, json=make_event(),
                             headers=HEADERS, timeout=5)

    assert retry.status_code == 201
    assert [r.status for r in linkedin_emulator.requests] == [0, 201]
    assert len(linkedin_emulator.accepted_events) == 1


def test_drop_after_handling_accepts_then_breaks(linkedin_emulator: Emulator) -> None:
    linkedin_emulator.faults.script(EVENTS_PATH, [{"drop": "after"}])
    with pytest.raises((requests.exceptions.ConnectionError,
                        requests.exceptions.ChunkedEncodingError)):
        post_single(linkedin_emulator, make_event())
    post_single(linkedin_emulator, make_event())
    assert len(linkedin_emulator.accepted_events) == 2
    assert linkedin_emulator.duplicate_event_ids == 1


@pytest.mark.parametrize("step", ["fail", {"status": 429, "retry": 1}, {"status": 99},
                                  {"drop": "sometimes"}])
def test_invalid_fault_steps_are_refused(linkedin_emulator: Emulator, step: t.Any) -> None:
    with pytest.raises(ValueError):
        linkedin_emulator.faults.script(EVENTS_PATH, [step])


def test_expire_token_after_n_authenticated_calls(linkedin_emulator: Emulator) -> None:
    linkedin_emulator.faults.expire_token_after(calls=2)
    statuses = [post_single(linkedin_emulator, make_event(f"e{n}")).status_code for n in range(2)]
    expired = post_single(linkedin_emulator, make_event("e3"))

    assert statuses == [201, 201]
    assert expired.status_code == 401
    assert expired.json() == {"status": 401, "serviceErrorCode": 65600,
                              "code": "EXPIRED_ACCESS_TOKEN",
                              "message": "The token used in the request has expired"}

    token = _refresh(linkedin_emulator).json()["access_token"]
    headers = {**HEADERS, "Authorization": f"Bearer {token}"}
    assert post_single(linkedin_emulator, make_event("e3"), headers).status_code == 201


def test_rejected_elements_fail_at_their_index_on_every_send(linkedin_emulator: Emulator) -> None:
    message = "ERROR :: /user/userIds/0/idValue :: bad value"
    linkedin_emulator.faults.reject_elements({"evt-7": message})
    events = [make_event(f"evt-{n}") for n in range(4, 9)]  # evt-7 at index 3

    first = post_batch(linkedin_emulator, events)
    assert first.status_code == 422
    assert first.json() == {"message": f"Index: 3, {message}", "status": 422}

    moved = post_batch(linkedin_emulator, [events[3], events[0]])
    assert moved.json()["message"] == f"Index: 0, {message}"

    single = post_single(linkedin_emulator, events[3])
    assert single.json() == {"message": message, "status": 422}

    rest = post_batch(linkedin_emulator, [e for e in events if e["eventId"] != "evt-7"])
    assert rest.status_code == 200
    assert [e["eventId"] for e in linkedin_emulator.accepted_events] == [
        "evt-4", "evt-5", "evt-6", "evt-8"]


def test_failed_elements_fail_alone_inside_a_200(linkedin_emulator: Emulator) -> None:
    linkedin_emulator.faults.fail_elements({"evt-5": "Member cannot be matched"}, status=422)
    events = [make_event(f"evt-{n}") for n in range(4, 7)]  # evt-5 at index 1

    response = post_batch(linkedin_emulator, events)
    assert response.status_code == 200
    assert response.json() == {"elements": [
        {"status": 201},
        {"status": 422, "error": {"status": 422, "message": "Member cannot be matched"}},
        {"status": 201}]}
    assert [(r["index"], r["event"]["eventId"]) for r in linkedin_emulator.accepted_records] == [
        (0, "evt-4"), (2, "evt-6")]

    assert post_single(linkedin_emulator, events[1]).status_code == 201  # batches only
    linkedin_emulator.faults.clear()
    assert post_batch(linkedin_emulator, events[1:2]).json() == {"elements": [{"status": 201}]}


def test_fail_elements_through_the_control_api(linkedin_emulator: Emulator) -> None:
    url = linkedin_emulator.url + "/__emulator/faults"
    assert requests.post(url, json={"fail_elements": {"evt-1": "no"}}, timeout=10).json() == {
        "status": "ok", "pendingSteps": 0}
    assert post_batch(linkedin_emulator, [make_event("evt-1")]).json() == {"elements": [
        {"status": 400, "error": {"status": 400, "message": "no"}}]}
    bad = requests.post(url, json={"fail_elements": {"evt-1": "no"}, "status": 200}, timeout=10)
    assert bad.status_code == 400


def test_faults_clear_and_reset(linkedin_emulator: Emulator) -> None:
    linkedin_emulator.faults.script(EVENTS_PATH, [{"status": 503}])
    linkedin_emulator.faults.reject_elements({"evt-1": "nope"})
    linkedin_emulator.faults.clear()
    assert post_single(linkedin_emulator, make_event()).status_code == 201

    linkedin_emulator.faults.expire_token_after(calls=0)
    assert post_single(linkedin_emulator, make_event()).status_code == 401
    linkedin_emulator.reset()
    assert linkedin_emulator.requests == []
    assert linkedin_emulator.accepted_events == []
    assert linkedin_emulator.duplicate_event_ids == 0
    assert post_single(linkedin_emulator, make_event()).status_code == 201
    assert linkedin_emulator.world.rules[104001]["name"] == "CAPI – Demo request"


# -- OAuth ---------------------------------------------------------------------------------------


def _refresh(emu: Emulator, **overrides: str) -> requests.Response:
    """A refresh-token grant with the fixture's credentials, OVERRIDES replacing fields."""
    form = {"grant_type": "refresh_token", "refresh_token": "test-refresh-token",
            "client_id": "test-client", "client_secret": "test-secret", **overrides}
    return requests.post(emu.url + "/oauth/v2/accessToken", data=form, timeout=10)


def test_refresh_issues_a_new_working_token(linkedin_emulator: Emulator) -> None:
    response = _refresh(linkedin_emulator)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"}
    assert (body["expires_in"], body["scope"], body["token_type"]) == (
        5184000, "r_ads,rw_conversions", "Bearer")
    assert body["access_token"] != "test-token"

    headers = {**HEADERS, "Authorization": f"Bearer {body['access_token']}"}
    assert post_single(linkedin_emulator, make_event(), headers).status_code == 201
    recorded = requests.get(linkedin_emulator.url + "/__emulator/requests", timeout=5).json()
    assert recorded["elements"][0]["json"] == {
        "grant_type": "refresh_token", "refresh_token": "***", "client_id": "test-client",
        "client_secret": "***"}
    assert _refresh(linkedin_emulator).json()["access_token"] != body["access_token"]


def test_refresh_with_a_bad_refresh_token_is_invalid_grant(linkedin_emulator: Emulator) -> None:
    response = _refresh(linkedin_emulator, refresh_token="revoked")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "The provided authorization grant or refresh token is invalid, "
                             "expired or revoked",
    }


@pytest.mark.parametrize("field", ["client_id", "client_secret"])
def test_refresh_with_a_bad_client_is_invalid_client(linkedin_emulator: Emulator,
                                                     field: str) -> None:
    response = _refresh(linkedin_emulator, **{field: "wrong"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_refresh_needs_a_form_body_and_the_refresh_grant(linkedin_emulator: Emulator) -> None:
    as_json = requests.post(linkedin_emulator.url + "/oauth/v2/accessToken",
                            json={"grant_type": "refresh_token"}, timeout=10)
    assert as_json.status_code == 400
    assert as_json.json()["error"] == "invalid_request"
    assert _refresh(linkedin_emulator, grant_type="client_credentials").json()["error"] == (
        "unsupported_grant_type")


# -- control API ---------------------------------------------------------------------------------


def test_control_api_health_events_requests(linkedin_emulator: Emulator) -> None:
    url = linkedin_emulator.url + "/__emulator"
    assert requests.get(url + "/health", timeout=5).json() == {"status": "ok"}
    post_single(linkedin_emulator, make_event())
    post_single(linkedin_emulator, make_event())

    events = requests.get(url + "/events", timeout=5).json()
    assert [e["event"]["eventId"] for e in events["elements"]] == ["evt-1", "evt-1"]
    assert events["duplicateEventIds"] == 1

    recorded = requests.get(url + "/requests", timeout=5).json()["elements"]
    assert [(r["method"], r["path"], r["status"]) for r in recorded] == [
        ("POST", EVENTS_PATH, 201)] * 2
    assert recorded[0]["headers"]["authorization"] == "Bearer ***"
    assert recorded[0]["json"]["eventId"] == "evt-1"
    assert len(linkedin_emulator.requests) == 2  # control calls are not recorded


def test_control_api_faults_and_reset(linkedin_emulator: Emulator) -> None:
    url = linkedin_emulator.url + "/__emulator"
    answer = requests.post(url + "/faults", json={"path": EVENTS_PATH, "method": "POST",
                                                  "steps": [{"status": 429, "retry_after": 1}]},
                           timeout=5)
    assert answer.json() == {"status": "ok", "pendingSteps": 1}
    requests.post(url + "/faults", json=[{"reject_elements": {"bad": "ERROR :: / :: no"}},
                                         {"expire_token_after": 5}], timeout=5)

    assert post_single(linkedin_emulator, make_event()).headers["Retry-After"] == "1"
    assert post_single(linkedin_emulator, make_event("bad")).status_code == 422

    assert requests.post(url + "/reset", timeout=5).status_code == 200
    assert linkedin_emulator.requests == []
    assert post_single(linkedin_emulator, make_event("bad")).status_code == 201


@pytest.mark.parametrize("body", [{"steps": []}, {"expire_token_after": "3"}, {"what": 1},
                                  {"path": EVENTS_PATH, "steps": ["fail"]}])
def test_control_api_refuses_bad_faults(linkedin_emulator: Emulator, body: t.Any) -> None:
    response = requests.post(linkedin_emulator.url + "/__emulator/faults", json=body, timeout=5)
    assert response.status_code == 400
    assert response.json()["message"]


# -- seed, isolation, CLI ------------------------------------------------------------------------


def test_default_world_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(seed.seed_ads, "seed_ads", calls.append)
    world = default_world(tokens={"t"}, refresh_tokens={"r"}, client_id="c", client_secret="s")

    assert calls == [world]
    assert world.active_versions == {f"2026{month:02d}" for month in range(1, 12)}
    assert (world.valid_tokens, world.refresh_tokens) == ({"t"}, {"r"})
    assert (world.client_id, world.client_secret) == ("c", "s")
    assert world.ad_accounts[512345678]["name"] == "Acme Analytics"
    expected = {
        104001: ("CAPI – Demo request", "LEAD", True, "CONVERSIONS_API", 512345678),
        104002: ("CAPI – Purchase", "PURCHASE", True, "CONVERSIONS_API", 512345678),
        104003: ("CAPI – Sign-up", "SIGN_UP", True, "CONVERSIONS_API", 512345678),
        104010: ("CAPI – Old webinar", "LEAD", False, "CONVERSIONS_API", 512345678),
        104020: ("Website – Pricing page", "KEY_PAGE_VIEW", True, "INSIGHT_TAG_URL_MATCH_RULES",
                 512345678),
        204001: ("CAPI – Partner lead", "LEAD", True, "CONVERSIONS_API", 598765432),
    }
    for rule_id, (name, rule_type, enabled, method, account) in expected.items():
        rule = world.rules[rule_id]
        assert (rule["id"], rule["name"], rule["type"], rule["enabled"]) == (
            rule_id, name, rule_type, enabled)
        assert (rule["conversionMethod"], rule["account"]) == (
            method, f"urn:li:sponsoredAccount:{account}")
        assert {"attributionType", "postClickAttributionWindowSize", "valueType", "campaigns",
                "viewThroughAttributionWindowSize", "created", "lastModified"} <= set(rule)


def _imported_modules(tree: ast.AST) -> t.Iterator[tuple[str, int]]:
    """(module, relative level) of every import statement."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.module or "", node.level


def test_emulator_imports_nothing_from_the_product() -> None:
    offenders = []
    for path in sorted(EMULATOR_DIR.glob("*.py")):
        for module, level in _imported_modules(ast.parse(path.read_text(encoding="utf-8"))):
            inside = module == "target_linkedin_conversions.emulator" or module.startswith(
                "target_linkedin_conversions.emulator.")
            if level > 1 or (module.startswith("target_linkedin_conversions") and not inside):
                offenders.append(f"{path.name}: {'.' * level}{module}")
    assert offenders == []


def test_cli_prints_the_port_logs_without_secrets_and_stops_on_sigterm(tmp_path: pathlib.Path
                                                                       ) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"faults": [{"path": EVENTS_PATH, "steps": [{"status": 503}]}]}))
    process = subprocess.Popen(
        [sys.executable, "-m", "target_linkedin_conversions.emulator", "--port", "0",
         "--token", "cli-token", "--scenario", str(scenario)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.removeprefix("listening on ")
        headers = {**HEADERS, "Authorization": "Bearer cli-token"}
        assert requests.post(url + EVENTS_PATH, json=make_event(), headers=headers,
                             timeout=5).status_code == 503
        assert requests.post(url + EVENTS_PATH, json=make_event(), headers=headers,
                             timeout=5).status_code == 201
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)

    assert process.returncode == 0
    assert "POST /rest/conversionEvents -> 503" in stderr
    assert "POST /rest/conversionEvents -> 201" in stderr
    assert "cli-token" not in stderr
    assert EMAIL_HASH not in stderr


def test_cli_print_port_prints_only_the_port() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "target_linkedin_conversions.emulator", "--port", "0",
         "--print-port"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        port = int(process.stdout.readline())
        health = requests.get(f"http://127.0.0.1:{port}/__emulator/health", timeout=5)
        assert health.json() == {"status": "ok"}
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 0
