"""Building Singer input and running the target in-process against the emulator."""

from __future__ import annotations

import dataclasses
import io
import json
import time
import typing as t

from target_linkedin_conversions.target import TargetLinkedInConversions

HOUR_MS = 3_600_000


def now_ms(hours_ago: float = 1) -> int:
    """A conversion time HOURS_AGO before now, in epoch ms."""
    return int(time.time() * 1000 - hours_ago * HOUR_MS)


def schema(stream: str, properties: dict[str, t.Any], keys: t.Sequence[str] = ()) -> dict:
    """A SCHEMA message."""
    return {"type": "SCHEMA", "stream": stream, "schema": {"properties": properties},
            "key_properties": list(keys)}


def record(stream: str, row: dict[str, t.Any]) -> dict:
    """A RECORD message."""
    return {"type": "RECORD", "stream": stream, "record": row}


def state(value: dict[str, t.Any]) -> dict:
    """A STATE message."""
    return {"type": "STATE", "value": value}


LEAD_PROPERTIES = {
    "id": {"type": "integer"},
    "email": {"type": ["string", "null"]},
    "first_name": {"type": ["string", "null"]},
    "last_name": {"type": ["string", "null"]},
    "conversion_happened_at": {"type": ["integer", "string"]},
    "amount": {"type": ["number", "string", "null"]},
    "currency": {"type": ["string", "null"]},
}


def leads(rows: t.Iterable[dict[str, t.Any]], *, final_state: dict | None = None) -> list[dict]:
    """A `leads` stream (key `id`) with ROWS, then an optional STATE."""
    messages = [schema("leads", LEAD_PROPERTIES, ["id"])]
    messages += [record("leads", row) for row in rows]
    if final_state is not None:
        messages.append(state(final_state))
    return messages


def base_config(emulator_url: str, tmp_path: t.Any, **overrides: t.Any) -> dict[str, t.Any]:
    """Config for the emulator's seeded account and rule 104001.

    Start-up rule checks are off, so a run's requests are exactly the events it sends; the
    checks have their own tests (tests/test_rules.py).
    """
    return {
        "access_token": "test-token",
        "api_base_url": emulator_url,
        "ad_account_id": "512345678",
        "conversion_rule_id": "104001",
        "check_rules": False,
        "rejects_path": str(tmp_path / "rejects.jsonl"),
        "dry_run_path": str(tmp_path / "dry_run.jsonl"),
        **overrides,
    }


@dataclasses.dataclass
class Run:
    """One target run: the target, the STATE values it wrote, and why it failed (if it did).

    `error` is the failure the target reported (it exits 1 with that message), or any other
    exception that escaped; `exit_code` is what the process would have exited with.
    """

    target: TargetLinkedInConversions
    states: list[dict[str, t.Any]]
    error: BaseException | None
    exit_code: int


def run_target(config: dict[str, t.Any], messages: t.Iterable[dict | str], capsys: t.Any) -> Run:
    """Run the target in-process over MESSAGES, as `target-linkedin-conversions` would."""
    text = "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)
    target = TargetLinkedInConversions(config=config, parse_env_config=False)
    capsys.readouterr()
    error: BaseException | None = None
    exit_code = 0
    try:
        target.listen(io.StringIO(text))
    except SystemExit as exc:
        error, exit_code = target.failure or exc, int(exc.code or 0)
    except Exception as exc:  # the test asserts on it
        error, exit_code = exc, 1
    out = capsys.readouterr().out
    states = [json.loads(line) for line in out.splitlines() if line.strip()]
    return Run(target, states, error, exit_code)


def read_rejects(tmp_path: t.Any) -> list[dict[str, t.Any]]:
    """Rows of the rejects file (empty when none was written)."""
    path = tmp_path / "rejects.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]
