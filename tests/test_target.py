"""The target end to end, in-process, against the local emulator: exact requests and outcomes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import subprocess
import sys

import pytest

from target_linkedin_conversions.mapping import derived_event_id
from tests.helpers import base_config, leads, now_ms, read_rejects, run_target

JANE = "jane.doe@example.com"
JANE_SHA = hashlib.sha256(JANE.encode()).hexdigest()
RULE = "urn:lla:llaPartnerConversion:104001"


def test_one_record_becomes_one_exact_batch_create(linkedin_emulator, tmp_path, capsys) -> None:
    at = now_ms(5)
    run = run_target(base_config(linkedin_emulator.url, tmp_path),
                     leads([{"id": 7, "email": JANE, "conversion_happened_at": at,
                             "amount": "49.90", "currency": "eur"}],
                           final_state={"bookmarks": {"leads": 7}}), capsys)
    assert run.error is None
    (request,) = linkedin_emulator.requests
    assert (request.method, request.path, request.status) == ("POST", "/rest/conversionEvents", 200)
    assert request.headers["authorization"] == "Bearer test-token"
    assert request.headers["linkedin-version"] == "202609"
    assert request.headers["x-restli-protocol-version"] == "2.0.0"
    assert request.headers["x-restli-method"] == "BATCH_CREATE"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {"elements": [{
        "conversion": RULE,
        "conversionHappenedAt": at,
        "conversionValue": {"currencyCode": "EUR", "amount": "49.90"},
        "eventId": derived_event_id("leads", [7], RULE),
        "user": {"userIds": [{"idType": "SHA256_EMAIL", "idValue": JANE_SHA}]},
    }]}
    assert linkedin_emulator.accepted_events == request.json["elements"]
    assert run.states == [{"bookmarks": {"leads": 7}}]


def test_batches_never_exceed_5000_events(linkedin_emulator, tmp_path, capsys) -> None:
    rows = [{"id": i, "email": f"user{i}@example.com", "conversion_happened_at": now_ms()}
            for i in range(12_001)]
    config = base_config(linkedin_emulator.url, tmp_path, batch_size_rows=20_000)
    run = run_target(config, leads(rows), capsys)
    assert run.error is None
    sizes = [len(r.json["elements"]) for r in linkedin_emulator.requests]
    assert sorted(sizes) == [2001, 5000, 5000]  # batches fly concurrently, in any order
    assert len(linkedin_emulator.accepted_events) == 12_001


def test_batch_size_rows_below_the_cap_is_honoured(linkedin_emulator, tmp_path, capsys) -> None:
    rows = [{"id": i, "email": JANE, "conversion_happened_at": now_ms()} for i in range(5)]
    run_target(base_config(linkedin_emulator.url, tmp_path, batch_size_rows=2), leads(rows),
               capsys)
    # Batches fly concurrently (two in flight by default), so they may land in any order.
    assert sorted(len(r.json["elements"]) for r in linkedin_emulator.requests) == [1, 2, 2]


def test_dry_run_sends_nothing_and_writes_the_requests(linkedin_emulator, tmp_path,
                                                       capsys) -> None:
    at = now_ms()
    config = base_config(linkedin_emulator.url, tmp_path, dry_run=True)
    run = run_target(config, leads([{"id": 1, "email": JANE, "conversion_happened_at": at}],
                                   final_state={"bookmarks": {"leads": 1}}), capsys)
    assert run.error is None
    assert linkedin_emulator.requests == []
    lines = (tmp_path / "dry_run.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{
        "method": "POST",
        "url": linkedin_emulator.url + "/rest/conversionEvents",
        "headers": {"LinkedIn-Version": "202609", "X-Restli-Protocol-Version": "2.0.0",
                    "Content-Type": "application/json", "X-RestLi-Method": "BATCH_CREATE"},
        "body": {"elements": [{
            "conversion": RULE, "conversionHappenedAt": at,
            "eventId": derived_event_id("leads", [1], RULE),
            "user": {"userIds": [{"idType": "SHA256_EMAIL", "idValue": JANE_SHA}]}}]},
    }]
    assert "test-token" not in (tmp_path / "dry_run.jsonl").read_text()
    assert stat.S_IMODE(os.stat(tmp_path / "dry_run.jsonl").st_mode) == 0o600
    assert run.states == []  # nothing was delivered: Meltano must not move its bookmark


def test_dry_run_without_credentials_needs_no_ad_account(linkedin_emulator, tmp_path,
                                                         capsys) -> None:
    config = base_config(linkedin_emulator.url, tmp_path, dry_run=True, check_rules=True)
    del config["access_token"], config["ad_account_id"]
    run = run_target(config, leads([{"id": 1, "email": JANE, "conversion_happened_at": now_ms()}],
                                   final_state={"bookmarks": {"leads": 1}}), capsys)
    assert run.error is None
    assert linkedin_emulator.requests == []
    assert len((tmp_path / "dry_run.jsonl").read_text().splitlines()) == 1
    assert run.states == []


def test_rejects_are_written_privately_with_reason_record_and_event(linkedin_emulator, tmp_path,
                                                                    capsys) -> None:
    rows = [
        {"id": 1, "email": "  ", "conversion_happened_at": now_ms()},
        {"id": 2, "email": JANE, "conversion_happened_at": now_ms(24 * 91)},
        {"id": 3, "email": JANE, "conversion_happened_at": now_ms()},
    ]
    run = run_target(base_config(linkedin_emulator.url, tmp_path),
                     leads(rows) + ["{not json"], capsys)
    assert run.error is None
    rejects = read_rejects(tmp_path)
    assert [(r["stream"], r["reason"]) for r in rejects] == [
        ("leads", "no_identifier"), ("leads", "conversion_time_too_old"),
        (None, "malformed_message")]
    assert rejects[0]["record"] == rows[0]
    assert rejects[0]["event"]["user"] == {"userIds": []}
    assert rejects[2]["record"] == {"line": "{not json\n"}
    mode = stat.S_IMODE(os.stat(tmp_path / "rejects.jsonl").st_mode)
    assert mode == 0o600
    assert len(linkedin_emulator.accepted_events) == 1


def test_summary_line_counts_everything(linkedin_emulator, tmp_path, capsys, caplog) -> None:
    caplog.set_level(logging.INFO)
    rows = [{"id": i, "email": JANE if i % 2 else "", "conversion_happened_at": now_ms()}
            for i in range(6)]
    run_target(base_config(linkedin_emulator.url, tmp_path), leads(rows), capsys)
    (summary,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Run ")]
    assert summary.startswith(
        "Run succeeded: 6 records read, 3 events built, 3 sent, 3 accepted, "
        "3 rejected (no_identifier=3), 1 requests, ")
    assert summary.endswith(f"rejects in {tmp_path / 'rejects.jsonl'}")


def test_an_unhandled_api_error_stops_the_run_and_emits_no_state(linkedin_emulator, tmp_path,
                                                                 capsys) -> None:
    config = base_config(linkedin_emulator.url, tmp_path, conversion_rule_id="999999")
    run = run_target(config, leads([{"id": 1, "email": JANE, "conversion_happened_at": now_ms()}],
                                   final_state={"bookmarks": {"leads": 1}}), capsys)
    assert run.error is not None
    assert "403" in str(run.error) and "rw_conversions" in str(run.error)
    assert run.states == []


def test_stream_without_any_rule_is_a_config_error(linkedin_emulator, tmp_path, capsys) -> None:
    config = base_config(linkedin_emulator.url, tmp_path)
    del config["conversion_rule_id"]
    run = run_target(config, leads([{"id": 1, "email": JANE, "conversion_happened_at": now_ms()}]),
                     capsys)
    assert "Stream 'leads' has no conversion rule" in str(run.error)
    assert linkedin_emulator.requests == []


def test_a_pasted_token_with_a_trailing_line_break_works(linkedin_emulator, tmp_path,
                                                         capsys) -> None:
    config = base_config(linkedin_emulator.url, tmp_path, access_token="test-token\r\n")
    run = run_target(config, leads([{"id": 1, "email": JANE, "conversion_happened_at": now_ms()}]),
                     capsys)
    assert run.error is None
    assert [e["eventId"] for e in linkedin_emulator.accepted_events] == [
        derived_event_id("leads", [1], RULE)]


def test_a_broken_secret_is_named_on_the_cli_without_its_value_or_a_traceback(
        tmp_path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"access_token": "tok-SECRET 123", "conversion_rule_id": "1",
                                  "api_base_url": "http://127.0.0.1:9", "check_rules": False}))
    done = subprocess.run(
        [sys.executable, "-m", "target_linkedin_conversions.target", "--config", str(config)],
        input="", capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 1
    assert ("ERROR    | target-linkedin-conversions    | access_token contains spaces, line "
            "breaks or control characters inside the value; paste it again as one unbroken "
            "string") in done.stderr
    assert "Traceback" not in done.stderr
    assert "SECRET" not in done.stderr + done.stdout


def test_no_token_email_or_name_in_logs_at_debug(linkedin_emulator, tmp_path, capsys,
                                                 caplog) -> None:
    caplog.set_level(logging.DEBUG)
    rows = [{"id": 1, "email": JANE, "first_name": "Zelda", "last_name": "Quixote",
             "conversion_happened_at": now_ms()},
            {"id": "bad", "email": "second.person@example.org", "conversion_happened_at": 1}]
    run_target(base_config(linkedin_emulator.url, tmp_path), leads(rows) + ['{"email": "x@y'],
               capsys)
    text = "\n".join(r.getMessage() for r in caplog.records) + capsys.readouterr().err
    for secret in ("test-token", JANE, "Zelda", "Quixote", "second.person", "x@y"):
        assert secret not in text


@pytest.mark.parametrize("value", ["2026-13-45", "soon"])
def test_bad_time_strings_are_rejects_not_crashes(linkedin_emulator, tmp_path, capsys,
                                                  value) -> None:
    run = run_target(base_config(linkedin_emulator.url, tmp_path),
                     leads([{"id": 1, "email": JANE, "conversion_happened_at": value}]), capsys)
    assert run.error is None
    assert [r["reason"] for r in read_rejects(tmp_path)] == ["invalid_conversion_time"]


def test_summary_breaks_accepted_events_down_by_match_key(linkedin_emulator, tmp_path, capsys,
                                                          caplog) -> None:
    caplog.set_level(logging.INFO)
    rows = [
        {"id": 1, "email": JANE, "conversion_happened_at": now_ms()},
        {"id": 2, "email": JANE, "first_name": "A", "last_name": "B",
         "conversion_happened_at": now_ms()},
        {"id": 3, "first_name": "C", "last_name": "D", "conversion_happened_at": now_ms()},
    ]
    run_target(base_config(linkedin_emulator.url, tmp_path), leads(rows), capsys)
    (summary,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Run ")]
    assert "accepted events carried: SHA256_EMAIL=2, userInfo=2" in summary


def test_long_runs_log_progress_at_a_steady_interval(linkedin_emulator, tmp_path, capsys,
                                                     caplog) -> None:
    caplog.set_level(logging.INFO)
    linkedin_emulator.faults.script("/rest/conversionEvents", [{"delay": 2.5}])
    config = base_config(linkedin_emulator.url, tmp_path, progress_interval_seconds=1)
    run_target(config, leads([{"id": 1, "email": JANE, "conversion_happened_at": now_ms()}]),
               capsys)
    progress = [r.getMessage() for r in caplog.records
                if r.getMessage().startswith("Progress: ")]
    assert len(progress) == 2
    assert progress[0].startswith("Progress: 1 records read, 0 events accepted, 0 rejected, ")


PEOPLE = [("marguerite.quillfeather@example.com", "Marguerite", "Quillfeather"),
          ("bartholomew.inkwright@example.org", "Bartholomew", "Inkwright"),
          ("cordelia.fenwhistle@example.net", "Cordelia", "Fenwhistle"),
          ("desmond.ashcombe@example.com", "Desmond", "Ashcombe")]


def test_linkedin_messages_and_credentials_never_reach_logs_errors_or_reject_messages(
        linkedin_emulator, tmp_path) -> None:
    """At DEBUG, with the refresh-token trio: LinkedIn quotes values back (emails, names) in
    its messages; none of them, and no credential, may be logged, raised or kept as a
    reject's message. Only the reject's record holds them."""
    (first, _, _), (second, _, _) = PEOPLE[:2]
    linkedin_emulator.faults.script("/rest/conversionEvents", [
        {"status": 422, "body": {"status": 422, "message": (
            f'Index: 0, ERROR :: /user/userIds/0/idValue :: "{first}" is not valid for member '
            '"Marguerite Quillfeather"')}},
        "pass",
        {"status": 400, "body": {"status": 400, "message": (
            f'Member {second} "Cordelia" "Fenwhistle" could not be processed')}},
    ])
    config = base_config(linkedin_emulator.url, tmp_path, access_token=None,
                         client_id="test-client", client_secret="test-secret",
                         refresh_token="test-refresh-token", batch_size_rows=2,
                         max_requests_in_flight=0,
                         oauth_token_url=linkedin_emulator.url + "/oauth/v2/accessToken")
    (tmp_path / "config.json").write_text(json.dumps(config))
    rows = [{"id": i, "email": email, "first_name": first_name, "last_name": last_name,
             "conversion_happened_at": now_ms()}
            for i, (email, first_name, last_name) in enumerate(PEOPLE, start=1)]
    done = subprocess.run(
        [sys.executable, "-m", "target_linkedin_conversions.target",
         "--config", str(tmp_path / "config.json")],
        input="".join(json.dumps(m) + "\n" for m in leads(rows)), capture_output=True,
        text=True, timeout=60, env={**os.environ, "TARGET_LINKEDIN_CONVERSIONS_LOGLEVEL": "DEBUG"},
    )

    tokens = {r.headers["authorization"].removeprefix("Bearer ")
              for r in linkedin_emulator.requests if "authorization" in r.headers}
    assert len(tokens) == 1  # the one access token the refresh obtained
    secrets = [*tokens, "test-secret", "test-refresh-token"]
    personal = [value for person in PEOPLE for value in person]
    (reject,) = read_rejects(tmp_path)
    for text in (done.stderr, reject["message"]):
        assert [value for value in personal + secrets if value in text] == []

    assert done.returncode == 1
    assert " | DEBUG    | " in done.stderr
    assert ("Stopping: LinkedIn answered 400 (no code): Member <redacted> \"…\" \"…\" could not "
            "be processed\n") in done.stderr  # the exception's text, as the run reports it
    assert reject["reason"] == "linkedin_rejected"
    assert reject["message"] == ('Index: 0, ERROR :: /user/userIds/0/idValue :: "…" is not valid '
                                 'for member "…"')
    assert reject["record"] == rows[0]  # the record itself is kept, for the replay
