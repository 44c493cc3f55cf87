"""How the sink stages events: exact bodies, the record behind every event, the 5,000 cap."""

from __future__ import annotations

import json
import sys

import pytest

from target_linkedin_conversions.dispatch import fix_mmap_threshold
from target_linkedin_conversions.sink import _Chunk
from tests.helpers import base_config, now_ms, record, run_target, schema


def chunk_of(*records: tuple[dict, list[dict]]) -> _Chunk:
    chunk = _Chunk()
    for row, events in records:
        chunk.add_record(json.dumps(row).encode())
        for event in events:
            chunk.add_event(json.dumps(event).encode(), 0)
    return chunk


def test_chunk_body_is_exactly_the_batch_create_of_its_events() -> None:
    chunk = chunk_of(({"id": 1}, [{"eventId": "a"}]), ({"id": 2}, [{"eventId": "b"}]))
    assert len(chunk) == 2
    assert chunk.body() == b'{"elements":[{"eventId": "a"},{"eventId": "b"}]}'


def test_chunk_knows_the_record_behind_each_fanned_out_event() -> None:
    chunk = chunk_of(({"id": 1}, [{"e": 1}]), ({"id": 2}, [{"e": 2}, {"e": 3}]),
                     ({"id": 3}, [{"e": 4}]))
    assert [json.loads(bytes(chunk.event(i))) for i in range(4)] == [{"e": n} for n in (1, 2, 3, 4)]
    assert [json.loads(bytes(chunk.record(i)))["id"] for i in range(4)] == [1, 2, 2, 3]


def test_chunk_without_some_events_keeps_each_event_with_its_record() -> None:
    chunk = chunk_of(({"id": 1}, [{"e": 1}]), ({"id": 2}, [{"e": 2}, {"e": 3}]),
                     ({"id": 3}, [{"e": 4}]))
    kept = chunk.without({0, 2})
    assert kept.body() == b'{"elements":[{"e": 2},{"e": 4}]}'
    assert [json.loads(bytes(kept.record(i)))["id"] for i in range(2)] == [2, 3]
    assert kept.without({0, 1}).body() == b'{"elements":[]}'


def test_fan_out_never_splits_a_record_across_5000_event_requests(
        linkedin_emulator, tmp_path, capsys) -> None:
    """4,999 single-rule records, then one that fans out to two rules: 4,999 + 2 events."""
    config = base_config(linkedin_emulator.url, tmp_path, streams={"signups": {
        "conversion_rule_id": "104001", "rule_field": "plan",
        "rule_map": {"enterprise": ["104001", "104002"]}}})
    at = now_ms()
    rows = [{"id": n, "email": f"user{n}@example.com", "plan": "team",
             "conversion_happened_at": at} for n in range(4999)]
    rows.append({"id": 4999, "email": "big@example.com", "plan": "enterprise",
                 "conversion_happened_at": at})
    properties = {"id": {"type": "integer"}, "email": {"type": "string"},
                  "plan": {"type": "string"}, "conversion_happened_at": {"type": "integer"}}
    run = run_target(config, [schema("signups", properties, ["id"]),
                              *(record("signups", row) for row in rows)], capsys)
    assert run.error is None
    sizes = sorted(len(r.json["elements"]) for r in linkedin_emulator.requests
                   if r.path == "/rest/conversionEvents")
    assert sizes == [2, 4999]
    assert len(linkedin_emulator.accepted_events) == 5001


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a glibc setting")
def test_mmap_threshold_is_accepted_by_glibc() -> None:
    """The memory fix of the benchmark (peak RSS flat at ~1.1x the SDK floor) is in effect."""
    assert fix_mmap_threshold() is True
