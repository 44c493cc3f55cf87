"""Config errors: caught at start-up, each naming the setting to fix."""

from __future__ import annotations

import decimal
import json
import os
import pathlib
import subprocess
import sys

import pytest
from singer_sdk.exceptions import ConfigValidationError

from target_linkedin_conversions.errors import ConfigError
from target_linkedin_conversions.settings import Settings, numbers_from_env
from target_linkedin_conversions.tap import TapLinkedInConversions
from target_linkedin_conversions.target import TargetLinkedInConversions


def errors_of(config: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        Settings.from_config(config)
    return info.value.errors


def test_rule_ids_accept_bare_ids_and_full_urns_only() -> None:
    ok = Settings.from_config({"access_token": "t",
                               "conversion_rule_id": "urn:lla:llaPartnerConversion:7"})
    assert ok.conversion_rule == "urn:lla:llaPartnerConversion:7"
    assert Settings.from_config({"access_token": "t", "conversion_rule_id": 7}).conversion_rule \
        == "urn:lla:llaPartnerConversion:7"
    assert errors_of({"access_token": "t", "conversion_rule_id": "urn:li:conversion:7"}) == [
        "conversion_rule_id must be a numeric rule id or urn:lla:llaPartnerConversion:N; "
        "got 'urn:li:conversion:7'"]


def test_version_must_be_yyyymm() -> None:
    assert errors_of({"access_token": "t", "linkedin_version": "2026-09"}) == [
        "linkedin_version must be YYYYMM (for example 202609); got '2026-09'"]


def test_auth_needs_a_token_or_the_whole_refresh_triple() -> None:
    assert errors_of({}) == ["set access_token, or client_id + client_secret + refresh_token"]
    assert errors_of({"client_id": "c", "refresh_token": "r"}) == [
        "refresh-token authentication also needs: client_secret"]
    assert Settings.from_config({"dry_run": True}).connection.access_token is None


def test_stream_settings_are_checked_together() -> None:
    assert errors_of({"access_token": "t", "ad_account_id": "acme", "streams": {
        "s": {"rule_map": {"a": "x"}, "default_currency": "euro"}}}) == [
        "ad_account_id must be a number or urn:li:sponsoredAccount:N; got 'acme'",
        "streams.s.rule_map needs streams.s.rule_field (the column to look up)",
        "streams.s.rule_map['a'] must be a numeric rule id or urn:lla:llaPartnerConversion:N; "
        "got 'x'",
        "streams.s.default_currency must be a 3-letter ISO-4217 code",
    ]


def test_global_rule_applies_only_to_streams_without_their_own_routing() -> None:
    settings = Settings.from_config({"access_token": "t", "conversion_rule_id": "1", "streams": {
        "own": {"conversion_rule_id": "2"}, "routed": {"rule_field": "k", "rule_map": {"a": 3}}}})
    assert settings.for_stream("other").conversion_rule == "urn:lla:llaPartnerConversion:1"
    assert settings.for_stream("own").conversion_rule == "urn:lla:llaPartnerConversion:2"
    assert settings.for_stream("routed").conversion_rule is None
    assert settings.for_stream("routed").rule_map == {"a": ("urn:lla:llaPartnerConversion:3",)}


def test_numbers_from_env_converts_only_number_settings_text() -> None:
    schema = {"properties": {"ratio": {"type": ["number", "null"]}, "name": {"type": "string"},
                             "size": {"type": "integer"}}}
    assert numbers_from_env({"ratio": "0.05", "name": "0.05", "size": 3}, schema) == {
        "ratio": 0.05, "name": "0.05", "size": 3}
    assert numbers_from_env({"ratio": "a twentieth"}, schema) == {"ratio": "a twentieth"}


def test_max_reject_ratio_can_come_from_the_environment(tmp_path) -> None:
    """`--config ENV`, as the SDK documents it: the ratio arrives as text and must still work."""
    settings = {"max_reject_ratio": "0.05", "dry_run": "true", "check_rules": "false",
                "conversion_rule_id": "104001", "rejects_path": str(tmp_path / "rejects.jsonl"),
                "dry_run_path": str(tmp_path / "dry-run.jsonl")}
    env = {**os.environ, **{f"TARGET_LINKEDIN_CONVERSIONS_{name.upper()}": value
                            for name, value in settings.items()}}
    lines = [{"type": "SCHEMA", "stream": "leads", "key_properties": ["id"],
              "schema": {"properties": {"id": {"type": "integer"},
                                        "email": {"type": "string"}}}},
             {"type": "RECORD", "stream": "leads", "record": {"id": 1, "email": ""}}]
    done = subprocess.run(
        [sys.executable, "-m", "target_linkedin_conversions.target", "--config", "ENV"],
        input="".join(json.dumps(line) + "\n" for line in lines), capture_output=True,
        text=True, timeout=60, env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert "is not of type" not in done.stderr
    assert ("Stopping: 1 of 1 rejected (100.0%: 1 records before sending, 0 events refused by "
            "LinkedIn), above max_reject_ratio 5.0%."
            in done.stderr)


def test_secrets_lose_surrounding_whitespace() -> None:
    connection = Settings.from_config({
        "access_token": " tok-1\n", "client_id": "\tid-1 ", "client_secret": "secret-1\r\n",
        "refresh_token": "\nrefresh-1"}).connection
    assert (connection.access_token, connection.client_id, connection.client_secret,
            connection.refresh_token) == ("tok-1", "id-1", "secret-1", "refresh-1")
    assert errors_of({"access_token": " \n"}) == [
        "set access_token, or client_id + client_secret + refresh_token"]


def test_secrets_with_inner_whitespace_or_control_characters_are_refused_unquoted() -> None:
    problems = errors_of({"access_token": "tok-SECRET 123", "client_id": "id\u200bX",
                          "client_secret": "cs-SECRET\x00", "refresh_token": "rt-SECRET\n2"})
    assert problems == [
        f"{name} contains spaces, line breaks or control characters inside the value; paste "
        "it again as one unbroken string"
        for name in ("access_token", "client_id", "client_secret", "refresh_token")]
    assert not any("SECRET" in problem for problem in problems)


@pytest.mark.parametrize(("url", "problem"), [
    ("http://127.0.0.1:99999", "the port must be a number from 1 to 65535"),
    ("http://127.0.0.1:0", "the port must be a number from 1 to 65535"),
    ("http://127.0.0.1:8801:80", "the port must be a number from 1 to 65535"),
    ("http://[::1", "its host cannot be parsed"),
    ("http://127.0.0.1:8801 x", "it contains spaces or control characters"),
    ("http://127.0.0.1:8801/a\tb", "it contains spaces or control characters"),
    ("ftp://127.0.0.1", "the scheme must be http or https"),
    ("127.0.0.1:1", "the scheme must be http or https"),
    ("http://:8801", "it names no host"),
])
def test_urls_that_requests_cannot_use_are_config_errors(url: str, problem: str) -> None:
    for setting, example in (("api_base_url", "https://api.linkedin.com"),
                             ("oauth_token_url", "https://www.linkedin.com/oauth/v2/accessToken")):
        assert errors_of({"access_token": "t", setting: url}) == [
            f"{setting} must be an http(s) URL such as {example} ({problem}); got {url!r}"]


def test_url_credentials_are_refused_without_echoing_them() -> None:
    assert errors_of({"access_token": "t", "oauth_token_url": "https://me:SECRET@h/token"}) == [
        "oauth_token_url must be an http(s) URL such as "
        "https://www.linkedin.com/oauth/v2/accessToken (it must not carry a user name or "
        "password)"]


def test_a_base_url_takes_no_query_but_usable_urls_pass() -> None:
    assert errors_of({"access_token": "t", "api_base_url": "http://h:8801/?x=1"}) == [
        "api_base_url must be an http(s) URL such as https://api.linkedin.com (a base URL "
        "takes no query or fragment); got 'http://h:8801/?x=1'"]
    connection = Settings.from_config({
        "access_token": "t", "api_base_url": "http://[::1]:8801/",
        "oauth_token_url": "https://127.0.0.1:65535/oauth?tenant=a"}).connection
    assert connection.api_base_url == "http://[::1]:8801"
    assert connection.oauth_token_url == "https://127.0.0.1:65535/oauth?tenant=a"


def test_a_base_url_with_the_rest_path_is_refused_and_spaces_around_urls_are_dropped() -> None:
    for url in ("http://127.0.0.1:8787/rest", "https://api.linkedin.com/rest/"):
        assert errors_of({"access_token": "t", "api_base_url": url}) == [
            "api_base_url must be an http(s) URL such as https://api.linkedin.com (leave /rest "
            f"out: the target adds /rest/... to the base URL itself); got {url!r}"]
    connection = Settings.from_config({
        "access_token": "t", "api_base_url": " http://127.0.0.1:8787\n",
        "oauth_token_url": "\thttp://127.0.0.1:8787/oauth/v2/accessToken "}).connection
    assert connection.api_base_url == "http://127.0.0.1:8787"
    assert connection.oauth_token_url == "http://127.0.0.1:8787/oauth/v2/accessToken"


def test_negative_batches_in_flight_and_an_odd_ratio_are_named_plainly() -> None:
    assert errors_of({"access_token": "t", "max_requests_in_flight": -1,
                      "max_reject_ratio": decimal.Decimal("1.5")}) == [
        "max_reject_ratio must be a number from 0 to 1; got 1.5",
        "max_requests_in_flight must be a whole number of at least 0; got -1"]


def test_an_empty_url_is_an_error_not_linkedins_production() -> None:
    assert errors_of({"access_token": "t", "api_base_url": " ", "oauth_token_url": ""}) == [
        "api_base_url is empty; leave it out to use https://api.linkedin.com",
        "oauth_token_url is empty; leave it out to use "
        "https://www.linkedin.com/oauth/v2/accessToken"]


def test_max_attempts_and_requests_per_minute_are_never_silently_replaced() -> None:
    assert errors_of({"access_token": "t", "max_attempts": 0, "requests_per_minute": -1}) == [
        "requests_per_minute must be a whole number of at least 0; got -1",
        "max_attempts must be a whole number of at least 1; got 0"]
    connection = Settings.from_config({"access_token": "t", "max_attempts": 1,
                                       "requests_per_minute": 0}).connection
    assert (connection.max_attempts, connection.requests_per_minute) == (1, 0)
    defaults = Settings.from_config({"access_token": "t"}).connection
    assert (defaults.max_attempts, defaults.requests_per_minute) == (6, 600)


@pytest.mark.parametrize("plugin", [TargetLinkedInConversions, TapLinkedInConversions])
def test_the_schema_states_the_minimums_so_the_sdk_refuses_them_first(plugin) -> None:
    with pytest.raises(ConfigValidationError) as info:
        plugin(config={"access_token": "t", "conversion_rule_id": "1", "max_attempts": 0,
                       "requests_per_minute": -1}, parse_env_config=False)
    assert info.value.errors == [
        "-1 is less than the minimum of 0 in config['requests_per_minute']",
        "0 is less than the minimum of 1 in config['max_attempts']"]


@pytest.mark.parametrize("script", ["target-linkedin-conversions", "tap-linkedin-conversions"])
def test_a_secret_of_the_wrong_type_is_named_without_its_value(tmp_path, script: str) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"access_token": 987654321, "client_secret": ["s3cr3t-value"],
                                  "conversion_rule_id": "104001"}))
    done = subprocess.run([str(pathlib.Path(sys.executable).parent / script), "--config",
                           str(config)], input="", capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "987654321" not in done.stderr and "s3cr3t-value" not in done.stderr
    for name in ("access_token", "client_secret"):
        assert (f"config['{name}'] has a value of the wrong type or form (not shown: the "
                "setting is secret)") in done.stderr

