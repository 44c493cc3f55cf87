# ruff: noqa: RUF001 - the seeded rule names carry LinkedIn's en dash; these are exact names.
"""Conversion rules at start-up, against the emulator: the exact lookups, creations, partial
updates and campaign associations LinkedIn receives, and the exact start-up failures."""

from __future__ import annotations

import functools
import json
import logging
import subprocess
import sys
import types
import typing as t
import unicodedata

import pytest

from target_linkedin_conversions import target as target_module
from target_linkedin_conversions.client import LinkedInClient
from target_linkedin_conversions.errors import ConfigError, FatalAPIError
from target_linkedin_conversions.mapping import derived_event_id
from target_linkedin_conversions.replay import replay_messages
from target_linkedin_conversions.rules import association_key
from target_linkedin_conversions.settings import Settings
from tests.helpers import base_config, leads, now_ms, read_rejects, record, run_target, schema

RULE = "urn:lla:llaPartnerConversion:"
ACCOUNT_QUERY = "q=account&account=urn%3Ali%3AsponsoredAccount%3A512345678"
PAGE_1 = ACCOUNT_QUERY + "&start=0&count=100"
PAGE_2 = ACCOUNT_QUERY + "&start=100&count=100"
LOOKUP = [("GET", "/rest/conversions", PAGE_1), ("GET", "/rest/conversions", PAGE_2)]
CAMPAIGNS_PATH = "/rest/adAccounts/512345678/adCampaigns"


def campaign_search(*ids: int) -> tuple[str, str, str]:
    """The read-only campaign lookup made before any rule is created or associated."""
    values = ",".join(f"urn%3Ali%3AsponsoredCampaign%3A{n}" for n in ids)
    return ("GET", CAMPAIGNS_PATH, f"q=search&search=(id:(values:List({values})))")

USABLE = (
    "usable conversion rules in ad account 512345678 (enabled, CONVERSIONS_API): "
    "104001 'CAPI – Demo request', 104002 'CAPI – Purchase', 104003 'CAPI – Sign-up', "
    "105001 'Warehouse - Lead 001', 105002 'Warehouse - Qualified lead 002', "
    "105003 'Warehouse - Sign up 003', 105004 'Warehouse - Add to cart 004', "
    "105005 'Warehouse - Book appointment 005', 105006 'Warehouse - Request quote 006', "
    "105008 'Warehouse - Submit application 008', 105009 'Warehouse - Download 009', "
    "105011 'Warehouse - Other 011', 105012 'Warehouse - Purchase 012', "
    "105013 'Warehouse - Lead 013', 105015 'Warehouse - Sign up 015', "
    "105016 'Warehouse - Add to cart 016', 105017 'Warehouse - Book appointment 017', "
    "105018 'Warehouse - Request quote 018', 105019 'Warehouse - Start trial 019', "
    "105022 'Warehouse - Contact 022' and 75 more"
)
TRIAL = {
    "conversion_rule_name": "CAPI – Trial (singer)",
    "conversion_rule_type": "START_TRIAL",
    "attribution_type": "LAST_TOUCH_BY_CONVERSION",
    "post_click_attribution_window_size": 90,
    "view_through_attribution_window_size": 30,
    "value_type": "NO_VALUE",
}

def stopped_with(kind: type[BaseException], run: t.Any) -> t.Any:
    """The run stopped (exit 1, before sending) with an error of KIND; `.value` is the error."""
    assert isinstance(run.error, kind), run.error
    assert run.exit_code == 1
    return types.SimpleNamespace(value=run.error)



def rules_config(emulator, tmp_path, streams: dict, **overrides) -> dict:
    """The emulator's base config with start-up rule checks on (the product default)."""
    config = base_config(emulator.url, tmp_path, streams=streams, **overrides)
    if "check_rules" not in overrides:
        del config["check_rules"]
    return config


def calls(emulator) -> list[tuple[str, str, str]]:
    """(method, path, raw query) of every request the emulator saw, in order."""
    return [(r.method, r.path, r.raw_query) for r in emulator.requests]


def one_lead(at: int | None = None) -> list[dict]:
    return leads([{"id": 1, "email": "jane.doe@example.com",
                   "conversion_happened_at": at or now_ms()}])


def rules_named(emulator, name: str) -> list[dict]:
    return [rule for rule in emulator.world.rules.values() if rule["name"] == name]


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The target's client sleeps recorded instead of waited (its rng fixed at 0.5)."""
    recorded: list[float] = []
    monkeypatch.setattr(target_module, "LinkedInClient", functools.partial(
        LinkedInClient, sleep=recorded.append, rng=lambda: 0.5))
    return recorded


# --- lookup ---------------------------------------------------------------------------------

def test_lookup_reads_every_page_and_finds_a_rule_only_on_page_two(linkedin_emulator, tmp_path,
                                                                  capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {"leads": {"conversion_rule_id": "105101"}})
    run = run_target(config, one_lead(), capsys)

    assert run.error is None
    assert calls(linkedin_emulator) == [*LOOKUP, ("POST", "/rest/conversionEvents", "")]
    lookup = linkedin_emulator.requests[0]
    assert lookup.json is None
    assert lookup.headers["linkedin-version"] == "202609"
    assert lookup.headers["x-restli-protocol-version"] == "2.0.0"
    assert "x-restli-method" not in lookup.headers
    (event,) = linkedin_emulator.accepted_events
    assert event["conversion"] == RULE + "105101"


def test_a_rule_given_by_name_is_sent_by_its_id(linkedin_emulator, tmp_path, capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path,
                          {"leads": {"conversion_rule_name": "CAPI – Purchase"}})
    run = run_target(config, one_lead(), capsys)

    assert run.error is None
    assert [e["conversion"] for e in linkedin_emulator.accepted_events] == [RULE + "104002"]
    assert [r.method for r in linkedin_emulator.requests] == ["GET", "GET", "POST"]


def account_rules(emulator) -> list[dict]:
    return sorted((r for r in emulator.world.rules.values()
                   if r["account"] == "urn:li:sponsoredAccount:512345678"), key=lambda r: r["id"])


def test_a_short_page_does_not_shift_the_next_one(linkedin_emulator, tmp_path, capsys) -> None:
    rules = account_rules(linkedin_emulator)
    short = [rule for n, rule in enumerate(rules[:100]) if n != 50]  # one rule left out
    last = rules[99]
    linkedin_emulator.faults.script("/rest/conversions", [{"status": 200, "body": {
        "elements": short, "paging": {"start": 0, "count": 100, "total": 125}}}], method="GET")
    config = rules_config(linkedin_emulator, tmp_path,
                          {"leads": {"conversion_rule_name": last["name"]}})
    run = run_target(config, one_lead(), capsys)

    assert run.error is None
    assert calls(linkedin_emulator) == [*LOOKUP, ("POST", "/rest/conversionEvents", "")]
    assert linkedin_emulator.accepted_events[0]["conversion"] == RULE + str(last["id"])


@pytest.mark.parametrize("body", [
    {"elements": None, "paging": {"start": 0, "count": 100, "total": 125}},
    {"paging": {"start": 0, "count": 100, "total": 3}},
])
def test_a_page_without_elements_but_with_a_total_is_not_an_empty_account(
        linkedin_emulator, tmp_path, capsys, body) -> None:
    linkedin_emulator.faults.script("/rest/conversions", [{"status": 200, "body": body}],
                                    method="GET")
    config = rules_config(linkedin_emulator, tmp_path,
                          {"leads": {**TRIAL, "conversion_rule_name": "CAPI – Purchase"}},
                          create_missing_rules=True)
    info = stopped_with(FatalAPIError, run_target(config, one_lead(), capsys))
    assert str(info.value) == ("LinkedIn answered the conversion-rule finder with a body that "
                               "is not a page")
    assert calls(linkedin_emulator) == LOOKUP[:1]
    assert len(rules_named(linkedin_emulator, "CAPI – Purchase")) == 1


# --- start-up failures ----------------------------------------------------------------------

@pytest.mark.parametrize(("stream", "problem"), [
    ({"conversion_rule_id": "104010"},
     "streams.leads.conversion_rule_id: conversion rule 104010 'CAPI – Old webinar' is disabled "
     "(enabled is false); LinkedIn refuses events for it"),
    ({"conversion_rule_id": "urn:lla:llaPartnerConversion:104020"},
     "streams.leads.conversion_rule_id: conversion rule 104020 'Website – Pricing page' is not "
     "a Conversions API rule (conversionMethod INSIGHT_TAG_URL_MATCH_RULES); events can only "
     "go to CONVERSIONS_API rules"),
    ({"conversion_rule_id": "204001"},
     "streams.leads.conversion_rule_id: conversion rule 204001 is not in ad account 512345678 "
     "(it does not exist or belongs to another account)"),
    ({"conversion_rule_name": "CAPI – Webinar"},
     "streams.leads.conversion_rule_name: ad account 512345678 has no conversion rule named "
     "'CAPI – Webinar'; create it in Campaign Manager, or set create_missing_rules (with the "
     "rule settings beside the name)"),
    ({"conversion_rule_name": "capi - purchase"},
     "streams.leads.conversion_rule_name: ad account 512345678 has no conversion rule named "
     "'capi - purchase' (did you mean 104002 'CAPI – Purchase'?); create it in Campaign "
     "Manager, or set create_missing_rules (with the rule settings beside the name)"),
    ({"conversion_rule_name": "CAPI – Trial (singer)", "conversion_rule_type": "START_TRIAL",
      "value_type": "DYNAMIC"},
     "streams.leads.conversion_rule_name: creating conversion rule 'CAPI – Trial (singer)' needs "
     "attribution_type, post_click_attribution_window_size, "
     "view_through_attribution_window_size beside the name"),
])
def test_an_unusable_rule_stops_the_run_before_anything_is_sent(
        linkedin_emulator, tmp_path, capsys, stream, problem) -> None:
    create = "creating" in problem
    config = rules_config(linkedin_emulator, tmp_path, {"leads": stream},
                          create_missing_rules=create)
    info = stopped_with(ConfigError, run_target(config, one_lead(), capsys))

    assert info.value.errors == [problem, USABLE]
    assert calls(linkedin_emulator) == LOOKUP
    assert linkedin_emulator.accepted_events == []


def test_every_problem_is_reported_at_once_naming_where_the_rule_is_used(
        linkedin_emulator, tmp_path, capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {
        "leads": {"conversion_rule_id": "104010"},
        "signups": {"rule_field": "plan", "rule_map": {
            "team": "104001", "enterprise": ["104001", {"conversion_rule_id": "999999"}]}},
    }, conversion_rule_id="104020")
    info = stopped_with(ConfigError, run_target(config, one_lead(), capsys))

    assert info.value.errors == [
        "conversion_rule_id: conversion rule 104020 'Website – Pricing page' is not a "
        "Conversions API rule (conversionMethod INSIGHT_TAG_URL_MATCH_RULES); events can only go "
        "to CONVERSIONS_API rules",
        "streams.leads.conversion_rule_id: conversion rule 104010 'CAPI – Old webinar' is "
        "disabled (enabled is false); LinkedIn refuses events for it",
        "streams.signups.rule_map['enterprise'][1]: conversion rule 999999 is not in ad account "
        "512345678 (it does not exist or belongs to another account)",
        USABLE,
    ]
    assert calls(linkedin_emulator) == LOOKUP


def test_checks_need_the_ad_account(linkedin_emulator, tmp_path, capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {})
    del config["ad_account_id"]
    info = stopped_with(ConfigError, run_target(config, one_lead(), capsys))
    assert info.value.errors == [
        "ad_account_id is required to check the conversion rules before sending "
        "(conversion_rule_id); set it, or set check_rules to false"]
    assert linkedin_emulator.requests == []


def test_an_unknown_ad_account_is_a_config_error(linkedin_emulator, tmp_path, capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {}, ad_account_id="511111111")
    info = stopped_with(ConfigError, run_target(config, one_lead(), capsys))
    assert str(info.value) == (
        "ad_account_id 511111111: LinkedIn answered 404 (NOT_FOUND): "
        "Ad account 511111111 does not exist")


def test_check_rules_false_skips_rules_given_by_id_only(linkedin_emulator, tmp_path,
                                                        capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {}, check_rules=False)
    run = run_target(config, one_lead(), capsys)
    assert run.error is None
    assert calls(linkedin_emulator) == [("POST", "/rest/conversionEvents", "")]


# --- creation, exactly once -----------------------------------------------------------------

CREATED_BODY = {
    "name": "CAPI – Trial (singer)",
    "account": "urn:li:sponsoredAccount:512345678",
    "conversionMethod": "CONVERSIONS_API",
    "type": "START_TRIAL",
    "enabled": True,
    "attributionType": "LAST_TOUCH_BY_CONVERSION",
    "postClickAttributionWindowSize": 90,
    "viewThroughAttributionWindowSize": 30,
    "valueType": "NO_VALUE",
}


def test_a_missing_rule_is_created_once_even_when_the_run_crashes_before_sending(
        linkedin_emulator, tmp_path, capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {"leads": TRIAL},
                          create_missing_rules=True, max_attempts=1)
    linkedin_emulator.faults.script("/rest/conversionEvents", [{"status": 500}] * 10)

    first = run_target(config, one_lead(), capsys)

    assert first.error is not None and first.exit_code == 1
    assert calls(linkedin_emulator) == [*LOOKUP, ("POST", "/rest/conversions", ""),
                                        ("POST", "/rest/conversionEvents", "")]
    create = linkedin_emulator.requests[2]
    assert (create.status, create.json) == (201, CREATED_BODY)
    assert "x-restli-method" not in create.headers
    (created,) = rules_named(linkedin_emulator, "CAPI – Trial (singer)")
    assert {k: created[k] for k in CREATED_BODY} == CREATED_BODY

    linkedin_emulator.reset()  # forgets requests and faults, keeps the created rule
    second = run_target(config, one_lead(), capsys)

    assert second.error is None
    assert calls(linkedin_emulator) == [*LOOKUP, ("POST", "/rest/conversionEvents", "")]
    assert len(rules_named(linkedin_emulator, "CAPI – Trial (singer)")) == 1
    (event,) = linkedin_emulator.accepted_events
    assert event["conversion"] == RULE + str(created["id"])


def test_a_create_whose_answer_is_lost_is_found_by_name_not_repeated(
        linkedin_emulator, tmp_path, capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {"leads": TRIAL},
                          create_missing_rules=True, max_attempts=1)
    linkedin_emulator.faults.script("/rest/conversions", [{"drop": "after"}], method="POST")

    run = run_target(config, one_lead(), capsys)

    assert run.error is None
    assert [(r.method, r.path) for r in linkedin_emulator.requests] == [
        ("GET", "/rest/conversions")] * 2 + [("POST", "/rest/conversions")] + [
        ("GET", "/rest/conversions")] * 2 + [("POST", "/rest/conversionEvents")]
    (created,) = rules_named(linkedin_emulator, "CAPI – Trial (singer)")
    assert linkedin_emulator.accepted_events[0]["conversion"] == RULE + str(created["id"])



def test_a_create_whose_answer_is_lost_is_not_repeated_by_the_clients_retries(
        linkedin_emulator, tmp_path, capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {"leads": TRIAL},
                          create_missing_rules=True, max_attempts=2)
    linkedin_emulator.faults.script("/rest/conversions", [{"drop": "after"}], method="POST")

    run_target(config, one_lead(), capsys)

    assert len(rules_named(linkedin_emulator, "CAPI – Trial (singer)")) == 1

def test_a_create_that_failed_before_reaching_linkedin_is_tried_again_once(
        linkedin_emulator, tmp_path, capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {"leads": TRIAL},
                          create_missing_rules=True, max_attempts=3)
    linkedin_emulator.faults.script("/rest/conversions", [{"drop": "before"}], method="POST")

    run = run_target(config, one_lead(), capsys)

    assert run.error is None
    posts = [r.status for r in linkedin_emulator.requests
             if (r.method, r.path) == ("POST", "/rest/conversions")]
    assert posts == [0, 201]  # the dropped attempt, then one real create
    assert len(rules_named(linkedin_emulator, "CAPI – Trial (singer)")) == 1


def test_a_throttled_create_waits_for_retry_after_then_looks_before_trying_again(
        linkedin_emulator, tmp_path, capsys, caplog, waits) -> None:
    caplog.set_level(logging.INFO)
    config = rules_config(linkedin_emulator, tmp_path, {"leads": TRIAL},
                          create_missing_rules=True, max_attempts=3)
    linkedin_emulator.faults.script("/rest/conversions", [{"status": 429, "retry_after": 7},
                                                          {"status": 503}], method="POST")

    run = run_target(config, one_lead(), capsys)

    assert run.error is None
    create = ("POST", "/rest/conversions", "")
    assert calls(linkedin_emulator) == [*LOOKUP, create, *LOOKUP, create, *LOOKUP, create,
                                        ("POST", "/rest/conversionEvents", "")]
    assert [r.status for r in linkedin_emulator.requests
            if (r.method, r.path) == create[:2]] == [429, 503, 201]
    assert waits == [7.05, 1.0]  # Retry-After plus jitter, then rng 0.5 * 2^1 (the client's policy)
    assert len(rules_named(linkedin_emulator, "CAPI – Trial (singer)")) == 1
    rule_logs = [(r.levelname, r.getMessage()) for r in caplog.records
                 if r.name.startswith("target_linkedin_conversions.")
                 and r.levelno >= logging.WARNING]
    assert [level for level, _ in rule_logs] == ["WARNING"] * 4
    assert rule_logs[1] == ("WARNING", "Creating conversion rule 'CAPI – Trial (singer)' failed "
                            "(attempt 1 of 3); waiting 7.0 s, then creating it again unless it "
                            "exists by then")
    assert rule_logs[0][1].startswith("LinkedIn call failed (LinkedIn answered 429")
    assert rule_logs[0][1].endswith("not retried here: the call is not idempotent")


def test_a_create_that_keeps_failing_stops_after_max_attempts_without_duplicates(
        linkedin_emulator, tmp_path, capsys, waits) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {"leads": TRIAL},
                          create_missing_rules=True, max_attempts=2)
    linkedin_emulator.faults.script("/rest/conversions", [{"status": 503}] * 2, method="POST")
    run = run_target(config, one_lead(), capsys)

    assert run.exit_code == 1
    assert str(run.error).startswith("LinkedIn answered 503")
    assert [(m, p) for m, p, _ in calls(linkedin_emulator)] == [
        ("GET", "/rest/conversions")] * 2 + [("POST", "/rest/conversions")] + [
        ("GET", "/rest/conversions")] * 2 + [("POST", "/rest/conversions")] + [
        ("GET", "/rest/conversions")] * 2
    assert waits == [0.5]
    assert rules_named(linkedin_emulator, "CAPI – Trial (singer)") == []


def test_one_name_used_by_two_streams_is_created_once(linkedin_emulator, tmp_path,
                                                      capsys) -> None:
    name_only = {"conversion_rule_name": TRIAL["conversion_rule_name"]}
    config = rules_config(linkedin_emulator, tmp_path, {
        "leads": TRIAL, "signups": {"rule_field": "plan", "rule_map": {"trial": name_only}}},
        create_missing_rules=True)
    run = run_target(config, one_lead(), capsys)
    assert run.error is None
    assert [r.path for r in linkedin_emulator.requests].count("/rest/conversions") == 3
    assert len(rules_named(linkedin_emulator, "CAPI – Trial (singer)")) == 1


def test_two_usable_rules_with_one_name_are_ambiguous(linkedin_emulator, tmp_path,
                                                      capsys) -> None:
    twin = dict(linkedin_emulator.world.rules[104002], id=104099)
    linkedin_emulator.world.rules[104099] = twin
    config = rules_config(linkedin_emulator, tmp_path,
                          {"leads": {"conversion_rule_name": "CAPI – Purchase"}},
                          create_missing_rules=True)
    info = stopped_with(ConfigError, run_target(config, one_lead(), capsys))
    assert info.value.errors[0] == (
        "streams.leads.conversion_rule_name: 2 usable conversion rules are named "
        "'CAPI – Purchase' (104002, 104099); name one by conversion_rule_id instead")


@pytest.mark.parametrize("name", [
    "CAPI - Purchase",      # hyphen for LinkedIn's en dash
    "CAPI – Purchase ",     # trailing space
    "CAPI  –  Purchase",    # double spaces
    "capi – purchase",      # case
    "CAPI \u2011 Purchase",  # non-breaking hyphen
])
def test_a_near_miss_name_is_never_created_as_a_near_duplicate(linkedin_emulator, tmp_path,
                                                               capsys, name) -> None:
    config = rules_config(linkedin_emulator, tmp_path,
                          {"leads": {**TRIAL, "conversion_rule_name": name}},
                          create_missing_rules=True)
    before = len(linkedin_emulator.world.rules)
    info = stopped_with(ConfigError, run_target(config, one_lead(), capsys))

    assert info.value.errors == [
        f"streams.leads.conversion_rule_name: ad account 512345678 has no conversion rule named "
        f"{name!r} (did you mean 104002 'CAPI – Purchase'?); not creating a near-duplicate "
        "(LinkedIn cannot delete rules): give the exact name, or the rule's conversion_rule_id",
        USABLE]
    assert calls(linkedin_emulator) == LOOKUP
    assert len(linkedin_emulator.world.rules) == before  # nothing created


def test_a_name_is_matched_however_its_accents_are_composed(linkedin_emulator, tmp_path,
                                                            capsys) -> None:
    nfc = "CAPI – Démo (café)"
    linkedin_emulator.world.rules[104099] = dict(linkedin_emulator.world.rules[104001],
                                                 id=104099, name=nfc, campaigns=[])
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    config = rules_config(linkedin_emulator, tmp_path, {
        "leads": {**TRIAL, "conversion_rule_name": nfd, "conversion_rule_type": "LEAD",
                  "attribution_type": "LAST_TOUCH_BY_CAMPAIGN",
                  "post_click_attribution_window_size": 30,
                  "view_through_attribution_window_size": 7, "value_type": "DYNAMIC"},
        "signups": {"rule_field": "plan", "rule_map": {"x": {"conversion_rule_name": nfc}}}},
        create_missing_rules=True)
    run = run_target(config, one_lead(), capsys)

    assert run.error is None
    assert calls(linkedin_emulator) == [*LOOKUP, ("POST", "/rest/conversionEvents", "")]
    assert linkedin_emulator.accepted_events[0]["conversion"] == RULE + "104099"
    assert [r["id"] for r in linkedin_emulator.world.rules.values() if r["name"] == nfc] == [
        104099]


# --- declared settings: warn, or partial update ---------------------------------------------

PURCHASE_DECLARED = {
    "conversion_rule_id": "104002",
    "conversion_rule_type": "PURCHASE",
    "attribution_type": "LAST_TOUCH_BY_CONVERSION",
    "post_click_attribution_window_size": 30,
    "view_through_attribution_window_size": 1,
    "value_type": "DYNAMIC",
}


def test_differences_are_only_warned_about_without_update_rules(linkedin_emulator, tmp_path,
                                                                capsys, caplog) -> None:
    caplog.set_level(logging.INFO)
    config = rules_config(linkedin_emulator, tmp_path, {"leads": PURCHASE_DECLARED})
    run = run_target(config, one_lead(), capsys)

    assert run.error is None
    assert calls(linkedin_emulator) == [*LOOKUP, ("POST", "/rest/conversionEvents", "")]
    assert linkedin_emulator.world.rules[104002]["attributionType"] == "LAST_TOUCH_BY_CAMPAIGN"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        "Conversion rule 104002 'CAPI – Purchase' (streams.leads.conversion_rule_id) differs "
        "from the config: attributionType is 'LAST_TOUCH_BY_CAMPAIGN' at LinkedIn, "
        "'LAST_TOUCH_BY_CONVERSION' in attribution_type; viewThroughAttributionWindowSize is 7 "
        "at LinkedIn, 1 in view_through_attribution_window_size. Set update_rules to change "
        "the rule.") in warnings


def test_update_rules_patches_only_the_differing_fields(linkedin_emulator, tmp_path,
                                                        capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {"leads": PURCHASE_DECLARED},
                          update_rules=True)
    first = run_target(config, one_lead(), capsys)

    assert first.error is None
    assert calls(linkedin_emulator) == [
        *LOOKUP,
        ("POST", "/rest/conversions/104002", "account=urn%3Ali%3AsponsoredAccount%3A512345678"),
        ("POST", "/rest/conversionEvents", ""),
    ]
    patch = linkedin_emulator.requests[2]
    assert patch.headers["x-restli-method"] == "PARTIAL_UPDATE"
    assert (patch.status, patch.json) == (204, {"patch": {"$set": {
        "attributionType": "LAST_TOUCH_BY_CONVERSION", "viewThroughAttributionWindowSize": 1}}})
    rule = linkedin_emulator.world.rules[104002]
    assert (rule["attributionType"], rule["viewThroughAttributionWindowSize"]) == (
        "LAST_TOUCH_BY_CONVERSION", 1)

    linkedin_emulator.reset()
    second = run_target(config, one_lead(), capsys)
    assert second.error is None
    assert calls(linkedin_emulator) == [*LOOKUP, ("POST", "/rest/conversionEvents", "")]


def test_a_365_day_window_is_checked_against_linkedins_rule_type(linkedin_emulator, tmp_path,
                                                                  capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {"leads": {
        "conversion_rule_id": "104003", "post_click_attribution_window_size": 365}},
        update_rules=True)
    info = stopped_with(ConfigError, run_target(config, one_lead(), capsys))
    assert info.value.errors[0] == (
        "streams.leads.conversion_rule_id: post_click_attribution_window_size 365 is only "
        "allowed for ADD_TO_CART, LEAD, PURCHASE, QUALIFIED_LEAD, SUBMIT_APPLICATION, not "
        "SIGN_UP; use one of 1, 7, 30, 90, 180 (conversion rule 104003 'CAPI – Sign-up')")
    assert calls(linkedin_emulator) == LOOKUP


def test_a_new_type_that_forbids_the_rules_current_window_stops_before_any_create(
        linkedin_emulator, tmp_path, capsys) -> None:
    linkedin_emulator.world.rules[104098] = dict(
        linkedin_emulator.world.rules[104001], id=104098, name="Long lead",
        postClickAttributionWindowSize=365, campaigns=[])
    config = rules_config(linkedin_emulator, tmp_path, {
        "leads": {"conversion_rule_name": "Long lead", "conversion_rule_type": "SIGN_UP"},
        "trials": TRIAL}, update_rules=True, create_missing_rules=True)
    info = stopped_with(ConfigError, run_target(config, one_lead(), capsys))

    assert info.value.errors[:-1] == [
        "streams.leads.conversion_rule_name: conversion rule 104098 'Long lead' has "
        "post_click_attribution_window_size 365 at LinkedIn, which the declared "
        "conversion_rule_type SIGN_UP does not allow (365 is only allowed for ADD_TO_CART, "
        "LEAD, PURCHASE, QUALIFIED_LEAD, SUBMIT_APPLICATION, not SIGN_UP; use one of 1, 7, 30, "
        "90, 180); declare post_click_attribution_window_size beside it"]
    assert calls(linkedin_emulator) == LOOKUP
    assert rules_named(linkedin_emulator, TRIAL["conversion_rule_name"]) == []
    assert linkedin_emulator.world.rules[104098]["type"] == "LEAD"


def test_a_new_type_with_a_window_it_allows_is_one_partial_update(linkedin_emulator, tmp_path,
                                                                  capsys) -> None:
    linkedin_emulator.world.rules[104098] = dict(
        linkedin_emulator.world.rules[104001], id=104098, name="Long lead",
        postClickAttributionWindowSize=365, campaigns=[])
    config = rules_config(linkedin_emulator, tmp_path, {"leads": {
        "conversion_rule_name": "Long lead", "conversion_rule_type": "SIGN_UP",
        "post_click_attribution_window_size": 90}}, update_rules=True)
    assert run_target(config, one_lead(), capsys).error is None
    patch = linkedin_emulator.requests[2]
    assert (patch.path, patch.status, patch.json) == ("/rest/conversions/104098", 204, {
        "patch": {"$set": {"type": "SIGN_UP", "postClickAttributionWindowSize": 90}}})


def test_one_rule_by_id_and_by_name_with_contradicting_settings_is_a_config_error(
        linkedin_emulator, tmp_path, capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {
        "leads": {"conversion_rule_id": "104002", "value_type": "FIXED"},
        "purchases": {"conversion_rule_name": "CAPI – Purchase", "value_type": "NO_VALUE"}},
        update_rules=True)
    info = stopped_with(ConfigError, run_target(config, one_lead(), capsys))

    assert info.value.errors == [
        "streams.leads.conversion_rule_id and streams.purchases.conversion_rule_name declare "
        "different value_type for conversion rule 104002 'CAPI – Purchase': 'FIXED' and "
        "'NO_VALUE'", USABLE]
    assert calls(linkedin_emulator) == LOOKUP
    assert linkedin_emulator.world.rules[104002]["valueType"] == "DYNAMIC"


def test_one_rule_by_id_and_by_name_is_updated_and_associated_once(linkedin_emulator, tmp_path,
                                                                   capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {
        "leads": {"conversion_rule_id": "104002", "value_type": "FIXED",
                  "campaigns": ["310000007"]},
        "purchases": {"conversion_rule_name": "CAPI – Purchase", "value_type": "FIXED",
                      "campaigns": ["310000007", "310000008"]}}, update_rules=True)
    assert run_target(config, one_lead(), capsys).error is None

    assert [(m, p) for m, p, _ in calls(linkedin_emulator)] == [
        *[(m, p) for m, p, _ in LOOKUP], ("GET", CAMPAIGNS_PATH),
        ("POST", "/rest/conversions/104002"), ("PUT", "/rest/campaignConversions"),
        ("POST", "/rest/conversionEvents")]
    assert calls(linkedin_emulator)[2] == campaign_search(310000007, 310000008)
    assert len(linkedin_emulator.requests[4].json["entities"]) == 2


# --- campaign associations ------------------------------------------------------------------

def test_campaigns_are_associated_in_one_batch_put_and_none_is_removed(
        linkedin_emulator, tmp_path, capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {"leads": {
        "conversion_rule_id": "105001",
        "campaigns": [310000001, "310000003", "urn:li:sponsoredCampaign:310000005"]}})
    run = run_target(config, one_lead(), capsys)

    assert run.error is None
    key_3 = ("(campaign:urn%3Ali%3AsponsoredCampaign%3A310000003,"
             "conversion:urn%3Alla%3AllaPartnerConversion%3A105001)")
    key_5 = ("(campaign:urn%3Ali%3AsponsoredCampaign%3A310000005,"
             "conversion:urn%3Alla%3AllaPartnerConversion%3A105001)")
    assert calls(linkedin_emulator) == [
        *LOOKUP,
        campaign_search(310000003, 310000005),
        ("PUT", "/rest/campaignConversions", f"ids=List({key_3},{key_5})"),
        ("POST", "/rest/conversionEvents", ""),
    ]
    put = linkedin_emulator.requests[3]
    assert put.headers["x-restli-method"] == "BATCH_UPDATE"
    assert put.status == 200
    assert put.json == {"entities": {
        key_3: {"campaign": "urn:li:sponsoredCampaign:310000003",
                "conversion": "urn:lla:llaPartnerConversion:105001"},
        key_5: {"campaign": "urn:li:sponsoredCampaign:310000005",
                "conversion": "urn:lla:llaPartnerConversion:105001"},
    }}
    associated = sorted(c for c, r in linkedin_emulator.world.campaign_conversions
                        if r == RULE + "105001")
    assert associated == [f"urn:li:sponsoredCampaign:31000000{n}" for n in (1, 2, 3, 4, 5)]

    linkedin_emulator.reset()
    assert run_target(config, one_lead(), capsys).error is None
    assert calls(linkedin_emulator) == [*LOOKUP, ("POST", "/rest/conversionEvents", "")]


def test_association_key_encodes_the_urns_and_keeps_the_structure() -> None:
    assert association_key("urn:li:sponsoredCampaign:1", "urn:lla:llaPartnerConversion:9") == (
        "(campaign:urn%3Ali%3AsponsoredCampaign%3A1,conversion:urn%3Alla%3AllaPartnerConversion"
        "%3A9)")


def test_a_refused_association_stops_the_run_before_sending(linkedin_emulator, tmp_path,
                                                            capsys) -> None:
    key = association_key("urn:li:sponsoredCampaign:310000007", RULE + "104001")
    linkedin_emulator.faults.script("/rest/campaignConversions", [{"status": 200, "body": {
        "results": {}, "errors": {key: {"status": 400, "message": "Campaign is archived"}}}}],
        method="PUT")
    config = rules_config(linkedin_emulator, tmp_path, {"leads": {
        "conversion_rule_id": "104001", "campaigns": ["310000007"]}})
    info = stopped_with(ConfigError, run_target(config, one_lead(), capsys))
    assert info.value.errors == [
        "streams.leads.conversion_rule_id: LinkedIn refused to associate campaign 310000007 "
        "with conversion rule 104001 'CAPI – Demo request': Campaign is archived"]
    assert [r.path for r in linkedin_emulator.requests][-1] == "/rest/campaignConversions"
    assert linkedin_emulator.accepted_events == []


def test_a_campaign_of_another_account_stops_the_run_before_a_rule_is_created(
        linkedin_emulator, tmp_path, capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {
        "leads": {**TRIAL, "campaigns": ["310000007", "320000001", "399999999"]},
        "purchases": {"conversion_rule_id": "104002", "campaigns": ["320000001"]}},
        create_missing_rules=True)
    info = stopped_with(ConfigError, run_target(config, one_lead(), capsys))

    assert info.value.errors == [
        "streams.leads.conversion_rule_name, streams.purchases.conversion_rule_id: campaign "
        "320000001 is not in ad account 512345678 (it does not exist or belongs to another "
        "account); a conversion rule can only be associated with campaigns of its own ad "
        "account",
        "streams.leads.conversion_rule_name: campaign 399999999 is not in ad account 512345678 "
        "(it does not exist or belongs to another account); a conversion rule can only be "
        "associated with campaigns of its own ad account",
    ]
    assert calls(linkedin_emulator) == [
        *LOOKUP, campaign_search(310000007, 320000001, 399999999)]
    assert rules_named(linkedin_emulator, TRIAL["conversion_rule_name"]) == []


def test_campaigns_are_looked_up_in_chunks_of_50(linkedin_emulator, tmp_path, capsys) -> None:
    ids = list(range(310000001, 310000061))
    config = rules_config(linkedin_emulator, tmp_path, {"leads": {
        "conversion_rule_id": "104002", "campaigns": ids}}, dry_run=True)
    assert run_target(config, one_lead(), capsys).error is None
    assert calls(linkedin_emulator) == [
        *LOOKUP, campaign_search(*ids[:50]), campaign_search(*ids[50:])]


@pytest.mark.parametrize("campaign", ["0310000001", "urn:li:sponsoredCampaign:00310000002"])
def test_campaign_ids_with_leading_zeros_are_linkedins_ids(linkedin_emulator, tmp_path, capsys,
                                                           campaign) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {"leads": {
        "conversion_rule_id": "105001", "campaigns": [campaign]}})
    assert run_target(config, one_lead(), capsys).error is None
    # already associated with 105001: nothing to look up or associate
    assert calls(linkedin_emulator) == [*LOOKUP, ("POST", "/rest/conversionEvents", "")]


def test_a_created_rule_gets_its_campaigns(linkedin_emulator, tmp_path, capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path,
                          {"leads": {**TRIAL, "campaigns": ["310000007"]}},
                          create_missing_rules=True)
    assert run_target(config, one_lead(), capsys).error is None
    (created,) = rules_named(linkedin_emulator, "CAPI – Trial (singer)")
    assert [r.method for r in linkedin_emulator.requests] == [
        "GET", "GET", "GET", "POST", "PUT", "POST"]
    assert linkedin_emulator.requests[2].raw_query == campaign_search(310000007)[2]
    assert created["campaigns"] == ["urn:li:sponsoredCampaign:310000007"]


# --- rule_map fan-out -----------------------------------------------------------------------

SIGNUP_PROPERTIES = {"id": {"type": "integer"}, "email": {"type": "string"},
                     "plan": {"type": "string"}, "conversion_happened_at": {"type": "integer"}}


def test_one_value_fans_out_to_several_rules_and_element_errors_hit_the_right_record(
        linkedin_emulator, tmp_path, capsys) -> None:
    signup = {"conversion_rule_name": "CAPI – Sign-up"}
    config = rules_config(linkedin_emulator, tmp_path, {"signups": {
        "rule_field": "plan", "rule_map": {"team": signup, "enterprise": [signup, "104001"]}}})
    at = now_ms()
    rows = [{"id": n, "email": f"user{n}@example.com", "plan": plan, "conversion_happened_at": at}
            for n, plan in ((1, "team"), (2, "enterprise"), (3, "enterprise"))]
    refused = derived_event_id("signups", [2], RULE + "104001")
    linkedin_emulator.faults.reject_elements({refused: "ERROR :: /user :: not a member"})

    run = run_target(config, [schema("signups", SIGNUP_PROPERTIES, ["id"]),
                              *(record("signups", row) for row in rows)], capsys)

    assert run.error is None
    accepted = [(e["eventId"], e["conversion"]) for e in linkedin_emulator.accepted_events]
    assert accepted == [
        (derived_event_id("signups", [1], RULE + "104003"), RULE + "104003"),
        (derived_event_id("signups", [2], RULE + "104003"), RULE + "104003"),
        (derived_event_id("signups", [3], RULE + "104003"), RULE + "104003"),
        (derived_event_id("signups", [3], RULE + "104001"), RULE + "104001"),
    ]
    (reject,) = read_rejects(tmp_path)
    assert (reject["reason"], reject["record"]) == ("linkedin_rejected", rows[1])
    assert reject["event"]["conversion"] == RULE + "104001"
    assert "not a member" in reject["message"]


def test_reject_ratio_counts_refused_fan_out_events_not_records_twice(
        linkedin_emulator, tmp_path, capsys) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {"signups": {
        "rule_field": "plan", "rule_map": {"enterprise": ["104003", "104001"]}}},
        max_reject_ratio=0.9)
    at = now_ms()
    rows = [{"id": n, "email": f"user{n}@example.com", "plan": plan,
             "conversion_happened_at": at} for n, plan in ((1, "enterprise"), (2, "none"))]
    linkedin_emulator.faults.reject_elements({
        derived_event_id("signups", [1], RULE + rule): "ERROR :: /x :: refused"
        for rule in ("104001", "104003")})
    run = run_target(config, [schema("signups", SIGNUP_PROPERTIES, ["id"]),
                              *(record("signups", row) for row in rows)], capsys)
    assert run.exit_code == 1
    assert str(run.error).startswith(
        "3 of 3 rejected (100.0%: 1 records before sending, 2 events refused by LinkedIn), "
        "above max_reject_ratio 90.0%.")


def test_replaying_fan_out_rejects_sends_only_the_refused_events_once(
        linkedin_emulator, tmp_path, capsys) -> None:
    signup = {"conversion_rule_name": "CAPI – Sign-up"}
    config = rules_config(linkedin_emulator, tmp_path, {"signups": {
        "rule_field": "plan", "rule_map": {"enterprise": [signup, "104001"]}}})
    at = now_ms()
    rows = [{"id": n, "email": f"user{n}@example.com", "plan": "enterprise",
             "conversion_happened_at": at} for n in (1, 2)]
    ids = {(n, rule): derived_event_id("signups", [n], RULE + rule)
           for n in (1, 2) for rule in ("104001", "104003")}
    linkedin_emulator.faults.reject_elements({
        ids[1, "104001"]: "ERROR :: /x :: refused", ids[2, "104001"]: "ERROR :: /x :: refused",
        ids[2, "104003"]: "ERROR :: /x :: refused"})
    messages = [schema("signups", SIGNUP_PROPERTIES, ["id"]),
                *(record("signups", row) for row in rows)]
    run_target(config, messages, capsys)
    assert [e["eventId"] for e in linkedin_emulator.accepted_events] == [ids[1, "104003"]]
    rejected = read_rejects(tmp_path)
    assert len(rejected) == 3

    linkedin_emulator.faults.clear()
    linkedin_emulator.reset()
    (tmp_path / "rejects.jsonl").unlink()
    replay = list(replay_messages(rejected))
    assert [m["record"]["id"] for m in replay if m["type"] == "RECORD"] == [1, 2]
    run = run_target(config, replay, capsys)

    assert run.error is None
    assert sorted(e["eventId"] for e in linkedin_emulator.accepted_events) == sorted(
        [ids[1, "104001"], ids[2, "104001"], ids[2, "104003"]])
    assert all("__linkedin_replay_conversions" not in json.dumps(e)
               for e in linkedin_emulator.accepted_events)


# --- dry run --------------------------------------------------------------------------------

def test_dry_run_looks_up_but_creates_updates_and_associates_nothing(
        linkedin_emulator, tmp_path, capsys, caplog) -> None:
    caplog.set_level(logging.INFO)
    config = rules_config(linkedin_emulator, tmp_path, {
        "leads": {**TRIAL, "campaigns": ["310000007"]},
        "purchases": {**PURCHASE_DECLARED, "campaigns": ["310000003"]},
    }, create_missing_rules=True, update_rules=True, dry_run=True)
    before = json.dumps(linkedin_emulator.world.rules, sort_keys=True)

    run = run_target(config, one_lead(), capsys)

    assert run.error is None
    assert calls(linkedin_emulator) == [*LOOKUP, campaign_search(310000007, 310000003)]
    assert json.dumps(linkedin_emulator.world.rules, sort_keys=True) == before
    (line,) = (tmp_path / "dry_run.jsonl").read_text().splitlines()
    assert json.loads(line)["body"]["elements"][0]["conversion"] == RULE + "0"
    messages = [r.getMessage() for r in caplog.records]
    assert (
        "Dry run: would create conversion rule 'CAPI – Trial (singer)' in ad account 512345678 "
        "for streams.leads.conversion_rule_name (type START_TRIAL, attributionType "
        "LAST_TOUCH_BY_CONVERSION, postClickAttributionWindowSize 90, "
        "viewThroughAttributionWindowSize 30, valueType NO_VALUE); its events are shown with "
        "rule id 0") in messages
    assert ("Dry run: would associate campaigns 310000007 with conversion rule "
            "'CAPI – Trial (singer)'") in messages
    assert ("Dry run: would associate campaigns 310000003 with conversion rule "
            "104002 'CAPI – Purchase'") in messages
    assert any(m.startswith("Dry run: conversion rule 104002 'CAPI – Purchase' ") and
               m.endswith("would update attributionType, viewThroughAttributionWindowSize")
               for m in messages)


def test_logs_name_rules_and_counts_but_never_the_token(linkedin_emulator, tmp_path, capsys,
                                                        caplog) -> None:
    caplog.set_level(logging.DEBUG)
    config = rules_config(linkedin_emulator, tmp_path, {"leads": TRIAL},
                          create_missing_rules=True)
    run_target(config, one_lead(), capsys)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "test-token" not in text
    (created,) = rules_named(linkedin_emulator, "CAPI – Trial (singer)")
    assert (f"Created conversion rule {created['id']} 'CAPI – Trial (singer)' (START_TRIAL) in "
            "ad account 512345678 for streams.leads.conversion_rule_name") in text
    assert ("Conversion rules ready: 2 checked, 1 created, 0 updated, 0 campaign associations "
            "added (ad account 512345678: 125 rules read; 3 requests)") in text


# --- local validation (no I/O) --------------------------------------------------------------

def errors_of(config: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        Settings.from_config({"access_token": "t", **config})
    return info.value.errors


def test_rule_settings_are_checked_against_linkedins_enums_and_window_rules() -> None:
    assert errors_of({"ad_account_id": "1", "linkedin_version": "202607", "streams": {"s": {
        "conversion_rule_name": "X", "conversion_rule_type": "MARKETING_QUALIFIED_LEAD",
        "attribution_type": "EACH_CAMPAIGN", "post_click_attribution_window_size": 365,
        "view_through_attribution_window_size": 14, "value_type": "FIXED"}}}) == [
        "streams.s.attribution_type must be one of LAST_TOUCH_BY_CAMPAIGN, "
        "LAST_TOUCH_BY_CONVERSION; got 'EACH_CAMPAIGN'",
        "streams.s.conversion_rule_type MARKETING_QUALIFIED_LEAD needs linkedin_version 202608 "
        "or later",
        "streams.s.post_click_attribution_window_size 365 is only allowed for ADD_TO_CART, LEAD, "
        "PURCHASE, QUALIFIED_LEAD, SUBMIT_APPLICATION, not MARKETING_QUALIFIED_LEAD; use one of "
        "1, 7, 30, 90, 180",
        "streams.s.view_through_attribution_window_size must be one of 1, 7, 30, 90, 180 (365 "
        "for ADD_TO_CART, LEAD, PURCHASE, QUALIFIED_LEAD, SUBMIT_APPLICATION); got 14",
    ]


def test_rule_references_are_checked_where_they_are_written() -> None:
    assert errors_of({"ad_account_id": "1", "streams": {
        "both": {"conversion_rule_id": "1", "conversion_rule_name": "X"},
        "loose": {"value_type": "DYNAMIC"},
        "mapped": {"rule_field": "k", "rule_map": {
            "a": {"conversion_rule_name": "X", "colour": "red"}, "b": [{"value_type": "FIXED"}],
            "c": {"conversion_rule_name": "Y", "campaigns": ["x1"]}}},
    }}) == [
        "streams.both: set conversion_rule_id or conversion_rule_name, not both",
        "streams.loose.value_type describes the stream's own rule: set "
        "streams.loose.conversion_rule_id or streams.loose.conversion_rule_name",
        "streams.mapped.rule_map['a'] has unknown keys colour; allowed: conversion_rule_id, "
        "conversion_rule_name, conversion_rule_type, attribution_type, "
        "post_click_attribution_window_size, view_through_attribution_window_size, value_type, "
        "campaigns",
        "streams.mapped.rule_map['b'] needs conversion_rule_id or conversion_rule_name",
        "streams.mapped.rule_map['c'] campaigns must be a list of campaign ids or "
        "urn:li:sponsoredCampaign:N",
    ]


def test_ids_are_ascii_digits_and_canonical_as_in_linkedins_urns() -> None:
    assert errors_of({"ad_account_id": "5\u00b2", "streams": {"s": {
        "conversion_rule_id": "1", "campaigns": ["\uff15"]}, "t": {
        "conversion_rule_id": "\u0661", "campaigns": ["5\u00b2"]}}}) == [
        "ad_account_id must be a number or urn:li:sponsoredAccount:N; got '5\u00b2'",
        "streams.s.campaigns must be a list of campaign ids or urn:li:sponsoredCampaign:N",
        "streams.t.conversion_rule_id must be a numeric rule id or "
        "urn:lla:llaPartnerConversion:N; got '\u0661'",
        "streams.t.campaigns must be a list of campaign ids or urn:li:sponsoredCampaign:N",
    ]
    settings = Settings.from_config({"access_token": "t", "ad_account_id": "0512345678",
                                     "conversion_rule_id": "0104001", "streams": {"s": {
        "conversion_rule_id": "urn:lla:llaPartnerConversion:007",
        "campaigns": ["0310000003", 310000003, "urn:li:sponsoredCampaign:00310000004"]}}})
    assert settings.ad_account_urn == "urn:li:sponsoredAccount:512345678"
    assert [(r.urn, r.campaigns) for r in settings.rule_refs()] == [
        (RULE + "104001", ()),
        (RULE + "7", ("urn:li:sponsoredCampaign:310000003",
                      "urn:li:sponsoredCampaign:310000004")),
    ]


def test_names_and_campaigns_need_the_ad_account() -> None:
    assert errors_of({"streams": {"s": {"conversion_rule_name": "X"}}}) == [
        "streams.s names a rule by conversion_rule_name or lists campaigns: set ad_account_id "
        "(the account those rules and campaigns belong to)"]


def test_rule_refs_list_every_place_a_rule_is_named() -> None:
    settings = Settings.from_config({"access_token": "t", "ad_account_id": "1",
                                     "conversion_rule_id": "7", "streams": {
        "a": {"conversion_rule_name": "N", "value_type": "FIXED", "campaigns": [5, 5]},
        "b": {"rule_field": "k", "rule_map": {"x": "8", "y": ["9", {"conversion_rule_name": "M"}]}},
    }})
    refs = [(r.setting, r.stream, r.urn, r.name, r.declared, r.campaigns)
            for r in settings.rule_refs()]
    assert refs == [
        ("conversion_rule_id", None, RULE + "7", None, {}, ()),
        ("streams.a.conversion_rule_name", "a", None, "N", {"valueType": "FIXED"},
         ("urn:li:sponsoredCampaign:5",)),
        ("streams.b.rule_map['x']", "b", RULE + "8", None, {}, ()),
        ("streams.b.rule_map['y'][0]", "b", RULE + "9", None, {}, ()),
        ("streams.b.rule_map['y'][1]", "b", None, "M", {}, ()),
    ]
    resolved = settings.for_stream("b", {"N": RULE + "1", "M": RULE + "2"})
    assert resolved.rule_map == {"x": (RULE + "8",), "y": (RULE + "9", RULE + "2")}
    assert settings.for_stream("a", {"N": RULE + "1"}).conversion_rule == RULE + "1"
    with pytest.raises(ConfigError, match="was not resolved"):
        settings.for_stream("a")


def test_the_cli_exits_1_with_the_problems_and_sends_nothing(linkedin_emulator, tmp_path) -> None:
    config = rules_config(linkedin_emulator, tmp_path, {"leads": {"conversion_rule_id": "104010"}})
    (tmp_path / "config.json").write_text(json.dumps(config))
    done = subprocess.run(
        [sys.executable, "-m", "target_linkedin_conversions.target", "--config",
         str(tmp_path / "config.json")],
        input="", capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert ("streams.leads.conversion_rule_id: conversion rule 104010 'CAPI – Old webinar' is "
            "disabled (enabled is false); LinkedIn refuses events for it") in done.stderr
    assert USABLE in done.stderr
    assert "test-token" not in done.stderr
    assert calls(linkedin_emulator) == LOOKUP
