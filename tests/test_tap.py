"""The companion tap against the emulator: completeness across pages, the exact queries LinkedIn
receives, retries counted exactly, and the messages users see when LinkedIn says no."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import io
import json
import logging
import socket
import subprocess
import sys
import time
import types
import typing as t

import backoff._sync
import pytest
import requests
from singer_sdk.exceptions import RetriableAPIError

from target_linkedin_conversions.auth import StaticTokenAuth
from target_linkedin_conversions.emulator import Emulator
from target_linkedin_conversions.errors import ConfigError
from target_linkedin_conversions.streams import (
    CursorPaginator,
    StartCountPaginator,
    epoch_ms_to_datetime,
)
from target_linkedin_conversions.tap import TapLinkedInConversions
from tests.conftest import (
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    EMULATOR_REFRESH_TOKEN,
    EMULATOR_TOKEN,
)

SAMPLE_ACCOUNT = 512345678
FOREIGN_ACCOUNT = 533333333  # seeded, but the member holds no role on it
STREAMS = {"ad_account_users", "ad_accounts", "campaign_groups", "campaigns", "creatives",
           "conversion_rules", "campaign_conversions"}


def make_tap(emulator: Emulator, **config: t.Any) -> TapLinkedInConversions:
    """A tap on the emulator with CONFIG on top of the token and base URL."""
    base = {"access_token": EMULATOR_TOKEN, "api_base_url": emulator.url}
    return TapLinkedInConversions(config={**base, **config}, parse_env_config=False)


def sync(tap: TapLinkedInConversions) -> dict[str, list[dict[str, t.Any]]]:
    """Run the tap and return its records by stream."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    records: dict[str, list[dict[str, t.Any]]] = {name: [] for name in STREAMS}
    for line in out.getvalue().splitlines():
        message = json.loads(line)
        if message["type"] == "RECORD":
            records[message["stream"]].append(message["record"])
    return records


def queries(emulator: Emulator, path_end: str) -> list[str]:
    """Raw query strings of the recorded requests whose path ends with PATH_END, in order."""
    return [r.raw_query for r in emulator.requests if r.path.endswith(path_end)]


def reachable(emulator: Emulator) -> set[str]:
    """Account URNs the emulator's member holds a role on."""
    return {row["account"] for row in emulator.world.ad_account_users}


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff's sleeps, recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(backoff._sync, "time",
                        types.SimpleNamespace(sleep=recorded.append, monotonic=time.monotonic))
    return recorded


# --- completeness -----------------------------------------------------------------------------

def test_every_seeded_object_arrives_exactly_once(linkedin_emulator: Emulator) -> None:
    world = linkedin_emulator.world
    accounts = reachable(linkedin_emulator)

    records = sync(make_tap(linkedin_emulator))

    def ids(stream: str) -> list[int]:
        return [row["id"] for row in records[stream]]

    assert sorted(ids("ad_accounts")) == sorted(
        account_id for account_id in world.ad_accounts
        if f"urn:li:sponsoredAccount:{account_id}" in accounts)
    for stream, table in (("campaign_groups", world.campaign_groups),
                          ("campaigns", world.campaigns), ("conversion_rules", world.rules)):
        assert sorted(ids(stream)) == sorted(key for key, entity in table.items()
                                             if entity["account"] in accounts), stream
    assert sorted(ids("creatives")) == sorted(
        key for key, entity in world.creatives.items() if entity["account"] in accounts)
    assert sorted((row["campaign"], row["conversion"]) for row in records["campaign_conversions"]
                  ) == sorted(world.campaign_conversions)
    assert len(records["ad_account_users"]) == len(world.ad_account_users)


def test_paging_follows_cursors_and_start_count_to_the_end(linkedin_emulator: Emulator) -> None:
    sync(make_tap(linkedin_emulator, ad_account_ids=[SAMPLE_ACCOUNT]))

    campaign_pages = queries(linkedin_emulator, f"/adAccounts/{SAMPLE_ACCOUNT}/adCampaigns")
    # 340 campaigns at pageSize 100, listed twice: for `campaigns` and for the associations.
    assert len(campaign_pages) == 8
    assert campaign_pages[0] == "q=search&pageSize=100"
    assert all("&pageToken=" in query for query in campaign_pages[1:4])
    assert queries(linkedin_emulator, "/rest/conversions") == [
        f"q=account&account=urn%3Ali%3AsponsoredAccount%3A{SAMPLE_ACCOUNT}&start={start}&count=100"
        for start in (0, 100)
    ]
    association_pages = queries(linkedin_emulator, "/rest/campaignConversions")
    assert len(association_pages) == 7  # 340 campaigns, 50 per request
    assert association_pages[0].startswith(
        "q=campaigns&campaigns=List(urn%3Ali%3AsponsoredCampaign%3A310000001,"
        "urn%3Ali%3AsponsoredCampaign%3A310000002,")


def test_records_use_integer_ids_urns_and_datetimes(linkedin_emulator: Emulator) -> None:
    world = linkedin_emulator.world
    records = sync(make_tap(linkedin_emulator, ad_account_ids=[SAMPLE_ACCOUNT]))

    campaign = next(row for row in records["campaigns"] if row["id"] == 310000001)
    seeded = world.campaigns[310000001]
    assert campaign["account_id"] == SAMPLE_ACCOUNT
    assert campaign["campaignGroup"] == seeded["campaignGroup"]
    assert campaign["runSchedule"]["start"] == epoch_ms_to_datetime(seeded["runSchedule"]["start"])
    assert campaign["changeAuditStamps"]["created"]["time"].endswith("Z")

    creative = records["creatives"][0]
    assert creative["urn"] == f"urn:li:sponsoredCreative:{creative['id']}"

    rule = next(row for row in records["conversion_rules"] if row["id"] == 104001)
    assert rule["conversionMethod"] == "CONVERSIONS_API"
    assert rule["created"] == "2026-01-02T00:00:00Z"
    assert rule["postClickAttributionWindowSize"] == 30

    association = next(row for row in records["campaign_conversions"]
                       if row["conversion_rule_id"] == 105002)
    assert association["campaign_id"] == 310000001
    assert association["campaign"] == "urn:li:sponsoredCampaign:310000001"
    assert association["associatedAt"] == epoch_ms_to_datetime(world.rules[105002]["created"])


def test_every_request_carries_linkedin_headers(linkedin_emulator: Emulator) -> None:
    sync(make_tap(linkedin_emulator, ad_account_ids=[SAMPLE_ACCOUNT]))

    seen = linkedin_emulator.requests
    assert {r.headers["linkedin-version"] for r in seen} == {"202609"}
    assert {r.headers["x-restli-protocol-version"] for r in seen} == {"2.0.0"}
    assert {r.headers["authorization"] for r in seen} == {f"Bearer {EMULATOR_TOKEN}"}
    assert {r.headers.get("x-restli-method") for r in seen if r.path.endswith("/creatives")
            } == {"FINDER"}


def test_refresh_token_is_traded_once_for_all_streams(linkedin_emulator: Emulator) -> None:
    tap = make_tap(
        linkedin_emulator,
        access_token=None,
        client_id=EMULATOR_CLIENT_ID,
        client_secret=EMULATOR_CLIENT_SECRET,
        refresh_token=EMULATOR_REFRESH_TOKEN,
        oauth_token_url=linkedin_emulator.url + "/oauth/v2/accessToken",
        ad_account_ids=[SAMPLE_ACCOUNT],
    )

    records = sync(tap)

    assert len(records["campaigns"]) == 340
    token_calls = [r for r in linkedin_emulator.requests if r.path.startswith("/oauth/")]
    assert len(token_calls) == 1
    assert all(r.status == 200 for r in linkedin_emulator.requests)


# --- filters and Rest.li queries --------------------------------------------------------------

def test_status_filters_send_restli_search_queries(linkedin_emulator: Emulator) -> None:
    world = linkedin_emulator.world
    records = sync(make_tap(
        linkedin_emulator,
        ad_account_ids=[f"urn:li:sponsoredAccount:{SAMPLE_ACCOUNT}"],
        account_statuses=["ACTIVE"],
        campaign_statuses=["ACTIVE", "PAUSED"],
        campaign_group_statuses=["ACTIVE"],
        creative_statuses=["ACTIVE"],
    ))

    assert queries(linkedin_emulator, "/rest/adAccounts") == [
        "q=search&search=(id:(values:List(urn%3Ali%3AsponsoredAccount%3A512345678)),"
        "status:(values:List(ACTIVE)))&pageSize=100"
    ]
    assert queries(linkedin_emulator, "/adCampaigns")[0] == (
        "q=search&search=(status:(values:List(ACTIVE,PAUSED)))&pageSize=100")
    assert queries(linkedin_emulator, "/adCampaignGroups") == [
        "q=search&search=(status:(values:List(ACTIVE)))&pageSize=100"]
    assert queries(linkedin_emulator, "/creatives")[0] == (
        "q=criteria&intendedStatuses=List(ACTIVE)&pageSize=100")

    expected = sorted(key for key, campaign in world.campaigns.items()
                      if campaign["account"] == f"urn:li:sponsoredAccount:{SAMPLE_ACCOUNT}"
                      and campaign["status"] in ("ACTIVE", "PAUSED"))
    assert sorted(row["id"] for row in records["campaigns"]) == expected
    assert {row["status"] for row in records["campaign_groups"]} == {"ACTIVE"}
    assert {row["intendedStatus"] for row in records["creatives"]} == {"ACTIVE"}


def test_configured_account_without_access_is_named(
    linkedin_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    records = sync(make_tap(linkedin_emulator, ad_account_ids=[SAMPLE_ACCOUNT, FOREIGN_ACCOUNT]))

    assert [row["id"] for row in records["ad_accounts"]] == [SAMPLE_ACCOUNT]
    assert f"did not return ad account(s) {FOREIGN_ACCOUNT}" in caplog.text
    assert not any(r.path.startswith(f"/rest/adAccounts/{FOREIGN_ACCOUNT}")
                   for r in linkedin_emulator.requests)


# --- retries ----------------------------------------------------------------------------------

def users_stream(tap: TapLinkedInConversions) -> t.Any:
    return tap.streams["ad_account_users"]


def test_429_waits_retry_after_then_succeeds(linkedin_emulator: Emulator,
                                            sleeps: list[float]) -> None:
    linkedin_emulator.faults.script("/rest/adAccountUsers", [{"status": 429, "retry_after": 7}])

    rows = list(users_stream(make_tap(linkedin_emulator)).get_records(None))

    assert len(rows) == len(linkedin_emulator.world.ad_account_users)
    assert [r.status for r in linkedin_emulator.requests] == [429, 200]
    assert sleeps == [7.0]


def test_5xx_without_retry_after_backs_off_exponentially(linkedin_emulator: Emulator,
                                                         sleeps: list[float]) -> None:
    linkedin_emulator.faults.script("/rest/adAccountUsers", [{"status": 503}, {"status": 500}])

    list(users_stream(make_tap(linkedin_emulator)).get_records(None))

    assert [r.status for r in linkedin_emulator.requests] == [503, 500, 200]
    assert len(sleeps) == 2
    assert 1 <= sleeps[0] < 2 and 2 <= sleeps[1] < 3


def test_retries_stop_after_max_attempts(linkedin_emulator: Emulator,
                                         sleeps: list[float]) -> None:
    linkedin_emulator.faults.script("/rest/adAccountUsers", [{"status": 502}] * 5)

    with pytest.raises(RetriableAPIError, match="LinkedIn answered 502 for /rest/adAccountUsers"):
        list(users_stream(make_tap(linkedin_emulator, max_attempts=3)).get_records(None))

    assert len(linkedin_emulator.requests) == 3
    assert len(sleeps) == 2


def test_retry_after_beyond_max_retry_seconds_gives_up_at_once(
    linkedin_emulator: Emulator, sleeps: list[float]
) -> None:
    linkedin_emulator.faults.script("/rest/adAccountUsers", [{"status": 429, "retry_after": 900}])

    with pytest.raises(RetriableAPIError):
        list(users_stream(make_tap(linkedin_emulator, max_retry_seconds=600)).get_records(None))

    assert len(linkedin_emulator.requests) == 1
    assert sleeps == []


def test_daily_quota_is_not_retried(linkedin_emulator: Emulator, sleeps: list[float],
                                    caplog: pytest.LogCaptureFixture) -> None:
    linkedin_emulator.faults.script("/rest/adAccountUsers", [{"status": 429, "daily": True}])

    with pytest.raises(SystemExit):
        sync(make_tap(linkedin_emulator))

    assert len(linkedin_emulator.requests) == 1
    assert sleeps == []
    assert "daily request quota for this token is used up" in caplog.text


# --- refusals ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("config", "fault", "message"),
    [
        ({"access_token": "not-a-valid-token"}, None,
         "LinkedIn rejected the access token (401 INVALID_ACCESS_TOKEN). Set a valid "
         "access_token, or client_id + client_secret + refresh_token"),
        ({}, {"status": 403, "code": "ACCESS_DENIED"},
         "LinkedIn answered 403 for stream 'ad_account_users' (ACCESS_DENIED): Forbidden. The "
         "token needs the scopes rw_conversions and r_ads"),
        ({"linkedin_version": "202511"}, None,
         "LinkedIn no longer serves LinkedIn-Version 202511 (426 NONEXISTENT_VERSION). Set "
         "linkedin_version to an active YYYYMM version"),
    ],
    ids=["401", "403", "426"],
)
def test_refusals_stop_at_once_with_what_to_fix(
    linkedin_emulator: Emulator, caplog: pytest.LogCaptureFixture, sleeps: list[float],
    config: dict[str, t.Any], fault: dict[str, t.Any] | None, message: str,
) -> None:
    if fault:
        linkedin_emulator.faults.script("/rest/adAccountUsers", [fault])

    with pytest.raises(SystemExit) as stop:
        sync(make_tap(linkedin_emulator, **config))

    assert stop.value.code == 1
    assert len(linkedin_emulator.requests) == 1
    assert sleeps == []
    assert message in caplog.text
    assert "serviceErrorCode" not in caplog.text  # no response body
    assert "not-a-valid-token" not in caplog.text


def test_a_header_python_cannot_send_stops_without_its_value(
    linkedin_emulator: Emulator, caplog: pytest.LogCaptureFixture, sleeps: list[float],
) -> None:
    tap = make_tap(linkedin_emulator)
    tap.__dict__["linkedin_auth"] = StaticTokenAuth(token="tok-SECRET-123\n")  # past config

    with pytest.raises(SystemExit) as stop:
        sync(tap)

    assert stop.value.code == 1
    assert ("Stopping: GET /rest/adAccountUsers could not be sent: a header value is not valid "
            "(ValueError); check access_token for stray characters") in caplog.text
    assert "SECRET" not in caplog.text
    assert linkedin_emulator.requests == []
    assert sleeps == []


def test_an_unusable_base_url_past_config_stops_cleanly(
    linkedin_emulator: Emulator, caplog: pytest.LogCaptureFixture, sleeps: list[float],
) -> None:
    tap = make_tap(linkedin_emulator)
    tap.__dict__["connection"] = dataclasses.replace(tap.connection,
                                                     api_base_url="http://127.0.0.1:99999")

    with pytest.raises(SystemExit) as stop:
        sync(tap)

    assert stop.value.code == 1
    assert ("Stopping: stream 'ad_account_users' could not send its request: api_base_url is "
            "not a usable URL (InvalidURL)") in caplog.text
    assert "Traceback" not in caplog.text
    assert sleeps == []


def test_cli_401_prints_the_message_but_no_body_or_token(linkedin_emulator: Emulator,
                                                        tmp_path: t.Any) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"access_token": "secret-but-wrong",
                                  "api_base_url": linkedin_emulator.url}))

    done = subprocess.run(
        [sys.executable, "-m", "target_linkedin_conversions.tap", "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )

    assert done.returncode == 1
    assert "LinkedIn rejected the access token (401 INVALID_ACCESS_TOKEN)" in done.stderr
    assert "secret-but-wrong" not in done.stderr + done.stdout
    assert "serviceErrorCode" not in done.stderr
    assert "Traceback" not in done.stderr


def test_config_problems_are_named_before_any_request(linkedin_emulator: Emulator) -> None:
    tap = make_tap(linkedin_emulator, access_token=None, ad_account_ids=["acme"])

    with pytest.raises(ConfigError) as error:
        tap.sync_all()

    assert "set access_token, or client_id + client_secret + refresh_token" in str(error.value)
    assert "ad_account_ids entries must be numbers or urn:li:sponsoredAccount:N" in str(
        error.value)
    assert linkedin_emulator.requests == []


# --- CLI surface --------------------------------------------------------------------------------

def test_about_reports_the_package_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "target_linkedin_conversions.tap", "--about", "--format=json"],
        capture_output=True, text=True, timeout=60, check=True,
    )

    about = json.loads(done.stdout)
    assert about["name"] == "tap-linkedin-conversions"
    assert about["version"] == importlib.metadata.version("target-linkedin-conversions")
    assert {"ad_account_ids", "campaign_statuses", "access_token"} <= set(
        about["settings"]["properties"])


def test_discover_makes_no_network_call(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: t.Any, **_kwargs: t.Any) -> t.NoReturn:
        raise AssertionError("discovery must not open a connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)

    tap = TapLinkedInConversions(config={"api_base_url": "http://127.0.0.1:9"},
                                 parse_env_config=False)
    catalog = tap.catalog_dict

    keys = {entry["tap_stream_id"]: list(entry["key_properties"]) for entry in catalog["streams"]}
    assert keys == {
        "ad_account_users": ["account_id", "user"],
        "ad_accounts": ["id"],
        "campaign_groups": ["id"],
        "campaigns": ["id"],
        "creatives": ["id"],
        "conversion_rules": ["id"],
        "campaign_conversions": ["campaign_id", "conversion_rule_id"],
    }


# --- paginators without the emulator ------------------------------------------------------------

def response(body: dict[str, t.Any]) -> requests.Response:
    """A 200 response carrying BODY."""
    answer = requests.Response()
    answer.status_code = 200
    answer._content = json.dumps(body).encode()
    return answer


def test_start_count_without_total_reads_until_an_empty_page() -> None:
    paginator = StartCountPaginator(start_value=0, page_size=2)
    full = response({"elements": [{}, {}], "paging": {"start": 0, "count": 2, "total": -1}})
    empty = response({"elements": [], "paging": {"start": 2, "count": 2, "total": -1}})

    assert paginator.has_more(full)
    assert not paginator.has_more(empty)
    assert not paginator.continue_if_empty(empty)


def test_start_count_goes_past_a_short_page_before_the_total() -> None:
    paginator = StartCountPaginator(start_value=0, page_size=2)
    short = response({"elements": [], "paging": {"start": 0, "count": 2, "total": 5}})

    assert paginator.has_more(short)
    assert paginator.continue_if_empty(short)
    paginator.advance(short)
    paginator.advance(short)
    assert paginator.current_value == 4
    paginator.advance(short)
    assert paginator.finished


def test_cursor_continues_past_an_empty_page_that_names_a_next_one() -> None:
    paginator = CursorPaginator()

    assert paginator.continue_if_empty(response({"elements": [],
                                                 "metadata": {"nextPageToken": "abc"}}))
    assert not paginator.continue_if_empty(response({"elements": [], "metadata": {}}))


def test_sync_logs_never_contain_the_token(linkedin_emulator: Emulator,
                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    sync(make_tap(linkedin_emulator, ad_account_ids=[SAMPLE_ACCOUNT]))

    assert EMULATOR_TOKEN not in caplog.text


# --- token renewal mid-sync -------------------------------------------------------------------

OAUTH_PATH = "/oauth/v2/accessToken"
CREATIVES_PATH = f"/rest/adAccounts/{SAMPLE_ACCOUNT}/creatives"
CAMPAIGNS_PATH = f"/rest/adAccounts/{SAMPLE_ACCOUNT}/adCampaigns"


def refreshing_tap(emulator: Emulator, **config: t.Any) -> TapLinkedInConversions:
    """A tap that trades the emulator's refresh token for its access tokens."""
    return make_tap(
        emulator,
        access_token=None,
        client_id=EMULATOR_CLIENT_ID,
        client_secret=EMULATOR_CLIENT_SECRET,
        refresh_token=EMULATOR_REFRESH_TOKEN,
        oauth_token_url=emulator.url + OAUTH_PATH,
        ad_account_ids=[SAMPLE_ACCOUNT],
        **config,
    )


def oauth_calls(emulator: Emulator) -> list[int]:
    return [r.status for r in emulator.requests if r.path == OAUTH_PATH]


@pytest.fixture
def revocation_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The tap's wait before its last try of a freshly renewed token, recorded not slept."""
    from target_linkedin_conversions import streams

    recorded: list[float] = []
    monkeypatch.setattr(streams, "_sleep", recorded.append, raising=False)
    return recorded


def test_401_mid_sync_renews_the_token_once_and_goes_on(
    linkedin_emulator: Emulator, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    linkedin_emulator.faults.script(
        CREATIVES_PATH, ["pass", {"status": 401, "code": "EXPIRED_ACCESS_TOKEN"}])

    records = sync(refreshing_tap(linkedin_emulator))

    world = linkedin_emulator.world
    assert sorted(row["id"] for row in records["creatives"]) == sorted(
        key for key, creative in world.creatives.items()
        if creative["account"] == f"urn:li:sponsoredAccount:{SAMPLE_ACCOUNT}")
    assert oauth_calls(linkedin_emulator) == [200, 200]
    assert [r.status for r in linkedin_emulator.requests
            if r.path == CREATIVES_PATH].count(401) == 1
    assert "LinkedIn answered 401 (EXPIRED_ACCESS_TOKEN)" in caplog.text
    assert sleeps == []  # a renewal is not a retry: no backoff, no attempt used


def test_401_that_persists_after_renewal_stops_with_what_to_fix(
    linkedin_emulator: Emulator, sleeps: list[float], revocation_waits: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    linkedin_emulator.faults.script(
        CREATIVES_PATH, ["pass"] + [{"status": 401, "code": "REVOKED_ACCESS_TOKEN"}] * 5)

    with pytest.raises(SystemExit) as stop:
        sync(refreshing_tap(linkedin_emulator))

    assert stop.value.code == 1
    # One renewal, like the target's client: the renewed token is tried, then once more after
    # LinkedIn's revocation lag.
    assert oauth_calls(linkedin_emulator) == [200, 200]
    assert [r.status for r in linkedin_emulator.requests
            if r.path == CREATIVES_PATH] == [200, 401, 401, 401]
    assert revocation_waits == [5.0]
    assert sleeps == []
    assert "Stopping: LinkedIn rejected the access token (401 REVOKED_ACCESS_TOKEN)" in caplog.text


# --- OAuth endpoint failures --------------------------------------------------------------------

def test_oauth_5xx_is_retried_with_backoff(linkedin_emulator: Emulator,
                                           sleeps: list[float]) -> None:
    linkedin_emulator.faults.script(OAUTH_PATH, [{"status": 500}])

    records = sync(refreshing_tap(linkedin_emulator))

    assert len(records["campaigns"]) == 340
    assert oauth_calls(linkedin_emulator) == [500, 200]
    assert len(sleeps) == 1


def test_unreachable_oauth_endpoint_is_retried_then_stops_cleanly(
    linkedin_emulator: Emulator, sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    tap = refreshing_tap(linkedin_emulator, max_attempts=3)
    tap._config["oauth_token_url"] = f"http://127.0.0.1:{free_port()}/oauth/v2/accessToken"

    with pytest.raises(SystemExit) as stop:
        sync(tap)

    assert stop.value.code == 1
    assert len(sleeps) == 2
    assert "Stopping: LinkedIn's OAuth endpoint could not be reached (ConnectionError)" in (
        caplog.text)
    assert linkedin_emulator.requests == []


def free_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("broken", ["oauth_500", "oauth_unreachable"])
def test_cli_oauth_failure_stops_without_traceback(linkedin_emulator: Emulator, tmp_path: t.Any,
                                                   broken: str) -> None:
    oauth_url = linkedin_emulator.url + OAUTH_PATH
    if broken == "oauth_500":
        linkedin_emulator.faults.script(OAUTH_PATH, [{"status": 503}])
    else:
        oauth_url = f"http://127.0.0.1:{free_port()}/oauth/v2/accessToken"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({
        "client_id": EMULATOR_CLIENT_ID, "client_secret": EMULATOR_CLIENT_SECRET,
        "refresh_token": EMULATOR_REFRESH_TOKEN, "oauth_token_url": oauth_url,
        "api_base_url": linkedin_emulator.url, "max_attempts": 1,
    }))

    done = subprocess.run(
        [sys.executable, "-m", "target_linkedin_conversions.tap", "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )

    assert done.returncode == 1
    assert "Stopping: LinkedIn's OAuth endpoint" in done.stderr
    assert "Traceback" not in done.stderr
    assert EMULATOR_REFRESH_TOKEN not in done.stderr + done.stdout


# --- malformed pages ----------------------------------------------------------------------------

def campaign(number: int) -> dict[str, t.Any]:
    return {"id": 390000000 + number, "name": f"c{number}",
            "account": f"urn:li:sponsoredAccount:{SAMPLE_ACCOUNT}", "status": "ACTIVE"}


def page(*elements: dict[str, t.Any], token: str | None = None) -> dict[str, t.Any]:
    body: dict[str, t.Any] = {"elements": list(elements)}
    if token is not None:
        body["metadata"] = {"nextPageToken": token}
    return {"status": 200, "body": body}


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([{"status": 200, "body": [campaign(1)]}], "with a body that is not a page"),
        ([{"status": 200, "body": {"elements": None}}], "with a body that is not a page"),
        ([{"status": 200, "body": {"paging": {"total": 0}}}], "with a body that is not a page"),
        ([{"status": 200, "body": {"elements": [campaign(1), "x"]}}],
         "with a body that is not a page"),
        ([page({"name": "no id"})], "with a body that is not a page"),
        ([page({"id": "abc"})], "with a body that is not a page"),
        ([{"status": 200, "body": {"elements": [campaign(1)], "metadata": {"nextPageToken": 7}}}],
         "with a body that is not a page"),
        ([page(campaign(1), token="a"), page(campaign(2), token="a")],
         "with a repeated page token"),
        ([page(campaign(1), token="a"), page(campaign(2), token="b"),
          page(campaign(3), token="a")], "with a repeated page token"),
        ([page(campaign(1), token="a"), page(token="b"), page(token="a")],
         "with a repeated page token"),
    ],
    ids=["list-body", "null-elements", "no-elements", "non-object-element", "element-without-id",
         "non-numeric-id", "non-string-token", "same-token-twice", "token-cycle",
         "token-cycle-through-empty-pages"],
)
def test_malformed_pages_stop_with_a_clear_error(
    linkedin_emulator: Emulator, caplog: pytest.LogCaptureFixture,
    steps: list[dict[str, t.Any]], message: str,
) -> None:
    linkedin_emulator.faults.script(CAMPAIGNS_PATH, steps)
    out = io.StringIO()

    with pytest.raises(SystemExit) as stop, contextlib.redirect_stdout(out):
        make_tap(linkedin_emulator, ad_account_ids=[SAMPLE_ACCOUNT]).sync_all()

    assert stop.value.code == 1
    assert f"Stopping: LinkedIn answered stream 'campaigns' {message}" in caplog.text
    campaign_ids = [json.loads(line)["record"]["id"] for line in out.getvalue().splitlines()
                    if json.loads(line).get("stream") == "campaigns"
                    and json.loads(line)["type"] == "RECORD"]
    assert len(campaign_ids) == len(set(campaign_ids))  # nothing sent twice
    assert linkedin_emulator.faults.pending() == 0  # no page requested after the bad one
    assert len(queries(linkedin_emulator, "/adCampaigns")) == len(steps)


@pytest.mark.parametrize(
    "body",
    [[], {"elements": None}, {"elements": [{"role": "VIEWER"}]},
     {"elements": [], "paging": "all"}],
    ids=["list-body", "null-elements", "element-without-account", "non-object-paging"],
)
def test_malformed_start_count_page_stops_with_a_clear_error(
    linkedin_emulator: Emulator, caplog: pytest.LogCaptureFixture, body: t.Any,
) -> None:
    linkedin_emulator.faults.script("/rest/adAccountUsers", [{"status": 200, "body": body}])

    with pytest.raises(SystemExit) as stop:
        sync(make_tap(linkedin_emulator))

    assert stop.value.code == 1
    assert ("Stopping: LinkedIn answered stream 'ad_account_users' with a body that is not a "
            "page") in caplog.text


# --- ad_account_ids -----------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["5²", "\uff15", "\u0661\u0662", "5 5", "-5", ""])
def test_non_ascii_or_non_numeric_account_ids_are_config_errors(
    linkedin_emulator: Emulator, value: t.Any
) -> None:
    tap = make_tap(linkedin_emulator, ad_account_ids=[SAMPLE_ACCOUNT, value])

    with pytest.raises(ConfigError) as error:
        tap.sync_all()

    assert f"got {value!r}" in str(error.value)
    assert linkedin_emulator.requests == []


def test_account_ids_are_canonicalised(linkedin_emulator: Emulator) -> None:
    tap = make_tap(linkedin_emulator, ad_account_ids=[
        "0512345678", f" urn:li:sponsoredAccount:{SAMPLE_ACCOUNT} ", SAMPLE_ACCOUNT, "7"])

    assert tap.ad_account_ids() == [SAMPLE_ACCOUNT, 7]
    assert linkedin_emulator.requests == []
