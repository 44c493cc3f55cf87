"""Bad input, bad config and odd answers found by adversarial testing: each is a reject or a
clear error, never a traceback, never a value in the logs."""

from __future__ import annotations

import logging
import os

import pytest

from target_linkedin_conversions.errors import ConfigError
from target_linkedin_conversions.identifiers import hashed_email
from target_linkedin_conversions.mapping import EventBuilder, to_amount, to_epoch_ms
from target_linkedin_conversions.settings import Settings
from tests.helpers import base_config, leads, now_ms, read_rejects, run_target

ALICE = "alice@example.com"


def test_lines_that_are_not_usable_messages_are_rejects_and_never_logged(
        linkedin_emulator, tmp_path, capsys, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    lines = [
        *leads([]),
        '{"email": "alice@example.com", "first_name": "Alice"}',  # a data file piped by mistake
        "123",
        "null",
        '{"type": "RECORD", "stream": "leads", "record": null}',
        '{"type": "RECORD", "stream": "leads", "record": [1, 2]}',
        '{"type": "SCHEMA", "stream": "x", "schema": true}',
        "",
        "   ",
        '{"type": "FOO"}',
        *leads([{"id": 1, "email": ALICE, "conversion_happened_at": now_ms()}])[1:],
    ]
    run = run_target(base_config(linkedin_emulator.url, tmp_path), lines, capsys)
    assert run.error is None
    assert [r["reason"] for r in read_rejects(tmp_path)] == ["malformed_message"] * 6
    assert len(linkedin_emulator.accepted_events) == 1
    assert run.target.stats.records_read == 7
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "alice" not in logged.lower()
    assert "Ignoring a Singer message of unknown type 'FOO'" in logged


def test_a_record_without_stream_stops_naming_the_key_not_the_values(
        linkedin_emulator, tmp_path, capsys, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    line = '{"type": "RECORD", "record": {"email": "alice@example.com"}}'
    run = run_target(base_config(linkedin_emulator.url, tmp_path), [*leads([]), line], capsys)
    assert run.exit_code == 1
    assert str(run.error) == "a Singer message lacks its required key(s): stream"
    assert "alice" not in "\n".join(r.getMessage() for r in caplog.records)


def test_invisible_characters_do_not_change_an_email_hash() -> None:
    assert hashed_email("\ufeffalice@example.com") == hashed_email(ALICE)
    assert hashed_email("alice\u200b@example.com") == hashed_email(ALICE)
    assert hashed_email("e\u0301@example.com") == hashed_email("\u00e9@example.com")  # NFD, NFC
    assert hashed_email("\ufeff") is None
    assert hashed_email("\u200b ") is None


def test_absurd_amounts_are_rejected_not_expanded() -> None:
    for value in ("1e99999999", "1e-31"):
        with pytest.raises(ValueError, match="more than 30 digits"):
            to_amount(value)
    assert to_amount("1e29") == "1" + "0" * 29


def test_a_lowercase_z_is_utc() -> None:
    assert to_epoch_ms("2026-12-01T08:00:00z") == 1_796_112_000_000


@pytest.mark.parametrize(
    ("override", "error"),
    [
        ({"linkedin_version": "202609\n"}, "linkedin_version must be YYYYMM"),
        ({"linkedin_version": "٢٠٢٦٠٩"}, "linkedin_version must be YYYYMM"),
        ({"conversion_rule_id": "١٠٤٠٠١"}, "conversion_rule_id must be a numeric rule id"),
        ({"api_base_url": "127.0.0.1:1"}, "api_base_url must be an http(s) URL"),
        ({"connect_timeout": -1}, "connect_timeout must be more than 0 seconds"),
        ({"batch_size_rows": 0}, "batch_size_rows must be at least 1"),
        ({"max_clock_skew_seconds": -5}, "max_clock_skew_seconds cannot be negative"),
        ({"streams": {"s": {"rule_field": "plan", "rule_map": {"a": []}}}},
         "streams.s.rule_map['a'] names no rule"),
        ({"streams": {"s": {"rule_field": "plan", "rule_map": {"a": None}}}},
         "streams.s.rule_map['a'] names no rule"),
    ],
)
def test_bad_settings_are_config_errors(override: dict, error: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_config({"access_token": "t", "conversion_rule_id": "1", **override})
    assert any(message.startswith(error) for message in info.value.errors), info.value.errors


def test_the_same_rule_twice_in_a_rule_map_sends_one_event() -> None:
    settings = Settings.from_config({"access_token": "t", "streams": {
        "s": {"rule_field": "plan", "rule_map": {"a": ["104002", "104002"]}}}})
    assert settings.for_stream("s").rule_map == {"a": ("urn:lla:llaPartnerConversion:104002",)}


def test_an_unwritable_rejects_path_stops_before_sending(linkedin_emulator, tmp_path,
                                                        capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    config = base_config(linkedin_emulator.url, tmp_path,
                         rejects_path=str(blocker / "rejects.jsonl"))
    run = run_target(config, leads([{"id": 1, "email": ALICE,
                                     "conversion_happened_at": now_ms()}]), capsys)
    assert run.exit_code == 1
    assert "rejects_path" in str(run.error) and "cannot be created" in str(run.error)
    assert linkedin_emulator.requests == []


def test_rule_check_failures_are_clean_errors_not_tracebacks(linkedin_emulator, tmp_path,
                                                            capsys, caplog) -> None:
    config = base_config(linkedin_emulator.url, tmp_path, access_token="expired",
                         check_rules=True)
    run = run_target(config, leads([]), capsys)
    assert run.exit_code == 1
    assert str(run.error).startswith("LinkedIn rejected the access token (401")
    assert not any(r.exc_info for r in caplog.records)


def test_a_batch_refused_with_indexes_outside_it_stops_clearly(linkedin_emulator, tmp_path,
                                                              capsys) -> None:
    linkedin_emulator.faults.script("/rest/conversionEvents", [
        {"status": 422, "body": {"status": 422, "message": "Index: 99, ERROR :: /user :: bad"}}])
    run = run_target(base_config(linkedin_emulator.url, tmp_path),
                     leads([{"id": 1, "email": ALICE, "conversion_happened_at": now_ms()}]),
                     capsys)
    assert run.exit_code == 1
    assert "naming element indexes outside it ([99] of 1)" in str(run.error)


def test_an_answer_without_element_statuses_stops_clearly(linkedin_emulator, tmp_path,
                                                         capsys) -> None:
    linkedin_emulator.faults.script("/rest/conversionEvents", [
        {"status": 200, "body": {"elements": [1, 2, 3]}}])
    run = run_target(base_config(linkedin_emulator.url, tmp_path),
                     leads([{"id": 1, "email": ALICE, "conversion_happened_at": now_ms()}]),
                     capsys)
    assert run.exit_code == 1
    assert "not a list of element statuses" in str(run.error)


@pytest.mark.parametrize(
    ("properties", "error"),
    [
        ({"id": {"type": "integerz"}}, "the stream's SCHEMA is not a valid JSON Schema at "
         "properties/id/type: 'integerz' is not valid under any of the given schemas"),
        ({"id": {"minimum": "x"}}, "the stream's SCHEMA is not a valid JSON Schema at "
         "properties/id/minimum: 'x' is not of type 'number'"),
        ({"id": {"$ref": "https://example.com/schema.json"}}, "the stream's SCHEMA cannot be used"),
    ],
)
def test_an_unusable_schema_is_a_clear_error(linkedin_emulator, tmp_path, capsys, caplog,
                                             properties: dict, error: str) -> None:
    schema = {"type": "SCHEMA", "stream": "leads", "schema": {"properties": properties},
              "key_properties": []}
    row = {"type": "RECORD", "stream": "leads",
           "record": {"id": 1, "email": ALICE, "conversion_happened_at": now_ms()}}
    run = run_target(base_config(linkedin_emulator.url, tmp_path), [schema, row], capsys)
    assert run.exit_code == 1
    assert str(run.error).startswith(error)
    assert linkedin_emulator.requests == []


def test_a_rule_finder_page_of_another_shape_stops_clearly(linkedin_emulator, tmp_path,
                                                          capsys) -> None:
    linkedin_emulator.faults.script("/rest/conversions", [{"status": 200, "body": ["x"]}],
                                    method="GET")
    config = base_config(linkedin_emulator.url, tmp_path, check_rules=True)
    run = run_target(config, leads([]), capsys)
    assert run.exit_code == 1
    assert str(run.error) == ("LinkedIn answered the conversion-rule finder with a body that "
                              "is not a page")


def test_a_line_with_undecodable_bytes_is_a_reject_written_escaped(
        linkedin_emulator, tmp_path, capsys) -> None:
    at = now_ms()
    bad = ('{"type":"RECORD","stream":"leads","record":{"id":1,"email":"Jos\udce9@example.com",'
           '"conversion_happened_at":' + str(at) + '}}')  # a Latin-1 byte read as UTF-8
    lines = [*leads([]), bad, *leads([{"id": 2, "email": ALICE, "conversion_happened_at": at}])[1:]]
    run = run_target(base_config(linkedin_emulator.url, tmp_path), lines, capsys)
    assert run.error is None
    (reject,) = read_rejects(tmp_path)
    assert reject["reason"] == "malformed_message"
    assert reject["record"]["line"].rstrip("\n") == bad  # the escape reads back as the byte
    assert "Jos\\udce9" in (tmp_path / "rejects.jsonl").read_bytes().decode("utf-8")
    assert len(linkedin_emulator.accepted_events) == 1


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_a_rejects_file_that_cannot_be_written_stops_the_run_cleanly(
        linkedin_emulator, tmp_path, capsys, caplog) -> None:
    config = base_config(linkedin_emulator.url, tmp_path, rejects_path="/dev/full")
    run = run_target(config, leads([{"id": 1, "email": "", "conversion_happened_at": now_ms()}],
                                   final_state={"bookmarks": {"leads": 1}}), capsys)
    assert run.exit_code == 1
    assert str(run.error) == (
        "cannot write rejects_path '/dev/full': No space left on device. Records already staged "
        "are not confirmed; free the space or change the path, and run again")
    assert run.states == []
    assert not any(r.exc_info for r in caplog.records)


@pytest.mark.parametrize(("schema_message", "problem"), [
    ({"type": "SCHEMA", "stream": "leads", "schema": {"properties": []}},
     "its schema's properties are not an object"),
    ({"type": "SCHEMA", "stream": "leads", "schema": {"properties": {}}, "key_properties": "id"},
     "its key_properties are not a list of column names"),
    ({"type": "SCHEMA", "stream": "leads", "schema": {"properties": {}, "required": "id"}},
     None),
])
def test_an_unusable_schema_stops_the_stream_cleanly(linkedin_emulator, tmp_path, capsys,
                                                     caplog, schema_message, problem) -> None:
    run = run_target(base_config(linkedin_emulator.url, tmp_path), [schema_message], capsys)
    assert run.exit_code == 1
    if problem:
        assert str(run.error) == (
            f"the SCHEMA message for stream 'leads' cannot be used: {problem}")
    else:  # not valid JSON Schema: a fault of the tap, not of every record
        assert str(run.error) == ("the stream's SCHEMA is not a valid JSON Schema at required: "
                                  "'id' is not of type 'array'")
    assert not any(r.exc_info for r in caplog.records)


def test_batch_messages_are_refused_with_a_clear_error(linkedin_emulator, tmp_path, capsys,
                                                       caplog) -> None:
    batch = {"type": "BATCH", "stream": "leads", "manifest": ["file:///nowhere/batch-1.json.gz"],
             "encoding": {"format": "jsonl", "compression": "gzip"}}
    run = run_target(base_config(linkedin_emulator.url, tmp_path), [*leads([]), batch], capsys)
    assert run.exit_code == 1
    assert str(run.error) == ("stream 'leads' sent a BATCH message; this target takes RECORD "
                              "messages only. Turn the tap's batch output off (its batch_config)")
    assert not any(r.exc_info for r in caplog.records)


def test_activate_version_is_ignored_even_for_an_unknown_stream(linkedin_emulator, tmp_path,
                                                                capsys) -> None:
    lines = [*leads([{"id": 1, "email": ALICE, "conversion_happened_at": now_ms()}]),
             {"type": "ACTIVATE_VERSION", "stream": "nostream", "version": 1},
             {"type": "ACTIVATE_VERSION", "stream": "leads", "version": 1}]
    run = run_target(base_config(linkedin_emulator.url, tmp_path), lines, capsys)
    assert run.error is None
    assert len(linkedin_emulator.accepted_events) == 1


def test_a_mapping_bug_is_a_reject_not_a_crash(linkedin_emulator, tmp_path, capsys, caplog,
                                               monkeypatch) -> None:
    real_build = EventBuilder.build

    def build(self: EventBuilder, record: dict) -> object:
        if record["id"] == 2:
            raise TypeError("unhashable type: 'list'")  # as an unforeseen value would
        return real_build(self, record)

    monkeypatch.setattr(EventBuilder, "build", build)
    at = now_ms()
    run = run_target(base_config(linkedin_emulator.url, tmp_path),
                     leads([{"id": n, "email": ALICE, "conversion_happened_at": at}
                            for n in (1, 2, 3)]), capsys)
    assert run.error is None
    assert len(linkedin_emulator.accepted_events) == 2
    (reject,) = read_rejects(tmp_path)
    assert (reject["reason"], reject["message"], reject["record"]["id"]) == (
        "mapping_failed", "the target failed to map this record (TypeError)", 2)
    assert "alice" not in "\n".join(r.getMessage() for r in caplog.records).lower()


def test_a_stream_map_that_fails_on_a_record_rejects_it_without_its_values(
        linkedin_emulator, tmp_path, capsys, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    config = base_config(linkedin_emulator.url, tmp_path,
                         stream_maps={"leads": {"external_id": "int(email)"}})
    at = now_ms()
    rows = [{"id": 1, "email": "12345", "conversion_happened_at": at},
            {"id": 2, "email": ALICE, "conversion_happened_at": at}]
    run = run_target(config, leads(rows, final_state={"bookmarks": {"leads": 2}}), capsys)
    assert run.error is None
    assert [e["user"]["externalIds"] for e in linkedin_emulator.accepted_events] == [["12345"]]
    (reject,) = read_rejects(tmp_path)
    assert (reject["reason"], reject["message"], reject["record"], reject["key_properties"]) == (
        "stream_map_failed", "a stream map of stream 'leads' failed on this record "
        "(ValueError)", rows[1], ["id"])
    assert run.states == [{"bookmarks": {"leads": 2}}]
    assert "alice" not in "\n".join(r.getMessage() for r in caplog.records).lower()
    assert not any(r.exc_info for r in caplog.records)


def test_a_record_without_its_key_is_rejected_and_the_others_are_sent(
        linkedin_emulator, tmp_path, capsys) -> None:
    at = now_ms()
    rows = [{"id": 1, "email": ALICE, "conversion_happened_at": at},
            {"email": "bob@example.com", "conversion_happened_at": at},
            {"id": 3, "email": "carol@example.com", "conversion_happened_at": at}]
    run = run_target(base_config(linkedin_emulator.url, tmp_path), leads(rows), capsys)
    assert run.error is None
    assert len(linkedin_emulator.accepted_events) == 2
    (reject,) = read_rejects(tmp_path)
    assert (reject["reason"], reject["record"]) == ("missing_key_value", rows[1])
