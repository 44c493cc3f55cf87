"""The LinkedIn client against the emulator: every status, with exact retry counts and sleeps."""

from __future__ import annotations

import logging
import socket
import types

import backoff._common
import backoff._sync
import pytest

from target_linkedin_conversions import errors
from target_linkedin_conversions.client import (
    BatchResult,
    LinkedInClient,
    RequestPacer,
    element_errors,
)
from target_linkedin_conversions.settings import Connection
from tests.helpers import now_ms

EVENTS = "/rest/conversionEvents"


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Every backoff sleep, recorded instead of waited (backoff's own module only)."""
    recorded: list[float] = []
    monkeypatch.setattr(backoff._sync, "time", types.SimpleNamespace(sleep=recorded.append))
    return recorded


def client_for(emulator, **overrides) -> tuple[LinkedInClient, list[float]]:
    own_sleeps: list[float] = []
    connection = Connection(**{"access_token": "test-token", "client_id": None,
                               "client_secret": None, "refresh_token": None,
                               "api_base_url": emulator.url, "read_timeout": 2.0,
                               **overrides})
    return LinkedInClient(connection, sleep=own_sleeps.append, rng=lambda: 0.5), own_sleeps


def event(event_id: str = "evt-1", rule: int = 104001) -> dict:
    return {"conversion": f"urn:lla:llaPartnerConversion:{rule}",
            "conversionHappenedAt": now_ms(), "eventId": event_id,
            "user": {"userIds": [{"idType": "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID",
                                  "idValue": "abc"}]}}


def statuses(emulator) -> list[int]:
    return [r.status for r in emulator.requests]


def test_429_with_retry_after_is_honoured(linkedin_emulator, sleeps) -> None:
    linkedin_emulator.faults.script(EVENTS, [{"status": 429, "retry_after": 7}])
    client, _ = client_for(linkedin_emulator)
    result = client.send_events([event()])
    assert result.accepted == 1
    assert statuses(linkedin_emulator) == [429, 200]
    assert sleeps == [7.05]  # Retry-After plus at most 10% of the base as jitter


def test_5xx_and_429_back_off_exponentially_with_full_jitter(linkedin_emulator, sleeps) -> None:
    linkedin_emulator.faults.script(EVENTS, [{"status": 500}, {"status": 502}, {"status": 503},
                                             {"status": 504}, {"status": 429}])
    client, _ = client_for(linkedin_emulator)
    assert client.send_events([event()]).accepted == 1
    assert statuses(linkedin_emulator) == [500, 502, 503, 504, 429, 200]
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]  # rng 0.5 * min(60, 2^n)


def test_retries_stop_after_max_attempts(linkedin_emulator, sleeps) -> None:
    linkedin_emulator.faults.script(EVENTS, [{"status": 503}] * 10)
    client, _ = client_for(linkedin_emulator, max_attempts=3)
    with pytest.raises(errors.RetriableAPIError, match="503"):
        client.send_events([event()])
    assert statuses(linkedin_emulator) == [503, 503, 503]
    assert sleeps == [0.5, 1.0]
    assert linkedin_emulator.accepted_events == []


@pytest.fixture
def backoff_clock(monkeypatch) -> list[float]:
    """Backoff's clock, fake and advanced only by its sleeps (recorded, never waited)."""
    now = [1000.0]
    recorded: list[float] = []

    def sleep(seconds: float) -> None:
        recorded.append(seconds)
        now[0] += seconds

    monkeypatch.setattr(backoff._common, "time", types.SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(backoff._sync, "time", types.SimpleNamespace(sleep=sleep))
    return recorded


def test_retries_stop_after_max_retry_seconds(linkedin_emulator, backoff_clock,
                                              caplog) -> None:
    linkedin_emulator.faults.script(EVENTS, [{"status": 503}] * 10)
    client, _ = client_for(linkedin_emulator, max_attempts=10, max_retry_seconds=5)
    with pytest.raises(errors.RetriableAPIError) as info:
        client.send_events([event()])
    assert str(info.value) == "LinkedIn answered 503 (no code): Service Unavailable"
    assert statuses(linkedin_emulator) == [503] * 5
    # 0.5, 1 and 2 s at 0, 0.5 and 1.5 s; the 4th wait is cut to the 1.5 s left of the 5
    assert backoff_clock == [0.5, 1.0, 2.0, 1.5]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "Giving up on LinkedIn after 5 attempts in 5 s: LinkedIn answered 503 (no code): "
        "Service Unavailable"]
    assert linkedin_emulator.accepted_events == []


def test_timeouts_and_dropped_connections_are_retried(linkedin_emulator, sleeps) -> None:
    linkedin_emulator.faults.script(EVENTS, [{"delay": 1.5}, {"drop": True}])
    client, _ = client_for(linkedin_emulator, read_timeout=0.5)
    assert client.send_events([event("evt-t")]).accepted == 1
    assert sleeps == [0.5, 1.0]  # no Retry-After: rng 0.5 * 2^n, as for a 5xx
    assert statuses(linkedin_emulator) == [200, 0, 200]  # answered too late, dropped, answered
    # The delayed request was processed by "LinkedIn" before the timeout: the retry repeats
    # the same eventId, which is why eventIds are deterministic.
    assert [e["eventId"] for e in linkedin_emulator.accepted_events] == ["evt-t", "evt-t"]
    assert linkedin_emulator.duplicate_event_ids == 1


def test_daily_quota_stops_at_once_without_retrying(linkedin_emulator, sleeps) -> None:
    linkedin_emulator.faults.script(EVENTS, [{"status": 429, "daily": True}])
    client, _ = client_for(linkedin_emulator)
    with pytest.raises(errors.DailyQuotaError, match="resets at 00:00 UTC"):
        client.send_events([event()])
    assert statuses(linkedin_emulator) == [429]
    assert sleeps == []


def test_401_without_refresh_credentials_stops(linkedin_emulator, sleeps) -> None:
    client, _ = client_for(linkedin_emulator, access_token="wrong")
    with pytest.raises(errors.AuthenticationError, match="INVALID_ACCESS_TOKEN"):
        client.send_events([event()])
    assert statuses(linkedin_emulator) == [401]


def test_expired_token_is_refreshed_and_the_call_retried(linkedin_emulator, sleeps) -> None:
    client, own_sleeps = client_for(linkedin_emulator, access_token=None,
                                    client_id="test-client", client_secret="test-secret",
                                    refresh_token="test-refresh-token",
                                    oauth_token_url=linkedin_emulator.url
                                    + "/oauth/v2/accessToken")
    assert client.send_events([event("a")]).accepted == 1
    linkedin_emulator.faults.expire_token_after(calls=0)
    assert client.send_events([event("b")]).accepted == 1
    paths = [(r.path, r.status) for r in linkedin_emulator.requests]
    assert paths == [("/oauth/v2/accessToken", 200), (EVENTS, 200), (EVENTS, 401),
                     ("/oauth/v2/accessToken", 200), (EVENTS, 200)]
    assert own_sleeps == [] and sleeps == []


def test_revoked_right_after_refresh_waits_once_then_retries(linkedin_emulator, sleeps) -> None:
    client, own_sleeps = client_for(linkedin_emulator, access_token=None,
                                    client_id="test-client", client_secret="test-secret",
                                    refresh_token="test-refresh-token",
                                    oauth_token_url=linkedin_emulator.url
                                    + "/oauth/v2/accessToken")
    linkedin_emulator.faults.script(EVENTS, [{"status": 401, "code": "REVOKED_ACCESS_TOKEN"},
                                             {"status": 401, "code": "REVOKED_ACCESS_TOKEN"}])
    assert client.send_events([event()]).accepted == 1
    assert [(r.path, r.status) for r in linkedin_emulator.requests] == [
        ("/oauth/v2/accessToken", 200), (EVENTS, 401), ("/oauth/v2/accessToken", 200),
        (EVENTS, 401), (EVENTS, 200)]
    assert own_sleeps == [5.0]


def test_bad_refresh_token_says_to_reauthorise(linkedin_emulator, sleeps) -> None:
    client, _ = client_for(linkedin_emulator, access_token=None, client_id="test-client",
                           client_secret="test-secret", refresh_token="stale",
                           oauth_token_url=linkedin_emulator.url + "/oauth/v2/accessToken")
    with pytest.raises(errors.AuthenticationError) as info:
        client.send_events([event()])
    assert str(info.value) == (
        "LinkedIn refused the refresh token (the OAuth endpoint answered 400 invalid_grant). "
        "Refresh tokens live 365 days from the member's consent and cannot be extended: "
        "re-authorise the app and set a new refresh_token.")


def test_a_wrong_client_secret_blames_the_app_credentials_not_the_refresh_token(
        linkedin_emulator, sleeps, caplog) -> None:
    client, _ = refreshing_client(linkedin_emulator, client_secret="wrong-secret")
    with pytest.raises(errors.AuthenticationError) as info:
        client.send_events([event()])
    assert str(info.value) == (
        "LinkedIn refused the app's credentials (the OAuth endpoint answered 401 "
        "invalid_client): client_id or client_secret is wrong. Copy both again from the app's "
        "Auth tab in the LinkedIn Developer Portal.")
    assert "LinkedIn OAuth token request failed: status 401, error 'invalid_client'" in (
        caplog.text)
    assert [(r.path, r.status) for r in linkedin_emulator.requests] == [
        ("/oauth/v2/accessToken", 401)]


def test_403_names_scopes_and_roles(linkedin_emulator, sleeps) -> None:
    client, _ = client_for(linkedin_emulator)
    with pytest.raises(errors.PermissionDeniedError) as info:
        client.send_events([event(rule=999)])
    assert "rw_conversions and r_ads" in str(info.value)
    assert "ACCOUNT_MANAGER" in str(info.value)


def test_an_error_code_that_is_not_a_plain_code_is_never_repeated(linkedin_emulator,
                                                                   sleeps) -> None:
    linkedin_emulator.faults.script(EVENTS, [{"status": 500, "body": {
        "code": "jane.doe@example.com secret", "message": "boom"}}])
    client, _ = client_for(linkedin_emulator, max_attempts=1)
    with pytest.raises(errors.RetriableAPIError) as info:
        client.send_events([event()])
    assert str(info.value) == "LinkedIn answered 500 (unrecognised code): boom"


def test_426_names_the_version_and_the_setting(linkedin_emulator, sleeps) -> None:
    client, _ = client_for(linkedin_emulator, linkedin_version="202501")
    with pytest.raises(errors.VersionSunsetError) as info:
        client.send_events([event()])
    assert str(info.value).startswith("LinkedIn no longer serves LinkedIn-Version 202501 (426")
    assert "Set linkedin_version" in str(info.value)


def test_indexed_422_names_the_elements(linkedin_emulator, sleeps) -> None:
    linkedin_emulator.faults.reject_elements({"b": "ERROR :: /user/userIds/0/idValue :: bad"})
    client, _ = client_for(linkedin_emulator)
    with pytest.raises(errors.BatchRejectedError) as info:
        client.send_events([event("a"), event("b"), event("c")])
    assert info.value.status == 422
    assert info.value.by_index == {1: "Index: 1, ERROR :: /user/userIds/0/idValue :: bad"}
    assert sleeps == []  # a 4xx is never resent unchanged


def test_element_statuses_of_a_200_are_checked_one_by_one(linkedin_emulator, sleeps) -> None:
    linkedin_emulator.faults.fail_elements(
        {"b": 'Member "jane.doe@example.com" cannot be matched'}, status=422)
    client, _ = client_for(linkedin_emulator)
    result = client.send_events([event("a"), event("b"), event("c")])
    assert result == BatchResult(accepted=2, rejected={1: 'Member "…" cannot be matched'})
    assert [e["eventId"] for e in linkedin_emulator.accepted_events] == ["a", "c"]
    assert statuses(linkedin_emulator) == [200]
    assert sleeps == []  # an element LinkedIn refused is never resent as-is


def test_an_element_status_without_an_error_body_says_its_status(linkedin_emulator,
                                                                 sleeps) -> None:
    linkedin_emulator.faults.script(EVENTS, [{"status": 200, "body": {"elements": [
        {"status": 201}, {"status": 201}, {"status": 500}]}}])
    client, _ = client_for(linkedin_emulator)
    result = client.send_events([event("a"), event("b"), event("c")])
    assert result == BatchResult(accepted=2, rejected={2: "element status 500"})


def test_element_statuses_that_do_not_match_the_batch_stop(linkedin_emulator, sleeps) -> None:
    linkedin_emulator.faults.script(EVENTS, [{"status": 200, "body": {"elements": [
        {"status": 201}]}}])
    client, _ = client_for(linkedin_emulator)
    with pytest.raises(errors.FatalAPIError) as info:
        client.send_events([event("a"), event("b")])
    assert str(info.value) == "LinkedIn answered 1 element statuses for 2 events"
    assert info.value.status == 200
    assert statuses(linkedin_emulator) == [200]
    assert sleeps == []


def test_4xx_naming_no_element_stops(linkedin_emulator, sleeps) -> None:
    client, _ = client_for(linkedin_emulator)
    with pytest.raises(errors.FatalAPIError, match="LinkedIn answered 400"):
        client.request("POST", EVENTS, body={"elements": []}, restli_method="BATCH_CREATE",
                       indexed_errors=True)


def test_element_errors_reads_every_form() -> None:
    message = ("Index: 0, ERROR :: /a :: x\nIndex: 0, ERROR :: /b :: y\n"
               "Conversion time should be within 90 days, indices [2, 3] (0-indexed).\n"
               "Validation failed because [{field=t, batchIndex=5, type=X}]")
    assert element_errors(message) == {
        0: "Index: 0, ERROR :: /a :: x\nIndex: 0, ERROR :: /b :: y",
        2: "Conversion time should be within 90 days, indices [2, 3] (0-indexed).",
        3: "Conversion time should be within 90 days, indices [2, 3] (0-indexed).",
        5: "Validation failed because [{field=t, batchIndex=5, type=X}]",
    }


def test_pacer_keeps_any_minute_under_the_quota() -> None:
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    pacer = RequestPacer(3, clock=lambda: now[0], sleep=sleep)
    for step in (0, 1, 1, 1, 0):
        now[0] += step
        pacer.wait_turn()
    assert waits == [57.0, 1.0]  # the 4th waits until the 1st leaves the window, and so on


def test_the_client_paces_its_requests_to_requests_per_minute(linkedin_emulator, sleeps,
                                                               caplog) -> None:
    now = [100.0]
    paced: list[float] = []

    def sleep(seconds: float) -> None:
        paced.append(seconds)
        now[0] += seconds

    connection = Connection(access_token="test-token", client_id=None, client_secret=None,
                            refresh_token=None, api_base_url=linkedin_emulator.url,
                            requests_per_minute=2)
    client = LinkedInClient(connection, sleep=sleep, clock=lambda: now[0], rng=lambda: 0.5)
    for n in range(3):
        assert client.send_events([event(f"evt-{n}")]).accepted == 1
        now[0] += 10
    assert paced == [40.0]  # the 3rd, at 120 s, waits until the 1st (at 100 s) is 60 s old
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("Pacing")] == [
        "Pacing: 2 requests in the last minute; waiting 40.0 s"]
    assert statuses(linkedin_emulator) == [200, 200, 200]
    assert client.request_count == 3
    assert sleeps == []


def refreshing_client(emulator, **overrides):
    return client_for(emulator, **{"access_token": None, "client_id": "test-client",
                                   "client_secret": "test-secret",
                                   "refresh_token": "test-refresh-token",
                                   "oauth_token_url": emulator.url + "/oauth/v2/accessToken",
                                   **overrides})


def test_a_failing_token_endpoint_is_retried_not_called_a_bad_refresh_token(
        linkedin_emulator, sleeps) -> None:
    linkedin_emulator.faults.script("/oauth/v2/accessToken", [{"status": 503}])
    client, _ = refreshing_client(linkedin_emulator)
    assert client.send_events([event()]).accepted == 1
    assert [(r.path, r.status) for r in linkedin_emulator.requests] == [
        ("/oauth/v2/accessToken", 503), ("/oauth/v2/accessToken", 200), (EVENTS, 200)]
    assert sleeps == [0.5]


def test_a_token_answer_without_a_token_is_a_clear_error(linkedin_emulator, sleeps) -> None:
    linkedin_emulator.faults.script("/oauth/v2/accessToken", [
        {"status": 200, "body": {"expires_in": 60}}])
    client, _ = refreshing_client(linkedin_emulator)
    with pytest.raises(errors.AuthenticationError, match="answered without a usable access "):
        client.send_events([event()])


def test_a_header_python_cannot_send_is_a_fatal_error_without_its_value(
        linkedin_emulator, sleeps) -> None:
    client, _ = client_for(linkedin_emulator, access_token="tok-SECRET-123\n")
    with pytest.raises(errors.FatalAPIError) as info:
        client.send_events([event()])
    assert str(info.value) == (
        "POST /rest/conversionEvents could not be sent: a header value is not valid "
        "(ValueError); check access_token for stray characters")
    assert info.value.__suppress_context__
    assert linkedin_emulator.requests == []
    assert sleeps == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999", "http://[::1",
                                 "http://127.0.0.1:8801 x"])
def test_an_unusable_base_url_past_config_is_a_clean_fatal_error(url, sleeps) -> None:
    connection = Connection(access_token="test-token", client_id=None, client_secret=None,
                            refresh_token=None, api_base_url=url)
    with pytest.raises(errors.FatalAPIError) as info:
        LinkedInClient(connection, sleep=lambda _: None).send_events([event()])
    assert str(info.value) == ("POST /rest/conversionEvents could not be sent: api_base_url is "
                               "not a usable URL (InvalidURL)")
    assert sleeps == []


def test_an_unusable_token_url_past_config_names_oauth_token_url(linkedin_emulator,
                                                                 sleeps) -> None:
    client, _ = refreshing_client(linkedin_emulator, oauth_token_url="http://127.0.0.1:8801:80")
    with pytest.raises(errors.FatalAPIError) as info:
        client.send_events([event()])
    assert str(info.value) == ("the token request could not be sent: oauth_token_url is not a "
                               "usable URL (InvalidURL)")
    assert linkedin_emulator.requests == []


@pytest.mark.parametrize("body", [["x"], "just text", 42, {"access_token": None},
                                  {"access_token": ""}, {"access_token": 7},
                                  {"access_token": "tok", "expires_in": "soon"}])
def test_a_token_answer_that_is_not_an_object_with_a_token_is_a_clear_error(
        linkedin_emulator, sleeps, body) -> None:
    linkedin_emulator.faults.script("/oauth/v2/accessToken", [{"status": 200, "body": body}])
    client, _ = refreshing_client(linkedin_emulator)
    with pytest.raises(errors.AuthenticationError) as info:
        client.send_events([event()])
    assert str(info.value) == ("LinkedIn's OAuth endpoint answered without a usable access "
                               "token (none, or an expiry that is no number); check "
                               "oauth_token_url")
    assert [r.path for r in linkedin_emulator.requests] == ["/oauth/v2/accessToken"]


def test_a_token_from_the_oauth_endpoint_is_trimmed_or_refused_never_blamed_on_access_token(
        linkedin_emulator, sleeps) -> None:
    linkedin_emulator.faults.script("/oauth/v2/accessToken", [
        {"status": 200, "body": {"access_token": "tok ZZ", "expires_in": 60}}])
    client, _ = refreshing_client(linkedin_emulator)
    with pytest.raises(errors.AuthenticationError) as info:
        client.send_events([event()])
    assert str(info.value) == (
        "LinkedIn's OAuth endpoint answered with an access token that holds spaces or control "
        "characters, which no request can carry; check oauth_token_url")


def test_an_unreachable_token_endpoint_is_named_not_the_api(linkedin_emulator, sleeps) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/oauth/v2/accessToken"
    client, _ = refreshing_client(linkedin_emulator, oauth_token_url=closed + "?tenant=a",
                                  max_attempts=2)
    with pytest.raises(errors.RetriableAPIError) as info:
        client.send_events([event()])
    assert str(info.value) == ("LinkedIn's OAuth endpoint could not be reached (ConnectionError) "
                               f"at {closed}; check oauth_token_url")
    assert sleeps == [0.5]
    assert linkedin_emulator.requests == []


def test_an_oauth_error_code_that_is_not_a_plain_code_is_never_logged(
        linkedin_emulator, sleeps, caplog) -> None:
    linkedin_emulator.faults.script("/oauth/v2/accessToken", [{"status": 400, "body": {
        "error": "invalid_grant REFRESH-SECRET-9",
        "error_description": "refresh token REFRESH-SECRET-9 is revoked"}}])
    client, _ = refreshing_client(linkedin_emulator)
    with pytest.raises(errors.AuthenticationError) as info:
        client.send_events([event()])
    assert ("LinkedIn OAuth token request failed: status 400, error '(unrecognised error code)'"
            in caplog.text)
    assert str(info.value) == (
        "LinkedIn's OAuth endpoint refused the token request (it answered 400, error "
        "'(unrecognised error code)'). Check client_id, client_secret and refresh_token, and "
        "that oauth_token_url is LinkedIn's token endpoint.")
    assert "SECRET" not in caplog.text
