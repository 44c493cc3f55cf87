"""Property test: random record sets under random fault schedules lose nothing, double nothing.

Each example builds a `leads` stream mixing valid rows with every kind of bad row, scripts a
random sequence of faults on `/rest/conversionEvents` (429 with and without Retry-After, 5xx,
connections dropped before or after LinkedIn handled the batch, answers slower than the read
timeout, per-element rejections by eventId), runs the target in-process against the emulator
with backoff sleeps patched out, and checks the accounting against the emulator (the oracle).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import datetime as dt
import os
import pathlib
import tempfile
import types
import typing as t

import backoff._sync
import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from target_linkedin_conversions import target as target_module
from target_linkedin_conversions.client import LinkedInClient
from target_linkedin_conversions.emulator import RecordedRequest
from target_linkedin_conversions.errors import RetriableAPIError
from target_linkedin_conversions.mapping import derived_event_id
from target_linkedin_conversions.settings import Connection
from tests.helpers import Run, base_config, now_ms, read_rejects, record, run_target, schema, state

EVENTS = "/rest/conversionEvents"
RULE = "urn:lla:llaPartnerConversion:104001"
SERIAL_ATTEMPTS = 4  # max_attempts when one batch is sent at a time
EXHAUSTING = 200  # failing steps after which every call of a failing run has given up
READ_TIMEOUT = 0.3  # short, yet far above a normal answer even on a cold, busy machine
SLOW_ANSWER = {"delay": READ_TIMEOUT * 2}  # handled by "LinkedIn", answer lost to the timeout

PROPERTIES = {
    "id": {"type": "integer"},
    "email": {"type": ["string", "null"]},
    "li_fat_id": {"type": ["string", "null"]},
    "first_name": {"type": ["string", "null"]},
    "last_name": {"type": ["string", "null"]},
    "conversion_happened_at": {"type": ["integer", "string"]},
    "amount": {"type": ["number", "string", "null"]},
    "currency": {"type": ["string", "null"]},
}

# Failing steps: each makes one request fail in a way the client must retry. A dropped answer
# after LinkedIn handled the batch is listed thrice: it is the case that can double an event.
FAILURES: tuple[dict[str, t.Any], ...] = (
    {"status": 429},
    {"status": 429, "retry_after": 0},
    {"status": 429, "retry_after": 2.5},
    {"status": 429, "retry_after": 30},
    {"status": 500},
    {"status": 502},
    {"status": 503},
    {"status": 504},
    {"drop": "before"},
    {"drop": True},
    {"drop": "after"},
    {"drop": "after"},
    {"drop": "after"},
    SLOW_ANSWER,
)
FAST_FAILURES = tuple(step for step in FAILURES if step is not SLOW_ANSWER)


# -- rows ------------------------------------------------------------------------------------------

NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéøüßçñÅŁ"
names = st.text(NAME_CHARS, min_size=1, max_size=12)
emails = st.builds("{}.{}@{}.example".format, names, st.integers(0, 10**6),
                   st.sampled_from(["mail", "corp", "exämple"]))
li_fat_ids = st.uuids().map(str)
recent_ms = st.floats(0.05, 24 * 80).map(now_ms)
recent = st.one_of(recent_ms, recent_ms.map(
    lambda ms: dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat()))
amounts = st.one_of(st.decimals("0", "100000", places=2).map(str),
                    st.floats(0, 1e6, allow_nan=False).map(lambda f: round(f, 2)),
                    st.integers(0, 10**7))


@st.composite
def identity(draw: st.DrawFn) -> dict[str, t.Any]:
    """At least one usable identifier: an email, a li_fat_id, or first + last name."""
    chosen = draw(st.sets(st.sampled_from(["email", "li_fat_id", "name"]), min_size=1))
    row: dict[str, t.Any] = {}
    if "email" in chosen:
        row["email"] = draw(emails)
    if "li_fat_id" in chosen:
        row["li_fat_id"] = draw(li_fat_ids)
    if "name" in chosen:
        row["first_name"], row["last_name"] = draw(names), draw(names)
    return row


@st.composite
def valid_row(draw: st.DrawFn) -> dict[str, t.Any]:
    """A row LinkedIn accepts: an identifier, a time within 90 days, maybe a value."""
    row = {**draw(identity()), "conversion_happened_at": draw(recent)}
    if draw(st.booleans()):
        row["amount"] = draw(amounts)
        row["currency"] = draw(st.sampled_from(["USD", "eur", "GBP"]))
    return row


@st.composite
def invalid_row(draw: st.DrawFn) -> tuple[str, dict[str, t.Any]]:
    """(expected reject reason, row) for every record-level defect the target must catch."""
    kind = draw(st.sampled_from(["no_identifier", "conversion_time_too_old",
                                 "conversion_time_in_future", "invalid_amount",
                                 "schema_violation"]))
    row = draw(valid_row())
    if kind == "no_identifier":
        for field in ("email", "li_fat_id", "last_name"):
            row.pop(field, None)
    elif kind == "conversion_time_too_old":
        row["conversion_happened_at"] = now_ms(draw(st.floats(24 * 91, 24 * 400)))
    elif kind == "conversion_time_in_future":
        row["conversion_happened_at"] = now_ms(-draw(st.floats(1, 24 * 30)))
    elif kind == "invalid_amount":
        row["amount"] = draw(st.sampled_from(["abc", "-5", "1e", "NaN", "Infinity", "-0.01"]))
        row["currency"] = "USD"
    else:
        field, value = draw(st.sampled_from([
            ("email", 42), ("first_name", ["Jane"]), ("li_fat_id", {"v": 1}),
            ("amount", {"value": 3}), ("conversion_happened_at", None),
            ("conversion_happened_at", 1.5e12), ("currency", 978),
        ]))
        row[field] = value
    return kind, row


MALFORMED_LINES = (
    '{"type": "RECORD", "stream": "leads", "record": {"id": ',
    "not json at all",
    '{"type": "RECORD", "stream": "leads", "record": {"id": 1,}}',
    "\x00\x01binary",
)


@dataclasses.dataclass
class Case:
    """One example: the input lines, what each row should become, and the fault schedule."""

    messages: list[dict[str, t.Any] | str]
    expected: dict[int, str]  # row id -> "accepted" or the reject reason
    malformed: int
    last_state: dict[str, t.Any]
    linkedin_rejects: dict[str, str]  # eventId -> message
    schedule: list[t.Any]
    exhaust_at: int | None  # from this step on, every request fails
    batch_size: int
    in_flight: int
    max_attempts: int


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A stream of valid, invalid and malformed rows with STATE messages, plus faults."""
    kinds = draw(st.lists(st.sampled_from(["valid"] * 3 + ["invalid", "malformed"]),
                          max_size=40))
    messages: list[dict[str, t.Any] | str] = [schema("leads", PROPERTIES, ["id"])]
    expected: dict[int, str] = {}
    malformed = 0
    last_state: dict[str, t.Any] = {"bookmarks": {"leads": 0}}
    for row_id, kind in enumerate(kinds, start=1):
        if kind == "malformed":
            messages.append(draw(st.sampled_from(MALFORMED_LINES)))
            malformed += 1
            continue
        if kind == "valid":
            row, outcome = draw(valid_row()), "accepted"
        else:
            outcome, row = draw(invalid_row())
        expected[row_id] = outcome
        messages.append(record("leads", {"id": row_id, **row}))
        if draw(st.integers(0, 4)) == 0:
            messages.append(state({"bookmarks": {"leads": row_id}}))
    last_state = {"bookmarks": {"leads": len(kinds)}}
    messages.append(state(last_state))

    valid_ids = [i for i, outcome in expected.items() if outcome == "accepted"]
    refused = draw(st.lists(st.sampled_from(valid_ids), unique=True, max_size=4)
                   if valid_ids else st.just([]))
    linkedin_rejects = {}
    for row_id in refused:
        expected[row_id] = "linkedin_rejected"
        linkedin_rejects[derived_event_id("leads", [row_id], RULE)] = (
            "ERROR :: /user/userIds/0/idValue :: made-up refusal")

    # One batch at a time: runs of fewer than max_attempts failures, each closed by an
    # answered request, must all be survived. Several in flight: the calls share the script,
    # so max_attempts exceeds all failures before the exhausting block.
    in_flight = draw(st.sampled_from([0, 1, 2, 4]))  # 0: sent in the reading thread
    serial = in_flight <= 1
    run_length = SERIAL_ATTEMPTS - 1 if serial else 4
    schedule: list[t.Any] = []
    for _ in range(draw(st.integers(0, 5))):
        schedule += draw(st.lists(st.sampled_from(FAILURES), max_size=run_length))
        schedule.append("pass")
    # At most one slow answer: each costs a real read timeout.
    slow = [i for i, step in enumerate(schedule) if step is SLOW_ANSWER]
    for i in slow[1:]:
        schedule[i] = {"status": 503}
    max_attempts = SERIAL_ATTEMPTS if serial else len(schedule) + 1
    exhaust_at = None
    if draw(st.integers(0, 3)) == 0:
        # From here on LinkedIn fails every request: at the start or after one of the first
        # answers (later starts are rarely reached by a short stream).
        starts = [0] + [i + 1 for i, step in enumerate(schedule) if step == "pass"]
        exhaust_at = draw(st.sampled_from(starts[:3]))
        del schedule[exhaust_at:]
        pattern = draw(st.lists(st.sampled_from(FAST_FAILURES), min_size=1, max_size=4))
        schedule += (pattern * EXHAUSTING)[:EXHAUSTING]
    return Case(messages, expected, malformed, last_state, linkedin_rejects, schedule,
                exhaust_at, draw(st.integers(2, 6)), in_flight, max_attempts)


# -- the property ----------------------------------------------------------------------------------


@pytest.fixture
def short_read_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The target's client waits READ_TIMEOUT for an answer (the setting is whole seconds)."""

    def client(connection: Connection, **kwargs: t.Any) -> LinkedInClient:
        return LinkedInClient(dataclasses.replace(connection, read_timeout=READ_TIMEOUT),
                              **kwargs)

    monkeypatch.setattr(target_module, "LinkedInClient", client)


@pytest.fixture
def backoff_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff's sleeps are recorded, never waited."""
    recorded: list[float] = []
    monkeypatch.setattr(backoff._sync, "time", types.SimpleNamespace(sleep=recorded.append))
    return recorded


def settle(run: Run) -> None:
    """Wait for sends still running in the background after a failed run (none when serial)."""
    dispatcher = getattr(run.target, "dispatcher", None)
    if dispatcher is not None:
        with contextlib.suppress(Exception):
            dispatcher.wait_all()


def answer_lost(request: RecordedRequest) -> bool:
    """The connection was cut (maybe after handling) or the answer came after the timeout."""
    return request.status == 0 or request.elapsed >= SLOW_ANSWER["delay"]


@settings(max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "200")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink])
@given(case=cases())
def test_every_row_is_accepted_once_or_rejected_and_state_never_runs_ahead(
    case: Case, linkedin_emulator, backoff_sleeps, short_read_timeout, capsys
) -> None:
    """read = accepted + rejected; nothing both; repeats only after an answer LinkedIn gave but
    the client lost (and then identical); STATE only after a complete run, none on failure.

    Also: each row ends where its defect says (valid rows accepted, each bad row rejected with
    its reason), every failed request is retried after one backoff sleep (Retry-After
    honoured), and with one batch at a time the target gives up after exactly
    `max_attempts` tries and sends nothing more.
    """
    emulator = linkedin_emulator
    emulator.reset()
    backoff_sleeps.clear()
    emulator.faults.script(EVENTS, case.schedule)
    emulator.faults.reject_elements(case.linkedin_rejects)
    with tempfile.TemporaryDirectory() as folder:
        tmp = pathlib.Path(folder)
        config = base_config(emulator.url, tmp, batch_size_rows=case.batch_size,
                             max_attempts=case.max_attempts, max_retry_seconds=3600,
                             max_requests_in_flight=case.in_flight)
        run = run_target(config, case.messages, capsys)
        settle(run)
        rejects = read_rejects(tmp)

    event_id_of = {derived_event_id("leads", [i], RULE): i for i in case.expected}
    accepted = emulator.accepted_events
    copies = collections.Counter(event["eventId"] for event in accepted)
    accepted_ids = {event_id_of[event_id] for event_id in copies}
    rejected_ids = [row["record"]["id"] for row in rejects if row["stream"] == "leads"]
    malformed_rejects = [row for row in rejects if row["reason"] == "malformed_message"]

    # Nothing both accepted and rejected; nothing rejected twice.
    assert accepted_ids.isdisjoint(rejected_ids)
    assert len(rejected_ids) == len(set(rejected_ids))
    assert all(row["stream"] is None for row in malformed_rejects)
    assert len(rejected_ids) + len(malformed_rejects) == len(rejects)

    # Repeats only come from a request whose answer was lost, at most one extra copy per such
    # request, and every copy is the same event.
    events_requests = [r for r in emulator.requests if r.path == EVENTS]
    lost: collections.Counter[str] = collections.Counter()
    for request in filter(answer_lost, events_requests):
        lost.update(event["eventId"] for event in request.json["elements"])
    for event_id, count in copies.items():
        assert count <= 1 + lost[event_id], (event_id, count)
    first_copy: dict[str, dict[str, t.Any]] = {}
    for event in accepted:
        assert first_copy.setdefault(event["eventId"], event) == event
    assert emulator.duplicate_event_ids == len(accepted) - len(copies)

    consumed = len(case.schedule) - emulator.faults.pending()
    failed = [step for step in case.schedule[:consumed] if step != "pass"]
    hypothesis.event(f"in flight: {case.in_flight}")
    hypothesis.event(f"duplicates: {bool(emulator.duplicate_event_ids)}")
    hypothesis.event(f"answers lost: {any(map(answer_lost, events_requests))}")
    hypothesis.event(f"refused by LinkedIn: {bool(case.linkedin_rejects)}")
    if case.exhaust_at is not None and consumed > case.exhaust_at:
        hypothesis.event("run failed")
        # LinkedIn failed every request from some point on: the run fails, without STATE.
        assert isinstance(run.error, RetriableAPIError), run.error
        assert run.exit_code != 0
        assert run.states == []
        assert len(accepted_ids) + len(rejects) <= run.target.stats.records_read
        assert all(case.expected[row_id] != "accepted" for row_id in rejected_ids)
        if case.in_flight <= 1:
            # Gave up after exactly max_attempts tries of one call; sent nothing after that.
            assert consumed == case.exhaust_at + case.max_attempts
            assert len(events_requests) == consumed
            assert len(backoff_sleeps) == len(failed) - 1
        return

    assert run.error is None, run.error
    assert run.exit_code == 0
    # One backoff sleep per failed request (each was retried); Retry-After is honoured.
    assert len(backoff_sleeps) == len(failed)
    if case.in_flight <= 1:
        for step, wait in zip(failed, backoff_sleeps, strict=True):
            if "retry_after" in step:
                assert step["retry_after"] <= wait <= step["retry_after"] + 0.1
    assert run.target.stats.records_read == len(case.expected) + case.malformed
    assert run.target.stats.records_read == len(accepted_ids) + len(rejects)
    assert run.states == [case.last_state]
    outcome = {i: "accepted" for i in accepted_ids}
    outcome.update({row["record"]["id"]: row["reason"] for row in rejects
                    if row["stream"] == "leads"})
    assert outcome == case.expected
    assert len(malformed_rejects) == case.malformed
