"""Background sending: bounded in flight, failures surface, STATE never runs ahead."""

from __future__ import annotations

import threading
import types

import backoff._sync
import pytest

from target_linkedin_conversions.dispatch import Dispatcher
from tests.helpers import base_config, leads, now_ms, record, run_target, state

EVENTS = "/rest/conversionEvents"


def test_at_most_max_in_flight_jobs_run_at_once() -> None:
    dispatcher = Dispatcher(2)
    running, peak, lock = [0], [0], threading.Lock()
    release = threading.Event()

    def job() -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        release.wait(2)
        with lock:
            running[0] -= 1

    dispatcher.submit(job)
    dispatcher.submit(job)
    third = threading.Thread(target=dispatcher.submit, args=(job,))
    third.start()
    third.join(0.2)
    assert third.is_alive()  # blocked: both slots are busy
    release.set()
    third.join(2)
    dispatcher.wait_all()
    assert peak[0] == 2


def test_a_background_failure_is_raised_at_the_next_submit_and_at_wait() -> None:
    dispatcher = Dispatcher(3)

    def fail() -> None:
        raise RuntimeError("boom")

    dispatcher.submit(fail)
    with pytest.raises(RuntimeError, match="boom"):
        dispatcher.wait_all()
    with pytest.raises(RuntimeError, match="boom"):
        dispatcher.submit(lambda: None)


def test_zero_in_flight_runs_in_the_callers_thread_and_one_in_the_background() -> None:
    seen: list[str] = []
    Dispatcher(0).submit(lambda: seen.append(threading.current_thread().name))
    background = Dispatcher(1)
    background.submit(lambda: seen.append(threading.current_thread().name))
    background.wait_all()
    assert seen[0] == threading.current_thread().name
    assert seen[1].startswith("linkedin-send")


def rows(start: int, n: int) -> list[dict]:
    return [{"id": i, "email": f"p{i}@example.com", "conversion_happened_at": now_ms()}
            for i in range(start, start + n)]


def test_state_is_written_only_after_slow_batches_are_delivered(linkedin_emulator, tmp_path,
                                                               capsys) -> None:
    linkedin_emulator.faults.script(EVENTS, [{"delay": 0.3}, {"delay": 0.1}])
    config = base_config(linkedin_emulator.url, tmp_path, batch_size_rows=2,
                         max_requests_in_flight=4)
    messages = leads(rows(1, 4)) + [state({"bookmarks": {"leads": 4}})] + [
        record("leads", r) for r in rows(5, 3)] + [state({"bookmarks": {"leads": 7}})]
    run = run_target(config, messages, capsys)
    assert run.error is None
    assert len(linkedin_emulator.accepted_events) == 7
    assert run.states == [{"bookmarks": {"leads": 7}}]


def test_a_failed_background_batch_stops_the_run_without_state(linkedin_emulator, tmp_path,
                                                              capsys, monkeypatch) -> None:
    monkeypatch.setattr(backoff._sync, "time", types.SimpleNamespace(sleep=lambda s: None))
    linkedin_emulator.faults.script(EVENTS, [{"status": 503}] * 50)
    config = base_config(linkedin_emulator.url, tmp_path, batch_size_rows=2, max_attempts=2,
                         max_requests_in_flight=3)
    run = run_target(config, leads(rows(1, 8), final_state={"bookmarks": {"leads": 8}}), capsys)
    assert run.exit_code == 1
    assert "503" in str(run.error)
    assert run.states == []
    assert linkedin_emulator.accepted_events == []


def test_state_written_mid_run_never_runs_ahead_of_delivery(linkedin_emulator, tmp_path,
                                                            capsys, monkeypatch) -> None:
    """Force the SDK's age-based full drain on every record, so STATE is written mid-run while
    batches are still in flight, and check LinkedIn's count at each write."""
    from singer_sdk import Target

    from target_linkedin_conversions.target import TargetLinkedInConversions

    accepted_at_write: list[tuple[dict, int]] = []
    original = Target._write_state_message

    def spy(self, value: dict) -> None:
        original(self, value)
        accepted_at_write.append((value, len(linkedin_emulator.accepted_events)))

    monkeypatch.setattr(Target, "_write_state_message", spy)
    monkeypatch.setattr(TargetLinkedInConversions, "_MAX_RECORD_AGE_IN_MINUTES", -1.0)
    linkedin_emulator.faults.script(EVENTS, [{"delay": 0.2}] * 3)
    config = base_config(linkedin_emulator.url, tmp_path, batch_size_rows=2,
                         max_requests_in_flight=4)
    messages = [leads([])[0]]
    for r in rows(1, 6):
        messages += [record("leads", r), state({"bookmarks": {"leads": r["id"]}})]
    run = run_target(config, messages, capsys)
    assert run.error is None
    assert accepted_at_write, "the forced drains wrote no STATE"
    for value, accepted in accepted_at_write:
        assert accepted >= value["bookmarks"]["leads"]
