"""Nothing lost, nothing doubled: partial failures, fatal stops, bad input, threshold, replay."""

from __future__ import annotations

import decimal
import json
import logging
import subprocess
import sys
import types

import backoff._sync
import pytest

from target_linkedin_conversions.mapping import derived_event_id
from target_linkedin_conversions.replay import replay_messages
from tests.helpers import (
    base_config,
    leads,
    now_ms,
    read_rejects,
    record,
    run_target,
    schema,
    state,
)

EVENTS = "/rest/conversionEvents"
RULE = "urn:lla:llaPartnerConversion:104001"


@pytest.fixture(autouse=True)
def no_backoff_sleep(monkeypatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(backoff._sync, "time", types.SimpleNamespace(sleep=recorded.append))
    return recorded


def rows(n: int, start: int = 1) -> list[dict]:
    return [{"id": i, "email": f"person{i}@example.com", "conversion_happened_at": now_ms()}
            for i in range(start, start + n)]


def event_id(i: int) -> str:
    return derived_event_id("leads", [i], RULE)


def test_elements_linkedin_names_are_rejected_and_the_rest_resent_once(
        linkedin_emulator, tmp_path, capsys) -> None:
    reason = "ERROR :: /user/userIds/0/idValue :: value refused"
    linkedin_emulator.faults.reject_elements({event_id(2): reason})
    run = run_target(base_config(linkedin_emulator.url, tmp_path), leads(rows(3),
                     final_state={"bookmarks": {"leads": 3}}), capsys)
    assert run.error is None
    sent = [[e["eventId"] for e in r.json["elements"]] for r in linkedin_emulator.requests]
    assert sent == [[event_id(1), event_id(2), event_id(3)], [event_id(1), event_id(3)]]
    assert [r.status for r in linkedin_emulator.requests] == [422, 200]
    (reject,) = read_rejects(tmp_path)
    assert (reject["reason"], reject["record"]["id"]) == ("linkedin_rejected", 2)
    assert reject["message"] == f"Index: 1, {reason}"
    assert reject["event"]["eventId"] == event_id(2)
    assert run.states == [{"bookmarks": {"leads": 3}}]


def test_elements_failing_inside_a_200_are_rejected_and_the_rest_counted(
        linkedin_emulator, tmp_path, capsys, caplog) -> None:
    caplog.set_level(logging.INFO)
    linkedin_emulator.faults.fail_elements({event_id(2): "Member cannot be matched"})
    named = [{**row, "first_name": "Ada", "last_name": "Lovelace"} for row in rows(2)]
    run = run_target(base_config(linkedin_emulator.url, tmp_path),
                     leads(named + rows(1, start=3), final_state={"bookmarks": {"leads": 3}}),
                     capsys)
    assert run.error is None
    assert [r.status for r in linkedin_emulator.requests] == [200]  # nothing resent
    assert [e["eventId"] for e in linkedin_emulator.accepted_events] == [event_id(1),
                                                                        event_id(3)]
    (reject,) = read_rejects(tmp_path)
    assert (reject["stream"], reject["reason"], reject["message"]) == (
        "leads", "linkedin_rejected", "Member cannot be matched")
    assert reject["record"] == named[1]
    assert reject["event"] == linkedin_emulator.requests[0].json["elements"][1]
    assert reject["event"]["eventId"] == event_id(2)
    (summary,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Run ")]
    assert summary.startswith(
        "Run succeeded: 3 records read, 3 events built, 3 sent, 2 accepted, 1 rejected "
        "(linkedin_rejected=1), 1 requests, ")
    assert summary.endswith(", accepted events carried: SHA256_EMAIL=2, userInfo=1, "
                            f"rejects in {tmp_path / 'rejects.jsonl'}")
    assert run.states == [{"bookmarks": {"leads": 3}}]


def test_exhausted_retries_stop_with_exit_1_and_no_state(linkedin_emulator, tmp_path,
                                                         capsys, caplog) -> None:
    linkedin_emulator.faults.script(EVENTS, ["pass"] + [{"status": 503}] * 5)
    config = base_config(linkedin_emulator.url, tmp_path, batch_size_rows=2, max_attempts=3)
    messages = leads(rows(2)) + [state({"bookmarks": {"leads": 2}})] + [
        record("leads", r) for r in rows(2, start=3)] + [state({"bookmarks": {"leads": 4}})]
    run = run_target(config, messages, capsys)
    assert run.exit_code == 1
    assert "LinkedIn answered 503" in str(run.error)
    assert run.states == []
    assert [r.status for r in linkedin_emulator.requests] == [200, 503, 503, 503]
    assert not any(r.exc_info for r in caplog.records if r.levelno >= logging.ERROR)


NO_IDENTIFIER = ("record has no usable identifier (email, sha256_email, li_fat_id, acxiom_id, "
                 "ip_address, google_aid, lead_id, external_id, or first_name + last_name)")


def test_rejects_are_on_disk_before_the_run_fails(linkedin_emulator, tmp_path, capsys,
                                                  monkeypatch) -> None:
    """Each reject is written when it happens: a run that then fails (or crashes) keeps them."""
    rejects_file = tmp_path / "rejects.jsonl"
    on_disk_while_retrying: list[list[dict]] = []

    def sleep(seconds: float) -> None:
        on_disk_while_retrying.append([json.loads(line) for line in
                                       rejects_file.read_text().splitlines()])

    monkeypatch.setattr(backoff._sync, "time", types.SimpleNamespace(sleep=sleep))
    linkedin_emulator.faults.script(EVENTS, [{"status": 500}] * 2)
    bad = [{"id": i, "email": "", "conversion_happened_at": now_ms()} for i in (1, 2)]
    config = base_config(linkedin_emulator.url, tmp_path, batch_size_rows=4, max_attempts=2)
    run = run_target(config, leads(bad + rows(2, start=3), final_state={"bookmarks": {"id": 4}}),
                     capsys)

    assert run.exit_code == 1
    assert str(run.error) == "LinkedIn answered 500 (no code): Internal Server Error"
    assert run.states == []
    assert [r.status for r in linkedin_emulator.requests] == [500, 500]
    (early,) = on_disk_while_retrying  # read during the one retry wait, before the failure
    assert [{k: row[k] for k in ("stream", "key_properties", "reason", "message", "record")}
            for row in early] == [
        {"stream": "leads", "key_properties": ["id"], "reason": "no_identifier",
         "message": NO_IDENTIFIER, "record": record_} for record_ in bad]
    assert [row["event"]["eventId"] for row in early] == [event_id(1), event_id(2)]
    assert {row["run_id"] for row in early} == {run.target.run_id}
    assert read_rejects(tmp_path) == early


def test_reject_threshold_fails_the_run(linkedin_emulator, tmp_path, capsys) -> None:
    bad = [{"id": i, "email": "", "conversion_happened_at": now_ms()} for i in (10, 11, 12)]
    config = base_config(linkedin_emulator.url, tmp_path, max_reject_ratio=0.5)
    run = run_target(config, leads(rows(1) + bad, final_state={"bookmarks": {"leads": 12}}),
                     capsys)
    assert run.exit_code == 1
    assert str(run.error) == (
        "3 of 4 rejected (75.0%: 3 records before sending, 0 events refused by LinkedIn), "
        f"above max_reject_ratio 50.0%. See the reasons in {tmp_path / 'rejects.jsonl'}; fix "
        "the cause and replay that file with linkedin-conversions-replay.")
    assert run.states == []  # Meltano would keep that STATE and skip the rejected rows
    assert [r["record"]["id"] for r in read_rejects(tmp_path)] == [10, 11, 12]
    assert [e["eventId"] for e in linkedin_emulator.accepted_events] == [event_id(1)]


def test_record_before_schema_is_a_clean_error(linkedin_emulator, tmp_path, capsys,
                                              caplog) -> None:
    run = run_target(base_config(linkedin_emulator.url, tmp_path),
                     [record("leads", rows(1)[0])], capsys)
    assert run.exit_code == 1
    assert "was encountered before a corresponding schema" in str(run.error)
    assert not any(r.exc_info for r in caplog.records)


def test_schema_change_mid_stream_keeps_buffered_records(linkedin_emulator, tmp_path,
                                                        capsys) -> None:
    wider = {**leads([])[0]["schema"]["properties"], "plan": {"type": ["string", "null"]}}
    messages = leads(rows(2)) + [schema("leads", wider, ["id"])] + [
        record("leads", {**r, "plan": "pro"}) for r in rows(2, start=3)]
    run = run_target(base_config(linkedin_emulator.url, tmp_path), messages, capsys)
    assert run.error is None
    assert sorted(e["eventId"] for e in linkedin_emulator.accepted_events) == sorted(
        event_id(i) for i in range(1, 5))


def test_awkward_values_are_sent_exactly_or_rejected(linkedin_emulator, tmp_path,
                                                    capsys) -> None:
    at = now_ms()
    big_id = 2**53 + 1
    lines = [
        json.dumps(leads([])[0]),
        # raw text, so the reader (not json.dumps) decides how numbers arrive
        '{"type":"RECORD","stream":"leads","record":{"id":' + str(big_id) + ',"first_name":"Zoë",'
        '"last_name":"Ærøskøbing-Łódź","email":null,"conversion_happened_at":' + str(at) + ','
        '"amount":12345678901234567.89,"currency":"jpy"}}',
        json.dumps(record("leads", {"id": 5, "email": "x" * 1_000_000,
                                    "conversion_happened_at": at})),
        json.dumps(record("leads", {"id": 6, "email": None, "conversion_happened_at": None})),
        json.dumps(record("leads", {"id": None, "email": "a@b.co", "conversion_happened_at": at})),
    ]
    run = run_target(base_config(linkedin_emulator.url, tmp_path), lines, capsys)
    assert run.error is None
    by_id = {e["eventId"]: e for e in linkedin_emulator.accepted_events}
    first = by_id[derived_event_id("leads", [big_id], RULE)]
    assert first["user"]["userInfo"] == {"firstName": "Zoë", "lastName": "Ærøskøbing-Łódź"}
    assert first["conversionValue"] == {"currencyCode": "JPY", "amount": "12345678901234567.89"}
    assert derived_event_id("leads", [5], RULE) in by_id  # a huge string is just hashed
    assert [(r["record"]["id"], r["reason"]) for r in read_rejects(tmp_path)] == [
        (6, "schema_violation"), (None, "schema_violation")]  # both columns are not nullable
    assert decimal.Decimal(first["conversionValue"]["amount"]) == decimal.Decimal(
        "12345678901234567.89")


def test_a_rejects_file_replays_with_the_same_event_ids(linkedin_emulator, tmp_path,
                                                       capsys) -> None:
    linkedin_emulator.faults.reject_elements({event_id(2): "ERROR :: /x :: transient"})
    run_target(base_config(linkedin_emulator.url, tmp_path), leads(rows(3)), capsys)
    rejected = read_rejects(tmp_path)
    linkedin_emulator.faults.clear()
    linkedin_emulator.reset()
    replay = list(replay_messages(rejected))
    assert replay[0] == {"type": "SCHEMA", "stream": "leads", "key_properties": ["id"],
                         "schema": {"type": "object", "additionalProperties": True,
                                    "properties": {"id": {}, "email": {},
                                                   "conversion_happened_at": {}}}}
    (tmp_path / "rejects.jsonl").unlink()
    run = run_target(base_config(linkedin_emulator.url, tmp_path), replay, capsys)
    assert run.error is None
    assert [e["eventId"] for e in linkedin_emulator.accepted_events] == [event_id(2)]


def test_replay_command_line(tmp_path) -> None:
    rows_ = [{"stream": "leads", "reason": "linkedin_rejected", "key_properties": ["id"],
              "record": {"id": 1}},
             {"stream": None, "reason": "malformed_message", "key_properties": [],
              "record": {"line": "{"}},
             {"stream": "leads", "reason": "no_identifier", "key_properties": ["id"],
              "record": {"id": 2}}]
    path = tmp_path / "rejects.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows_))
    done = subprocess.run([sys.executable, "-m", "target_linkedin_conversions.replay", str(path),
                           "--reason", "linkedin_rejected"], capture_output=True, text=True,
                          check=True)
    assert [json.loads(line)["type"] for line in done.stdout.splitlines()] == ["SCHEMA",
                                                                             "RECORD"]
    assert done.stderr == "replayed 1 record(s) from 3 rejected rows\n"


def test_equal_rejected_records_of_a_keyless_stream_replay_as_two() -> None:
    row = {"stream": "k", "reason": "no_conversion_rule", "key_properties": [],
           "record": {"email": "a@b.co", "plan": "b"}, "event": None}
    replay = list(replay_messages([row, dict(row)]))
    assert [m["type"] for m in replay] == ["SCHEMA", "RECORD", "RECORD"]
    refused = {**row, "reason": "linkedin_rejected",
               "event": {"conversion": "urn:lla:llaPartnerConversion:1"}}
    # The same event refused twice (two runs' rows, or two equal records): two records.
    assert sum(m["type"] == "RECORD" for m in replay_messages([refused, dict(refused)])) == 2


@pytest.mark.parametrize(("content", "problem"), [
    (None, "cannot read {path!r}: No such file or directory"),
    (b'{"stream": "leads", "reason": "x"}\n{"access_token": "x", ', "{path!r} line 2 is not a "
     "reject row (a JSON object); is this a rejects file of target-linkedin-conversions, "
     "written whole?"),
    (b"[1, 2]\n", "{path!r} line 1 is not a reject row (a JSON object); is this a rejects file "
     "of target-linkedin-conversions, written whole?"),
    (b"\xff\xfe{}\n", "cannot read {path!r}: UnicodeDecodeError"),
])
def test_replay_of_an_unreadable_file_is_one_line(tmp_path, content: bytes | None,
                                                  problem: str) -> None:
    path = tmp_path / "rejects.jsonl"
    if content is not None:
        path.write_bytes(content)
    done = subprocess.run([sys.executable, "-m", "target_linkedin_conversions.replay", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == "linkedin-conversions-replay: " + problem.format(path=str(path)) + "\n"
