"""Kill test: stop the real target process mid-run, resume from its last STATE, lose nothing.

The target runs as its console script over a 20,000-record file (a bookmark STATE every 1,000
records) against an in-process emulator that answers every batch slowly, so the run is still
sending when the signal arrives. A second run over the records after the last emitted STATE
must complete the delivery; the deterministic eventIds make the overlap harmless (LinkedIn
counts an eventId once).
"""

from __future__ import annotations

import collections
import json
import pathlib
import signal
import subprocess
import sys
import time
import typing as t

import pytest

from target_linkedin_conversions.emulator import Emulator
from target_linkedin_conversions.mapping import derived_event_id
from tests.helpers import LEAD_PROPERTIES, base_config, now_ms, record, schema, state

TARGET = pathlib.Path(sys.executable).with_name("target-linkedin-conversions")
EVENTS = "/rest/conversionEvents"
RULE = "urn:lla:llaPartnerConversion:104001"
RECORDS = 20_000
STATE_EVERY = 1_000
BATCH = 500
IN_FLIGHT = 4
SLOW_BATCH = {"delay": 0.25}  # every batch of the first run: about 2.5 s of sending in all
TIMEOUT = 30.0


def write_input(path: pathlib.Path, first_id: int, happened_at: int) -> None:
    """The `leads` stream from FIRST_ID to RECORDS, a bookmark STATE every STATE_EVERY ids."""
    lines = [schema("leads", LEAD_PROPERTIES, ["id"])]
    for row_id in range(first_id, RECORDS + 1):
        lines.append(record("leads", {"id": row_id, "email": f"user{row_id}@example.com",
                                      "conversion_happened_at": happened_at}))
        if row_id % STATE_EVERY == 0:
            lines.append(state({"bookmarks": {"leads": row_id}}))
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def start_target(tmp_path: pathlib.Path, name: str, input_path: pathlib.Path,
                 emulator: Emulator) -> tuple[subprocess.Popen[bytes], pathlib.Path]:
    """Start `target-linkedin-conversions --config ... --input ...`; stderr goes to a log."""
    config_path = tmp_path / f"{name}.config.json"
    config_path.write_text(json.dumps(base_config(
        emulator.url, tmp_path, batch_size_rows=BATCH, max_requests_in_flight=IN_FLIGHT)))
    log_path = tmp_path / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(TARGET), "--config", str(config_path), "--input", str(input_path)],
            stdout=subprocess.PIPE, stderr=log, cwd=tmp_path,
        )
    return process, log_path


def wait_until(condition: t.Callable[[], bool], what: str) -> None:
    """Poll CONDITION until it holds; fail naming WHAT after TIMEOUT seconds."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.01)


def emitted_states(stdout: bytes) -> list[dict[str, t.Any]]:
    """The STATE values a run wrote to stdout (the target writes nothing else there)."""
    return [json.loads(line) for line in stdout.decode().splitlines() if line.strip()]


def event_id(row_id: int) -> str:
    return derived_event_id("leads", [row_id], RULE)


@pytest.mark.parametrize(("stop_signal", "exit_code"), [
    pytest.param(signal.SIGTERM, 128 + signal.SIGTERM, id="SIGTERM"),
    pytest.param(signal.SIGKILL, -signal.SIGKILL, id="SIGKILL"),
])
def test_killed_mid_run_then_resumed_from_last_state_loses_nothing_and_doubles_nothing(
    tmp_path: pathlib.Path, stop_signal: signal.Signals, exit_code: int
) -> None:
    """A run stopped by SIGTERM (exit 143) or SIGKILL mid-send confirms no undelivered record:
    every STATE it wrote covers only accepted records. After SIGTERM no new batch is sent: at
    most the batches already in flight reach LinkedIn. Re-running from the last STATE (the whole
    file when none) delivers every record; the only repeats are the overlap, with identical
    eventIds and events, and the second run ends with exit 0 and the final STATE.
    """
    happened_at = now_ms(2)
    with Emulator(tokens={"test-token"}) as emulator:
        first_input = tmp_path / "first.jsonl"
        write_input(first_input, 1, happened_at)
        emulator.faults.script(EVENTS, [SLOW_BATCH] * (RECORDS // BATCH))
        process, log_path = start_target(tmp_path, "first", first_input, emulator)
        try:
            wait_until(lambda: len(emulator.accepted_records) >= 3 * BATCH,
                       "three batches were accepted")
            requests_at_signal = len(emulator.requests)
            process.send_signal(stop_signal)
            stdout, _ = process.communicate(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        log = log_path.read_text(errors="replace")
        assert process.returncode == exit_code, log[-2000:]
        if stop_signal == signal.SIGTERM:
            assert len(emulator.requests) - requests_at_signal <= IN_FLIGHT

        first_run = emulator.accepted_events
        first_ids = {event["eventId"] for event in first_run}
        assert len(first_run) == len(first_ids)  # no repeats within one run
        assert 3 * BATCH <= len(first_ids) < RECORDS, "the signal did not land mid-run"

        # STATE never ahead of delivery: every record a written bookmark covers was accepted.
        states = emitted_states(stdout)
        for value in states:
            covered = range(1, value["bookmarks"]["leads"] + 1)
            assert {event_id(i) for i in covered} <= first_ids, value
        resume_after = states[-1]["bookmarks"]["leads"] if states else 0

        # Second run: from the last STATE, LinkedIn healthy again.
        emulator.faults.clear()
        second_input = tmp_path / "second.jsonl"
        write_input(second_input, resume_after + 1, happened_at)
        process, log_path = start_target(tmp_path, "second", second_input, emulator)
        try:
            stdout, _ = process.communicate(timeout=TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 0, log_path.read_text(errors="replace")[-2000:]
        assert emitted_states(stdout)[-1:] == [{"bookmarks": {"leads": RECORDS}}]

        accepted = emulator.accepted_events
        copies = collections.Counter(event["eventId"] for event in accepted)
        assert set(copies) == {event_id(i) for i in range(1, RECORDS + 1)}
        resent = {event_id(i) for i in range(resume_after + 1, RECORDS + 1)}
        repeated = {eid for eid, count in copies.items() if count > 1}
        assert repeated == first_ids & resent
        assert max(copies.values()) <= 2
        assert emulator.duplicate_event_ids == len(repeated) == len(accepted) - RECORDS
        first_copy: dict[str, dict[str, t.Any]] = {}
        for event in accepted:
            assert first_copy.setdefault(event["eventId"], event) == event
        assert not (tmp_path / "rejects.jsonl").exists()


@pytest.mark.parametrize("in_flight", [
    pytest.param(0, id="sent-by-the-reading-thread"),
    # Background senders are daemon threads and the client refuses retries once stopping.
    pytest.param(2, id="sent-in-the-background"),
])
def test_sigterm_during_backoff_stops_at_once_without_retrying(
    tmp_path: pathlib.Path, in_flight: int
) -> None:
    """SIGTERM while LinkedIn throttles (429, Retry-After 1 s) ends the run within a second or
    two with exit 143 and no STATE, instead of sitting out the remaining retries: no request
    is sent after the signal."""
    with Emulator(tokens={"test-token"}) as emulator:
        emulator.faults.script(EVENTS, [{"status": 429, "retry_after": 1}] * 50)
        rows = [record("leads", {"id": i, "email": f"user{i}@example.com",
                                 "conversion_happened_at": now_ms(2)}) for i in range(1, 2001)]
        input_path = tmp_path / "input.jsonl"
        input_path.write_text("".join(json.dumps(line) + "\n" for line in [
            schema("leads", LEAD_PROPERTIES, ["id"]), *rows, state({"bookmarks": {"leads": 1}})]))
        config_path = tmp_path / "config.json"
        config_path.write_text(json.dumps(base_config(
            emulator.url, tmp_path, batch_size_rows=BATCH, max_requests_in_flight=in_flight,
            max_attempts=3)))
        with (tmp_path / "target.log").open("wb") as log:
            process = subprocess.Popen(
                [str(TARGET), "--config", str(config_path), "--input", str(input_path)],
                stdout=subprocess.PIPE, stderr=log, cwd=tmp_path)
        try:
            wait_until(lambda: len(emulator.requests) >= max(1, in_flight), "the first 429s")
            requests_at_signal = len(emulator.requests)
            signalled = time.monotonic()
            process.send_signal(signal.SIGTERM)
            stdout, _ = process.communicate(timeout=TIMEOUT)
            lingered = time.monotonic() - signalled
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 128 + signal.SIGTERM
        assert stdout == b""
        assert emulator.accepted_events == []
        assert len(emulator.requests) == requests_at_signal
        assert lingered < 0.9  # the next retry was due 1 s after the 429s
