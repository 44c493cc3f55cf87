"""The emulator's conversion rules and campaign associations (/rest/campaignConversions)."""

from __future__ import annotations

import typing as t

import pytest
import requests

from target_linkedin_conversions.emulator import Emulator

HEADERS = {
    "Authorization": "Bearer test-token",
    "LinkedIn-Version": "202609",
    "X-Restli-Protocol-Version": "2.0.0",
}
SAMPLE = 512345678
PARTNER = 598765432
TEST_ACCOUNT = 519876543
FOREIGN = 533333333
SAMPLE_URN = "urn%3Ali%3AsponsoredAccount%3A512345678"
NOW = 1_790_000_000.0
NOW_MS = 1_790_000_000_000
DISABLED = [104010, 105007, 105014, 105021, 105028, 105035, 105042, 105049, 105056, 105063,
            105077, 105084, 105091, 105098, 105105, 105112, 105119]
URL_MATCH = [104020, 105010, 105030, 105050, 105070, 105090, 105110]
JS_EVENT = [105020, 105040, 105060, 105080, 105100, 105120]
NEW_RULE = {
    "name": "CAPI \N{EN DASH} Qualified lead (singer)",
    "account": "urn:li:sponsoredAccount:512345678",
    "conversionMethod": "CONVERSIONS_API",
    "type": "QUALIFIED_LEAD",
    "enabled": True,
    "attributionType": "LAST_TOUCH_BY_CAMPAIGN",
    "postClickAttributionWindowSize": 90,
    "viewThroughAttributionWindowSize": 30,
    "valueType": "DYNAMIC",
}


@pytest.fixture
def emu(linkedin_emulator: Emulator) -> Emulator:
    """The seeded emulator with its clock pinned, so created timestamps are exact."""
    linkedin_emulator.now = lambda: NOW
    return linkedin_emulator


def call(emu: Emulator, method: str, path_and_query: str, body: t.Any = None,
         **headers: str) -> requests.Response:
    """One request with the standard headers; the URL is sent exactly as written."""
    return requests.request(method, emu.url + path_and_query, json=body,
                            headers={**HEADERS, **headers}, timeout=10)


def key(campaign: int, rule: int) -> str:
    """The Rest.li 2.0 compound key of one association, encoded as LinkedIn expects."""
    return (f"(campaign:urn%3Ali%3AsponsoredCampaign%3A{campaign},"
            f"conversion:urn%3Alla%3AllaPartnerConversion%3A{rule})")


def pair(campaign: int, rule: int) -> dict[str, str]:
    """The association entity (the PUT body)."""
    return {"campaign": f"urn:li:sponsoredCampaign:{campaign}",
            "conversion": f"urn:lla:llaPartnerConversion:{rule}"}


def rule_of(emu: Emulator, rule_id: int, account: str = SAMPLE_URN) -> dict[str, t.Any]:
    """GET one rule, asserting 200."""
    response = call(emu, "GET", f"/rest/conversions/{rule_id}?account={account}")
    assert response.status_code == 200, response.text
    return t.cast("dict[str, t.Any]", response.json())


def all_rules(emu: Emulator, count: int = 100) -> tuple[list[dict[str, t.Any]], int]:
    """Every rule of the sample account via start/count; returns rules and pages."""
    rules: list[dict[str, t.Any]] = []
    start, pages = 0, 0
    while True:
        body = call(emu, "GET", f"/rest/conversions?q=account&account={SAMPLE_URN}"
                                f"&start={start}&count={count}").json()
        pages += 1
        rules.extend(body["elements"])
        start += count
        if start >= body["paging"]["total"]:
            return rules, pages


# --- finder and get -------------------------------------------------------------------------

def test_finder_pages_visit_every_rule_once(emu: Emulator) -> None:
    rules, pages = all_rules(emu)
    ids = [r["id"] for r in rules]
    assert pages == 2
    assert ids == [104001, 104002, 104003, 104010, 104020, *range(105001, 105121)]
    assert [r["id"] for r in rules if not r["enabled"]] == DISABLED
    assert [r["id"] for r in rules if r["conversionMethod"] == "INSIGHT_TAG_URL_MATCH_RULES"] \
        == URL_MATCH
    assert [r["id"] for r in rules if r["conversionMethod"] == "INSIGHT_TAG_JAVASCRIPT_EVENT"] \
        == JS_EVENT


def test_finder_paging_block_and_default_count(emu: Emulator) -> None:
    body = call(emu, "GET", f"/rest/conversions?q=account&account={SAMPLE_URN}").json()
    assert len(body["elements"]) == 10
    assert body["paging"] == {"start": 0, "count": 10, "total": 125, "links": []}
    last = call(emu, "GET",
                f"/rest/conversions?q=account&account={SAMPLE_URN}&start=100&count=100").json()
    assert len(last["elements"]) == 25
    assert last["paging"] == {"start": 100, "count": 100, "total": 125, "links": []}


def test_finder_projection(emu: Emulator) -> None:
    body = call(emu, "GET", f"/rest/conversions?q=account&account={SAMPLE_URN}&count=2"
                            "&fields=id,name,enabled").json()
    assert body["elements"] == [
        {"id": 104001, "name": "CAPI \N{EN DASH} Demo request", "enabled": True},
        {"id": 104002, "name": "CAPI \N{EN DASH} Purchase", "enabled": True},
    ]


def test_finder_other_account(emu: Emulator) -> None:
    body = call(emu, "GET", "/rest/conversions?q=account"
                            "&account=urn%3Ali%3AsponsoredAccount%3A598765432&count=100").json()
    assert [r["id"] for r in body["elements"]] == [204001]


@pytest.mark.parametrize(("query", "status", "message"), [
    ("q=account", 400, "account is required"),
    ("q=account&account=512345678", 400, "account must be an URN like urn:li:sponsoredAccount"),
    ("q=account&account=urn%3Ali%3Aorganization%3A1", 400, "account must be an URN"),
    (f"q=account&account={SAMPLE_URN}&count=501", 400,
     "count must be an integer between 0 and 500"),
    (f"account={SAMPLE_URN}", 400, "q=account is required"),
    ("q=account&account=urn%3Ali%3AsponsoredAccount%3A1", 404, "Ad account 1 does not exist"),
    (f"q=account&account=urn%3Ali%3AsponsoredAccount%3A{FOREIGN}", 403,
     "Not enough permissions to access ad account 533333333"),
])
def test_finder_errors(emu: Emulator, query: str, status: int, message: str) -> None:
    response = call(emu, "GET", "/rest/conversions?" + query)
    assert response.status_code == status
    assert response.json()["message"].startswith(message), response.json()["message"]


def test_get_rule_exact_body(emu: Emulator) -> None:
    assert rule_of(emu, 104001) == {
        "id": 104001,
        "name": "CAPI \N{EN DASH} Demo request",
        "account": "urn:li:sponsoredAccount:512345678",
        "conversionMethod": "CONVERSIONS_API",
        "enabled": True,
        "type": "LEAD",
        "attributionType": "LAST_TOUCH_BY_CAMPAIGN",
        "postClickAttributionWindowSize": 30,
        "viewThroughAttributionWindowSize": 7,
        "valueType": "DYNAMIC",
        "campaigns": [],
        "created": 1_767_312_000_000,
        "lastModified": 1_767_312_000_000,
    }


@pytest.mark.parametrize(("path", "status"), [
    ("/rest/conversions/104001?account=urn%3Ali%3AsponsoredAccount%3A598765432", 404),
    ("/rest/conversions/204001?account=" + SAMPLE_URN, 404),
    ("/rest/conversions/999?account=" + SAMPLE_URN, 404),
    ("/rest/conversions/104001", 400),
    ("/rest/conversions/abc?account=" + SAMPLE_URN, 400),
    (f"/rest/conversions/104001?account=urn%3Ali%3AsponsoredAccount%3A{FOREIGN}", 403),
])
def test_get_rule_errors(emu: Emulator, path: str, status: int) -> None:
    assert call(emu, "GET", path).status_code == status


# --- create ---------------------------------------------------------------------------------

def test_create_answers_201_with_id_location_and_entity(emu: Emulator) -> None:
    response = call(emu, "POST", "/rest/conversions", NEW_RULE)
    assert response.status_code == 201, response.text
    rule_id = int(response.headers["x-restli-id"])
    assert response.headers["Location"] == f"/conversions/{rule_id}"
    assert response.json() == {"id": rule_id, **NEW_RULE, "campaigns": [], "created": NOW_MS,
                               "lastModified": NOW_MS}
    assert rule_of(emu, rule_id) == response.json()


def test_create_fills_defaults(emu: Emulator) -> None:
    minimal = {k: NEW_RULE[k] for k in ("name", "account", "conversionMethod", "type")}
    body = call(emu, "POST", "/rest/conversions", minimal).json()
    assert (body["enabled"], body["attributionType"], body["postClickAttributionWindowSize"],
            body["viewThroughAttributionWindowSize"], body["valueType"]) == (
        True, "LAST_TOUCH_BY_CAMPAIGN", 30, 7, "DYNAMIC")


def test_create_is_not_idempotent(emu: Emulator) -> None:
    first = call(emu, "POST", "/rest/conversions", NEW_RULE)
    second = call(emu, "POST", "/rest/conversions", NEW_RULE)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    rules, _ = all_rules(emu)
    assert [r["id"] for r in rules if r["name"] == NEW_RULE["name"]] == [
        first.json()["id"], second.json()["id"]]


@pytest.mark.parametrize(("change", "message"), [
    ({"quatschFeld": 1}, "ERROR :: /quatschFeld :: unrecognized field found but not allowed"),
    ({"id": 5}, "ERROR :: /id :: field is read-only and cannot be set"),
    ({"type": "FOO"}, 'ERROR :: /type :: "FOO" is not an enum symbol'),
    ({"attributionType": "EACH_CAMPAIGN"},
     'ERROR :: /attributionType :: "EACH_CAMPAIGN" is not an enum symbol'),
    ({"valueType": "SOME"}, 'ERROR :: /valueType :: "SOME" is not an enum symbol'),
    ({"conversionMethod": "EMAIL"}, 'ERROR :: /conversionMethod :: "EMAIL" is not an enum symbol'),
    ({"enabled": "yes"}, 'ERROR :: /enabled :: "yes" cannot be coerced to Boolean'),
    ({"postClickAttributionWindowSize": "30"},
     'ERROR :: /postClickAttributionWindowSize :: "30" cannot be coerced to Integer'),
    ({"name": 5}, "ERROR :: /name :: 5 cannot be coerced to String"),
    ({"account": "urn:li:organization:1"},
     "ERROR :: /account :: Invalid Urn format. Invalid prefix."),
])
def test_create_schema_errors_are_422(emu: Emulator, change: dict[str, t.Any],
                                      message: str) -> None:
    response = call(emu, "POST", "/rest/conversions", {**NEW_RULE, **change})
    assert response.status_code == 422
    assert response.json() == {"message": message, "status": 422}


def test_create_lists_every_missing_field(emu: Emulator) -> None:
    response = call(emu, "POST", "/rest/conversions", {"enabled": True, "extra": 1})
    assert response.status_code == 422
    assert response.json()["message"].split("\n") == [
        "ERROR :: /extra :: unrecognized field found but not allowed",
        *(f"ERROR :: /{f} :: field is required but not found and has no default value"
          for f in ("account", "name", "conversionMethod", "type")),
    ]


@pytest.mark.parametrize(("rule_type", "post_click", "view_through", "status"), [
    ("LEAD", 365, 365, 201),
    ("PURCHASE", 365, 7, 201),
    ("SUBMIT_APPLICATION", 1, 365, 201),
    ("ADD_TO_CART", 180, 90, 201),
    ("SIGN_UP", 180, 1, 201),
    ("SIGN_UP", 365, 7, 400),
    ("QUALIFIED_LEAD", 14, 7, 400),
    ("LEAD", 30, 0, 400),
])
def test_window_sizes(emu: Emulator, rule_type: str, post_click: int, view_through: int,
                      status: int) -> None:
    response = call(emu, "POST", "/rest/conversions", {
        **NEW_RULE, "type": rule_type, "postClickAttributionWindowSize": post_click,
        "viewThroughAttributionWindowSize": view_through})
    assert response.status_code == status, response.text


def test_window_error_names_the_field_and_the_rule(emu: Emulator) -> None:
    response = call(emu, "POST", "/rest/conversions",
                    {**NEW_RULE, "type": "SIGN_UP", "postClickAttributionWindowSize": 365})
    assert response.json()["message"] == (
        "postClickAttributionWindowSize 365 is not allowed for type SIGN_UP: use one of "
        "1, 7, 30, 90, 180 (365 only for ADD_TO_CART, LEAD, PURCHASE, QUALIFIED_LEAD, "
        "SUBMIT_APPLICATION)")


def test_empty_name_is_400(emu: Emulator) -> None:
    response = call(emu, "POST", "/rest/conversions", {**NEW_RULE, "name": "  "})
    assert response.status_code == 400
    assert response.json()["message"] == "name must not be empty"


@pytest.mark.parametrize("rule_type", ["MARKETING_QUALIFIED_LEAD", "SALES_QUALIFIED_LEAD"])
@pytest.mark.parametrize(("version", "status"), [
    ("202607", 422), ("202608", 201), ("202609", 201), ("202601.01", 422), ("202611.02", 201),
])
def test_lead_types_are_version_gated(emu: Emulator, rule_type: str, version: str,
                                      status: int) -> None:
    response = call(emu, "POST", "/rest/conversions", {**NEW_RULE, "type": rule_type},
                    **{"LinkedIn-Version": version})
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["message"] == (
            f'ERROR :: /type :: "{rule_type}" is not an enum symbol '
            "(available from LinkedIn-Version 202608)")


@pytest.mark.parametrize(("account", "status"), [
    (TEST_ACCOUNT, 403), (FOREIGN, 403), (1, 404), (PARTNER, 201),
])
def test_create_needs_a_managed_account(emu: Emulator, account: int, status: int) -> None:
    response = call(emu, "POST", "/rest/conversions",
                    {**NEW_RULE, "account": f"urn:li:sponsoredAccount:{account}"})
    assert response.status_code == status, response.text


def test_create_rejects_other_restli_methods(emu: Emulator) -> None:
    response = call(emu, "POST", "/rest/conversions", {"elements": [NEW_RULE]},
                    **{"X-RestLi-Method": "BATCH_CREATE"})
    assert response.status_code == 400


def test_auto_association_all_campaigns(emu: Emulator) -> None:
    response = call(emu, "POST", "/rest/conversions?autoAssociationType=ALL_CAMPAIGNS",
                    {**NEW_RULE, "account": f"urn:li:sponsoredAccount:{PARTNER}"})
    assert response.status_code == 201
    campaigns = response.json()["campaigns"]
    world = emu.world
    expected = [f"urn:li:sponsoredCampaign:{cid}" for cid, c in sorted(world.campaigns.items())
                if c["account"].endswith(str(PARTNER))
                and c["status"] in ("ACTIVE", "PAUSED", "DRAFT")]
    assert campaigns == expected
    assert len(campaigns) == 36 + 18 + 9


def test_auto_association_objective_based_and_invalid(emu: Emulator) -> None:
    body = call(emu, "POST", "/rest/conversions?autoAssociationType=OBJECTIVE_BASED",
                NEW_RULE).json()
    world = emu.world
    objectives = {world.campaigns[int(c.rsplit(":", 1)[1])]["objectiveType"]
                  for c in body["campaigns"]}
    assert body["campaigns"]
    assert objectives <= {"WEBSITE_CONVERSION", "LEAD_GENERATION"}
    bad = call(emu, "POST", "/rest/conversions?autoAssociationType=SOME", NEW_RULE)
    assert bad.status_code == 400


# --- partial update -------------------------------------------------------------------------

def update(emu: Emulator, rule_id: int, changes: t.Any, account: str = SAMPLE_URN,
           method: str = "PARTIAL_UPDATE") -> requests.Response:
    """POST a Rest.li partial update of one rule."""
    return call(emu, "POST", f"/rest/conversions/{rule_id}?account={account}",
                {"patch": {"$set": changes}}, **{"X-RestLi-Method": method})


def test_partial_update(emu: Emulator) -> None:
    response = update(emu, 104002, {"name": "CAPI \N{EN DASH} Order", "enabled": False,
                                    "attributionType": "LAST_TOUCH_BY_CONVERSION"})
    assert response.status_code == 204
    assert response.content == b""
    rule = rule_of(emu, 104002)
    assert (rule["name"], rule["enabled"], rule["attributionType"], rule["lastModified"]) == (
        "CAPI \N{EN DASH} Order", False, "LAST_TOUCH_BY_CONVERSION", NOW_MS)
    assert rule["created"] == 1_767_312_000_000


def test_partial_update_keeps_the_account(emu: Emulator) -> None:
    same = update(emu, 104002, {"account": "urn:li:sponsoredAccount:512345678"})
    assert same.status_code == 204
    moved = update(emu, 104002, {"account": "urn:li:sponsoredAccount:598765432"})
    assert moved.status_code == 400
    assert moved.json()["message"] == "account of a conversion rule cannot be changed"


@pytest.mark.parametrize(("rule_id", "changes", "account", "method", "status"), [
    (104002, {"postClickAttributionWindowSize": 365}, SAMPLE_URN, "PARTIAL_UPDATE", 204),
    (104003, {"postClickAttributionWindowSize": 365}, SAMPLE_URN, "PARTIAL_UPDATE", 400),
    (104003, {"type": "PURCHASE"}, SAMPLE_URN, "PARTIAL_UPDATE", 204),
    (104003, {"colour": "red"}, SAMPLE_URN, "PARTIAL_UPDATE", 422),
    (104003, {"campaigns": []}, SAMPLE_URN, "PARTIAL_UPDATE", 422),
    (104003, {"name": "x"}, SAMPLE_URN, "UPDATE", 400),
    (104003, {"name": "x"}, "urn%3Ali%3AsponsoredAccount%3A598765432", "PARTIAL_UPDATE", 404),
    (204001, {"name": "x"}, "urn%3Ali%3AsponsoredAccount%3A598765432", "PARTIAL_UPDATE", 204),
    (999, {"name": "x"}, SAMPLE_URN, "PARTIAL_UPDATE", 404),
])
def test_partial_update_statuses(emu: Emulator, rule_id: int, changes: dict[str, t.Any],
                                 account: str, method: str, status: int) -> None:
    assert update(emu, rule_id, changes, account, method).status_code == status


def test_partial_update_body_shape(emu: Emulator) -> None:
    response = call(emu, "POST", f"/rest/conversions/104002?account={SAMPLE_URN}",
                    {"name": "x"}, **{"X-RestLi-Method": "PARTIAL_UPDATE"})
    assert response.status_code == 400
    assert response.json()["message"] == 'Partial update body must be {"patch": {"$set": {...}}}'


def test_viewer_cannot_update(emu: Emulator) -> None:
    world = emu.world
    with world.lock:
        world.rules[109001] = {**world.rules[104001], "id": 109001,
                               "account": f"urn:li:sponsoredAccount:{TEST_ACCOUNT}"}
    account = f"urn%3Ali%3AsponsoredAccount%3A{TEST_ACCOUNT}"
    assert rule_of(emu, 109001, account)["id"] == 109001
    assert update(emu, 109001, {"name": "x"}, account).status_code == 403


# --- campaignConversions --------------------------------------------------------------------

def associations_of(emu: Emulator, *campaigns: int) -> list[dict[str, t.Any]]:
    """The finder's elements for CAMPAIGNS."""
    listed = ",".join(f"urn%3Ali%3AsponsoredCampaign%3A{c}" for c in campaigns)
    response = call(emu, "GET", f"/rest/campaignConversions?q=campaigns&campaigns=List({listed})"
                                "&count=100")
    assert response.status_code == 200, response.text
    return t.cast("list[dict[str, t.Any]]", response.json()["elements"])


def test_single_association_is_idempotent(emu: Emulator) -> None:
    first = call(emu, "PUT", f"/rest/campaignConversions/{key(310000003, 104001)}",
                 pair(310000003, 104001))
    assert first.status_code == 204
    assert first.content == b""
    emu.now = lambda: NOW + 60
    again = call(emu, "PUT", f"/rest/campaignConversions/{key(310000003, 104001)}",
                 pair(310000003, 104001))
    assert again.status_code == 204
    assert associations_of(emu, 310000003) == [{**pair(310000003, 104001), "associatedAt": NOW_MS}]
    assert rule_of(emu, 104001)["campaigns"] == ["urn:li:sponsoredCampaign:310000003"]


def test_finder_lists_seeded_associations(emu: Emulator) -> None:
    found = associations_of(emu, 310000001, 310000004, 310000005)
    assert [(a["campaign"][-9:], a["conversion"][-6:]) for a in found] == [
        ("310000001", "105001"), ("310000001", "105002"), ("310000004", "105001")]
    assert rule_of(emu, 105001)["campaigns"] == [
        "urn:li:sponsoredCampaign:310000001", "urn:li:sponsoredCampaign:310000002",
        "urn:li:sponsoredCampaign:310000004"]


@pytest.mark.parametrize(("path", "body", "status", "message"), [
    ("/rest/campaignConversions/(campaign:urn:li:sponsoredCampaign:310000003,"
     "conversion:urn:lla:llaPartnerConversion:104001)", pair(310000003, 104001), 400,
     "Invalid campaignConversions key"),
    ("/rest/campaignConversions/%28campaign%3Aurn%3Ali%3AsponsoredCampaign%3A310000003%2C"
     "conversion%3Aurn%3Alla%3AllaPartnerConversion%3A104001%29", pair(310000003, 104001), 400,
     "Invalid campaignConversions key"),
    ("/rest/campaignConversions/(campaign:urn%3Ali%3AsponsoredCampaign%3A310000003)",
     pair(310000003, 104001), 400, "Invalid campaignConversions key"),
    ("/rest/campaignConversions/(campaign:310000003,conversion:104001)",
     pair(310000003, 104001), 400, "campaign must be urn:li:sponsoredCampaign:<id>"),
    (f"/rest/campaignConversions/{key(310000003, 104001)}", pair(310000004, 104001), 400,
     "Body campaign/conversion"),
    (f"/rest/campaignConversions/{key(310000003, 104001)}",
     {**pair(310000003, 104001), "extra": 1}, 422,
     "ERROR :: /extra :: unrecognized field found but not allowed"),
    (f"/rest/campaignConversions/{key(310000003, 999)}", pair(310000003, 999), 404,
     "Conversion rule urn:lla:llaPartnerConversion:999 does not exist"),
    (f"/rest/campaignConversions/{key(999, 104001)}", pair(999, 104001), 404,
     "Campaign urn:li:sponsoredCampaign:999 does not exist"),
    (f"/rest/campaignConversions/{key(320000001, 104001)}", pair(320000001, 104001), 400,
     "Campaign 320000001 belongs to urn:li:sponsoredAccount:598765432 but conversion rule "
     "104001 belongs to urn:li:sponsoredAccount:512345678"),
])
def test_single_association_errors(emu: Emulator, path: str, body: dict[str, t.Any],
                                   status: int, message: str) -> None:
    response = call(emu, "PUT", path, body)
    assert response.status_code == status, response.text
    assert response.json()["message"].startswith(message), response.json()["message"]
    assert associations_of(emu, 310000003) == []


def test_batch_association(emu: Emulator) -> None:
    keys = [key(310000003, 104001), key(310000004, 104001), key(310000005, 104002)]
    pairs = [(310000003, 104001), (310000004, 104001), (310000005, 104002)]
    entities = {k: pair(c, r) for k, (c, r) in zip(keys, pairs, strict=True)}
    response = call(emu, "PUT", f"/rest/campaignConversions?ids=List({','.join(keys)})",
                    {"entities": entities})
    assert response.status_code == 200
    assert response.json() == {"results": {k: {"status": 204} for k in keys}, "errors": {}}
    assert rule_of(emu, 104001)["campaigns"] == ["urn:li:sponsoredCampaign:310000003",
                                                 "urn:li:sponsoredCampaign:310000004"]
    again = call(emu, "PUT", f"/rest/campaignConversions?ids=List({','.join(keys)})",
                 {"entities": entities})
    assert again.json()["results"] == {k: {"status": 204} for k in keys}
    found = associations_of(emu, 310000003, 310000004, 310000005)
    assert [(a["campaign"][-9:], a["conversion"][-6:]) for a in found] == [
        ("310000003", "104001"), ("310000004", "104001"), ("310000004", "105001"),
        ("310000005", "104002")]


def test_batch_association_reports_per_key_errors(emu: Emulator) -> None:
    good, foreign = key(310000003, 104001), key(320000001, 104001)
    response = call(emu, "PUT", f"/rest/campaignConversions?ids=List({good},{foreign})",
                    {"entities": {good: pair(310000003, 104001),
                                  foreign: pair(320000001, 104001)}})
    assert response.status_code == 200
    body = response.json()
    assert body["results"] == {good: {"status": 204}}
    assert body["errors"][foreign]["status"] == 400


@pytest.mark.parametrize(("ids", "entity_keys", "message"), [
    ([key(310000003, 104001)], [key(310000004, 104001)],
     "The keys of entities must be exactly the keys listed in ids"),
    ([key(310000003, 104001), key(310000004, 104001)], [key(310000003, 104001)],
     "The keys of entities must be exactly the keys listed in ids"),
    ([], [key(310000003, 104001)], "ids must be a non-empty List"),
])
def test_batch_keys_must_match_ids(emu: Emulator, ids: list[str], entity_keys: list[str],
                                   message: str) -> None:
    entities = {k: pair(*(int(p.split("%3A")[-1]) for p in k.strip("()").split(",")))
                for k in entity_keys}
    response = call(emu, "PUT", f"/rest/campaignConversions?ids=List({','.join(ids)})",
                    {"entities": entities})
    assert response.status_code == 400
    assert response.json()["message"].startswith(message), response.json()["message"]


def test_get_and_delete_association(emu: Emulator) -> None:
    seeded = key(310000002, 105001)
    got = call(emu, "GET", f"/rest/campaignConversions/{seeded}")
    assert got.status_code == 200
    assert got.json()["campaign"] == "urn:li:sponsoredCampaign:310000002"

    assert call(emu, "DELETE", f"/rest/campaignConversions/{seeded}").status_code == 204
    assert call(emu, "GET", f"/rest/campaignConversions/{seeded}").status_code == 404
    assert call(emu, "DELETE", f"/rest/campaignConversions/{seeded}").status_code == 404
    assert rule_of(emu, 105001)["campaigns"] == ["urn:li:sponsoredCampaign:310000001",
                                                 "urn:li:sponsoredCampaign:310000004"]


@pytest.mark.parametrize(("query", "message"), [
    ("q=campaigns", "campaigns must be List(urn%3Ali%3AsponsoredCampaign%3A<id>,...)"),
    ("q=campaigns&campaigns=List(urn:li:sponsoredCampaign:1)", "campaigns must be List("),
    ("q=campaigns&campaigns=List(urn%3Ali%3AsponsoredAccount%3A1)", "campaigns must be List("),
    ("q=conversion", "q must be 'campaigns', got 'conversion'"),
])
def test_association_finder_errors(emu: Emulator, query: str, message: str) -> None:
    response = call(emu, "GET", "/rest/campaignConversions?" + query)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message), response.json()["message"]
