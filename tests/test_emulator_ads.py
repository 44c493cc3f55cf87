"""The emulator's discovery endpoints, Rest.li 2.0 decoding and the seeded ad structure."""

from __future__ import annotations

import typing as t
from collections import Counter

import pytest
import requests

from target_linkedin_conversions.emulator import Emulator, default_world, restli, seed_ads

HEADERS = {
    "Authorization": "Bearer test-token",
    "LinkedIn-Version": "202609",
    "X-Restli-Protocol-Version": "2.0.0",
}
SAMPLE = 512345678
PARTNER = 598765432
CANCELED = 507654321
TEST_ACCOUNT = 519876543
FOREIGN = 533333333
ACTIVE_FILTER = "(status:(values:List(ACTIVE)),test:false)"


def get(emu: Emulator, path_and_query: str) -> requests.Response:
    """GET with the standard headers; the query is sent exactly as written."""
    return requests.get(emu.url + path_and_query, headers=HEADERS, timeout=10)


def walk(emu: Emulator, path_and_query: str) -> tuple[list[dict[str, t.Any]], int]:
    """Follow nextPageToken to the end; returns all elements and the number of pages."""
    elements: list[dict[str, t.Any]] = []
    pages = 0
    url = path_and_query
    while True:
        response = get(emu, url)
        assert response.status_code == 200, response.text
        pages += 1
        elements.extend(response.json()["elements"])
        token = response.json()["metadata"].get("nextPageToken")
        if token is None:
            return elements, pages
        url = f"{path_and_query}&pageToken={token}"


# --- Rest.li 2.0 ----------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    ("List(ACTIVE,PAUSED)", ["ACTIVE", "PAUSED"]),
    ("List()", []),
    ("()", {}),
    ("''", ""),
    ("(status:(values:List(ACTIVE)),test:false)",
     {"status": {"values": ["ACTIVE"]}, "test": "false"}),
    ("List(urn%3Ali%3AsponsoredCampaign%3A1)", ["urn:li:sponsoredCampaign:1"]),
    ("(name:Acme%20Analytics%2C%20Inc.)", {"name": "Acme Analytics, Inc."}),
    ("List((a:1,b:List(x,'')),(a:2,b:List()))",
     [{"a": "1", "b": ["x", ""]}, {"a": "2", "b": []}]),
    ("%28status%3AACTIVE%29", "(status:ACTIVE)"),
])
def test_restli_decode(raw: str, expected: restli.Value) -> None:
    assert restli.decode(raw) == expected


@pytest.mark.parametrize(("raw", "message"), [
    ("(status:(values:List(ACTIVE))", "expected ',' or ')' in (...) at position 29"),
    ("List(A,B", "expected ',' or ')' in List(...) at position 8"),
    ("(status)", "expected ':' after field name 'status' at position 7"),
    ("(a:1,a:2)", "duplicate field 'a'"),
    ("(:1)", "expected a value at position 1"),
    ("(a:urn:li:x:1)", "expected ',' or ')' in (...) at position 6, found ':'"),
    ("List(A))", "expected end of input at position 7"),
    ("", "expected a value at position 0, found end of input"),
])
def test_restli_decode_errors(raw: str, message: str) -> None:
    with pytest.raises(restli.RestliSyntaxError, match=message.replace("(", r"\(")
                       .replace(")", r"\)").replace(".", r"\.")):
        restli.decode(raw)


def test_restli_encode_round_trips_and_encodes_only_values() -> None:
    key = {"campaign": "urn:li:sponsoredCampaign:1", "conversion": "urn:lla:llaPartnerConversion:9"}
    encoded = restli.encode(key)
    assert encoded == ("(campaign:urn%3Ali%3AsponsoredCampaign%3A1,"
                       "conversion:urn%3Alla%3AllaPartnerConversion%3A9)")
    assert restli.decode(encoded) == key
    assert restli.encode(["a,b", "", "(x)"]) == "List(a%2Cb,'',%28x%29)"


def test_raw_params_keep_values_encoded() -> None:
    raw = "q=search&search=(id:(values:List(urn%3Ali%3Ax%3A1)))&empty=&flag"
    assert restli.raw_params(raw) == {
        "q": "search", "search": "(id:(values:List(urn%3Ali%3Ax%3A1)))", "empty": "", "flag": "",
    }


def test_compound_key_needs_exactly_its_parts() -> None:
    assert restli.decode_compound_key("(b:2,a:1)", ("a", "b")) == {"a": "1", "b": "2"}
    with pytest.raises(restli.RestliSyntaxError, match="exactly the parts a, b; got a"):
        restli.decode_compound_key("(a:1)", ("a", "b"))
    with pytest.raises(restli.RestliSyntaxError, match="must be a single value"):
        restli.decode_compound_key("(a:List(1),b:2)", ("a", "b"))


# --- the seed -------------------------------------------------------------------------------

def test_seed_is_deterministic() -> None:
    first, second = default_world(), default_world()
    assert first.campaigns == second.campaigns
    assert first.creatives == second.creatives
    assert first.campaign_groups == second.campaign_groups
    assert first.rules == second.rules
    assert first.ad_account_users == second.ad_account_users


def test_seed_sizes_and_status_counts() -> None:
    world = default_world()
    per_account = Counter(c["account"] for c in world.campaigns.values())
    assert per_account == {
        f"urn:li:sponsoredAccount:{SAMPLE}": 340, f"urn:li:sponsoredAccount:{PARTNER}": 90,
        f"urn:li:sponsoredAccount:{CANCELED}": 24, f"urn:li:sponsoredAccount:{TEST_ACCOUNT}": 6,
        f"urn:li:sponsoredAccount:{FOREIGN}": 5,
    }
    sample = Counter(c["status"] for c in world.campaigns.values()
                     if c["account"].endswith(str(SAMPLE)))
    assert sample == {"ACTIVE": 136, "PAUSED": 68, "ARCHIVED": 34, "COMPLETED": 34,
                      "CANCELED": 34, "DRAFT": 34}
    assert len(world.campaign_groups) == 14
    assert Counter(c["account"] for c in world.creatives.values())[
        f"urn:li:sponsoredAccount:{SAMPLE}"] == 340
    assert len(world.creatives) == 466


def test_seed_keeps_the_core_accounts_and_rules() -> None:
    world = default_world()
    assert world.ad_accounts[SAMPLE]["name"] == "Acme Analytics"
    assert world.ad_accounts[SAMPLE]["status"] == "ACTIVE"
    assert world.ad_accounts[SAMPLE]["type"] == "BUSINESS"
    assert world.rules[104001]["name"] == "CAPI \N{EN DASH} Demo request"
    assert min(rule_id for rule_id in world.rules if rule_id >= 105000) == 105001


def test_seeded_campaign_shape() -> None:
    campaign = default_world().campaigns[310000001]
    assert campaign["id"] == 310000001
    assert campaign["account"] == f"urn:li:sponsoredAccount:{SAMPLE}"
    assert campaign["campaignGroup"] == "urn:li:sponsoredCampaignGroup:610000001"
    assert campaign["status"] == "ACTIVE"
    assert campaign["test"] is False
    assert campaign["servingStatuses"] == ["RUNNABLE"]
    assert set(campaign["runSchedule"]) == {"start"}
    assert set(campaign["changeAuditStamps"]) == {"created", "lastModified"}
    assert {"type", "objectiveType", "costType", "name"} <= set(campaign)


# --- adAccountUsers -------------------------------------------------------------------------

def test_ad_account_users_lists_the_members_roles(linkedin_emulator: Emulator) -> None:
    response = get(linkedin_emulator, "/rest/adAccountUsers?q=authenticatedUser")
    assert response.status_code == 200
    body = response.json()
    assert [(row["account"], row["role"]) for row in body["elements"]] == [
        (f"urn:li:sponsoredAccount:{SAMPLE}", "ACCOUNT_BILLING_ADMIN"),
        (f"urn:li:sponsoredAccount:{PARTNER}", "CAMPAIGN_MANAGER"),
        (f"urn:li:sponsoredAccount:{CANCELED}", "ACCOUNT_MANAGER"),
        (f"urn:li:sponsoredAccount:{TEST_ACCOUNT}", "VIEWER"),
    ]
    assert {row["user"] for row in body["elements"]} == {seed_ads.MEMBER_URN}
    assert body["paging"] == {"start": 0, "count": 10, "total": 4, "links": []}


def test_ad_account_users_start_count(linkedin_emulator: Emulator) -> None:
    body = get(linkedin_emulator, "/rest/adAccountUsers?q=authenticatedUser&start=1&count=2").json()
    assert [row["role"] for row in body["elements"]] == ["CAMPAIGN_MANAGER", "ACCOUNT_MANAGER"]
    assert body["paging"] == {"start": 1, "count": 2, "total": 4, "links": []}


@pytest.mark.parametrize(("query", "message"), [
    ("", "q=authenticatedUser is required"),
    ("?q=viewer", "q must be 'authenticatedUser', got 'viewer'"),
    ("?q=authenticatedUser&count=-1", "count must be an integer between 0 and 1000, got '-1'"),
    ("?q=authenticatedUser&start=x", "start must be an integer between 0 and 1000000000"),
])
def test_ad_account_users_bad_params(linkedin_emulator: Emulator, query: str,
                                     message: str) -> None:
    response = get(linkedin_emulator, "/rest/adAccountUsers" + query)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)


# --- adAccounts -----------------------------------------------------------------------------

@pytest.mark.parametrize(("search", "ids"), [
    (ACTIVE_FILTER, [SAMPLE, PARTNER]),
    ("(test:true)", [TEST_ACCOUNT]),
    ("(status:(values:List(CANCELED)))", [CANCELED]),
    ("(status:(values:List(ACTIVE,CANCELED)),test:false)", [CANCELED, SAMPLE, PARTNER]),
    ("(id:(values:List(urn%3Ali%3AsponsoredAccount%3A598765432)))", [PARTNER]),
    ("(name:(values:List(Acme%20Analytics)))", [SAMPLE]),
    ("(type:(values:List(ENTERPRISE)))", []),
    ("()", [CANCELED, SAMPLE, TEST_ACCOUNT, PARTNER]),
])
def test_ad_account_search(linkedin_emulator: Emulator, search: str, ids: list[int]) -> None:
    response = get(linkedin_emulator, f"/rest/adAccounts?q=search&search={search}")
    assert response.status_code == 200, response.text
    assert [a["id"] for a in response.json()["elements"]] == ids
    assert response.json()["metadata"] == {}


def test_ad_account_search_never_lists_accounts_without_a_role(
        linkedin_emulator: Emulator) -> None:
    ids = [a["id"] for a in get(linkedin_emulator, "/rest/adAccounts?q=search").json()["elements"]]
    assert FOREIGN not in ids
    assert len(ids) == 4


def test_ad_account_search_pages_with_tokens(linkedin_emulator: Emulator) -> None:
    accounts, pages = walk(linkedin_emulator, "/rest/adAccounts?q=search&pageSize=1")
    assert [a["id"] for a in accounts] == [CANCELED, SAMPLE, TEST_ACCOUNT, PARTNER]
    assert pages == 4


def test_ad_account_search_projection(linkedin_emulator: Emulator) -> None:
    body = get(linkedin_emulator,
               f"/rest/adAccounts?q=search&search={ACTIVE_FILTER}&fields=id,name").json()
    assert body["elements"] == [{"id": SAMPLE, "name": "Acme Analytics"},
                                {"id": PARTNER, "name": "Acme Partner Program"}]


@pytest.mark.parametrize(("query", "message"), [
    ("q=search&search=%28status%3A%28values%3AList%28ACTIVE%29%29%29",
     "search must be a Rest.li 2.0 object"),
    ("q=search&search=(status:(values:List(ACTIVE))",
     "Invalid Rest.li 2.0 value for search: expected ',' or ')' in (...) at position 29"),
    ("q=search&search=(colour:(values:List(RED)))", "Unknown search criteria colour"),
    ("q=search&search=(status:ACTIVE)", "search.status must look like status:(values:List(A,B))"),
    ("q=search&search=(test:maybe)", "search.test must be true or false, got 'maybe'"),
    ("q=search&pageSize=1001", "pageSize must be an integer between 1 and 1000, got '1001'"),
    ("q=search&pageSize=0", "pageSize must be an integer between 1 and 1000, got '0'"),
    ("q=search&pageToken=bm9wZQ", "Invalid pageToken 'bm9wZQ'"),
    ("q=search&pageToken=%%%", "Invalid pageToken"),
    ("q=all", "q must be 'search', got 'all'"),
])
def test_ad_account_search_bad_requests(linkedin_emulator: Emulator, query: str,
                                        message: str) -> None:
    response = get(linkedin_emulator, "/rest/adAccounts?" + query)
    assert response.status_code == 400
    assert response.json()["message"].startswith(message), response.json()["message"]
    assert response.json()["status"] == 400


def test_page_size_1000_is_allowed(linkedin_emulator: Emulator) -> None:
    assert get(linkedin_emulator, "/rest/adAccounts?q=search&pageSize=1000").status_code == 200


def test_get_ad_account(linkedin_emulator: Emulator) -> None:
    response = get(linkedin_emulator, f"/rest/adAccounts/{SAMPLE}")
    assert response.status_code == 200
    assert response.json() == linkedin_emulator.world.ad_accounts[SAMPLE]
    assert response.json()["name"] == "Acme Analytics"


@pytest.mark.parametrize(("path", "status"), [
    ("/rest/adAccounts/111", 404),
    (f"/rest/adAccounts/{FOREIGN}", 403),
    ("/rest/adAccounts/abc", 400),
    ("/rest/adAccounts/111/adCampaigns?q=search", 404),
    (f"/rest/adAccounts/{FOREIGN}/adCampaigns?q=search", 403),
    (f"/rest/adAccounts/{FOREIGN}/adCampaignGroups?q=search", 403),
    (f"/rest/adAccounts/{FOREIGN}/creatives?q=criteria", 403),
    (f"/rest/adAccounts/{SAMPLE}/creatives?q=search", 400),
])
def test_account_errors(linkedin_emulator: Emulator, path: str, status: int) -> None:
    response = get(linkedin_emulator, path)
    assert response.status_code == status
    assert response.json()["status"] == status


def test_viewer_can_read_its_account(linkedin_emulator: Emulator) -> None:
    response = get(linkedin_emulator, f"/rest/adAccounts/{TEST_ACCOUNT}/adCampaigns?q=search")
    assert response.status_code == 200
    assert len(response.json()["elements"]) == 6


# --- campaign groups, campaigns, creatives --------------------------------------------------

def test_campaign_group_search(linkedin_emulator: Emulator) -> None:
    response = get(linkedin_emulator, f"/rest/adAccounts/{SAMPLE}/adCampaignGroups?q=search"
                                      "&search=(status:(values:List(ACTIVE,PAUSED)))")
    groups = response.json()["elements"]
    assert [(g["id"], g["status"]) for g in groups] == [
        (610000001, "ACTIVE"), (610000002, "ACTIVE"), (610000003, "PAUSED")]
    assert groups[0]["account"] == f"urn:li:sponsoredAccount:{SAMPLE}"
    all_groups, _ = walk(linkedin_emulator, f"/rest/adAccounts/{SAMPLE}/adCampaignGroups?q=search")
    assert len(all_groups) == 6


def test_campaign_paging_visits_every_campaign_once(linkedin_emulator: Emulator) -> None:
    campaigns, pages = walk(linkedin_emulator, f"/rest/adAccounts/{SAMPLE}/adCampaigns?q=search")
    ids = [c["id"] for c in campaigns]
    assert pages == 4
    assert ids == list(range(310000001, 310000341))


@pytest.mark.parametrize(("status", "count"), [
    ("ACTIVE", 136), ("PAUSED", 68), ("ARCHIVED", 34), ("COMPLETED", 34), ("CANCELED", 34),
    ("DRAFT", 34),
])
def test_campaign_status_filter(linkedin_emulator: Emulator, status: str, count: int) -> None:
    campaigns, _ = walk(linkedin_emulator, f"/rest/adAccounts/{SAMPLE}/adCampaigns?q=search"
                                           f"&search=(status:(values:List({status})))&pageSize=50")
    assert len(campaigns) == count
    assert {c["status"] for c in campaigns} == {status}


def test_campaign_filters_by_group_urn(linkedin_emulator: Emulator) -> None:
    campaigns, _ = walk(
        linkedin_emulator, f"/rest/adAccounts/{SAMPLE}/adCampaigns?q=search&search="
        "(campaignGroup:(values:List(urn%3Ali%3AsponsoredCampaignGroup%3A610000002)))")
    assert len(campaigns) == 57
    assert campaigns[0]["id"] == 310000002


def test_page_tokens_are_stable_and_survive_new_campaigns(linkedin_emulator: Emulator) -> None:
    path = f"/rest/adAccounts/{SAMPLE}/adCampaigns?q=search&pageSize=100"
    first = get(linkedin_emulator, path).json()
    assert get(linkedin_emulator, path).json()["metadata"] == first["metadata"]

    world = linkedin_emulator.world
    with world.lock:
        world.campaigns[310000999] = {**world.campaigns[310000001], "id": 310000999}
    rest, _ = walk(linkedin_emulator, f"{path}&pageToken={first['metadata']['nextPageToken']}")
    ids = [c["id"] for c in first["elements"] + rest]
    assert len(ids) == len(set(ids)) == 341
    assert ids[-1] == 310000999


def test_other_accounts_campaigns(linkedin_emulator: Emulator) -> None:
    campaigns, pages = walk(linkedin_emulator, f"/rest/adAccounts/{PARTNER}/adCampaigns?q=search")
    assert (len(campaigns), pages) == (90, 1)
    assert campaigns[0]["id"] == 320000001
    canceled, _ = walk(linkedin_emulator, f"/rest/adAccounts/{CANCELED}/adCampaigns?q=search")
    assert Counter(c["status"] for c in canceled) == {"COMPLETED": 8, "ARCHIVED": 8,
                                                       "CANCELED": 8}


def test_creative_paging_visits_every_creative_once(linkedin_emulator: Emulator) -> None:
    creatives, pages = walk(linkedin_emulator,
                            f"/rest/adAccounts/{SAMPLE}/creatives?q=criteria&pageSize=100")
    ids = [c["id"] for c in creatives]
    assert pages == 4
    assert len(ids) == len(set(ids)) == 340
    assert ids[0] == "urn:li:sponsoredCreative:710000001"


def test_creatives_filtered_by_campaigns(linkedin_emulator: Emulator) -> None:
    response = get(linkedin_emulator, f"/rest/adAccounts/{SAMPLE}/creatives?q=criteria&campaigns="
                   "List(urn%3Ali%3AsponsoredCampaign%3A310000001,"
                   "urn%3Ali%3AsponsoredCampaign%3A310000002,urn%3Ali%3AsponsoredCampaign%3A310000003)")
    creatives = response.json()["elements"]
    assert [(c["campaign"], c["intendedStatus"]) for c in creatives] == [
        ("urn:li:sponsoredCampaign:310000001", "ACTIVE"),
        ("urn:li:sponsoredCampaign:310000002", "ACTIVE"),
        ("urn:li:sponsoredCampaign:310000002", "PAUSED"),
    ]


def test_creatives_filtered_by_intended_status(linkedin_emulator: Emulator) -> None:
    creatives, _ = walk(linkedin_emulator, f"/rest/adAccounts/{SAMPLE}/creatives?q=criteria"
                                           "&intendedStatuses=List(DRAFT)")
    assert creatives
    assert {c["intendedStatus"] for c in creatives} == {"DRAFT"}


def test_creatives_with_a_decoded_list_are_rejected(linkedin_emulator: Emulator) -> None:
    response = get(linkedin_emulator, f"/rest/adAccounts/{SAMPLE}/creatives?q=criteria"
                                      "&campaigns=List(urn:li:sponsoredCampaign:310000001)")
    assert response.status_code == 400
    assert "Invalid Rest.li 2.0 value for campaigns" in response.json()["message"]


@pytest.mark.parametrize(("path", "status"), [
    (f"/rest/adAccounts/{SAMPLE}/adCampaigns/310000001", 200),
    (f"/rest/adAccounts/{SAMPLE}/adCampaignGroups/610000001", 200),
    (f"/rest/adAccounts/{PARTNER}/adCampaigns/310000001", 404),
    (f"/rest/adAccounts/{SAMPLE}/adCampaigns/1", 404),
    (f"/rest/adAccounts/{FOREIGN}/adCampaigns/350000001", 403),
])
def test_get_one_campaign_or_group(linkedin_emulator: Emulator, path: str, status: int) -> None:
    response = get(linkedin_emulator, path)
    assert response.status_code == status
    if status == 200:
        assert response.json()["id"] == int(path.rsplit("/", 1)[1])


def test_tunnelled_search_is_decoded_like_a_query(linkedin_emulator: Emulator) -> None:
    response = requests.post(
        f"{linkedin_emulator.url}/rest/adAccounts/{SAMPLE}/adCampaigns",
        data="q=search&search=(status:(values:List(DRAFT)))&pageSize=1000",
        headers={**HEADERS, "X-HTTP-Method-Override": "GET",
                 "Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["elements"]) == 34
