"""The README's sample job, as `python3 dev.py sample` runs it: tap | target → emulator.

The sample is what a newcomer sees first, so its outcome is pinned exactly: which records
become events for which rule, and which are rejected for which reason. The tap and the target
run as real processes, the way Meltano or a shell pipe runs them.
"""

from __future__ import annotations

import collections
import hashlib
import json
import pathlib
import re
import subprocess
import sys

import pytest

from target_linkedin_conversions.emulator import Emulator

ROOT = pathlib.Path(__file__).resolve().parent.parent
RULE = "urn:lla:llaPartnerConversion:"
SAMPLE_TOKEN = "sample-token"  # the emulator's fake token, as in sample_config.json


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run the sample job once against a fresh emulator; tests read its outcome."""
    tmp = tmp_path_factory.mktemp("sample")
    with Emulator(tokens={SAMPLE_TOKEN}) as emulator:
        overrides = tmp / "emulator.json"
        overrides.write_text(json.dumps({
            "api_base_url": emulator.url,
            "rejects_path": str(tmp / "rejects.jsonl"),
            "dry_run_path": str(tmp / "dry-run.jsonl"),
        }))
        tap = subprocess.run([sys.executable, "samples/tap_sample.py"], cwd=ROOT,
                             capture_output=True, text=True, check=True, timeout=30)
        target = subprocess.run(
            [sys.executable, "-m", "target_linkedin_conversions.target",
             "--config", "sample_config.json", "--config", str(overrides)],
            cwd=ROOT, input=tap.stdout, capture_output=True, text=True, timeout=60,
        )
        rejects_file = tmp / "rejects.jsonl"
        return {
            "tap_stdout": tap.stdout,
            "target": target,
            "events": emulator.accepted_events,
            "duplicates": emulator.duplicate_event_ids,
            "rejects": [json.loads(line) for line in rejects_file.read_text().splitlines()],
            "rejects_path": str(rejects_file),
        }


SUMMARY = (
    "Run succeeded: 28 records read, 25 events built, 25 sent, 25 accepted, 5 rejected "
    "(conversion_time_in_future=1, conversion_time_too_old=1, invalid_currency=1, "
    "no_conversion_rule=1, no_identifier=1), 5 requests, <seconds> s, accepted events carried: "
    "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID=1, PLAINTEXT_IP_ADDRESS=4, SHA256_EMAIL=24, "
    "userInfo=9, rejects in <rejects_path>"
)
SECONDS = re.compile(r"(?<=, )\d+\.\d(?= s, )")


def summary_of(text: str) -> str:
    """The run summary in TEXT (from "Run succeeded" on), its seconds as <seconds>."""
    (line,) = [line[line.index("Run "):] for line in text.splitlines() if "| Run " in line]
    return SECONDS.sub("<seconds>", line)


def test_the_target_succeeds_and_prints_the_summary_line(sample_run) -> None:
    target = sample_run["target"]
    assert target.returncode == 0, target.stderr
    assert summary_of(target.stderr) == SUMMARY.replace("<rejects_path>",
                                                        sample_run["rejects_path"])


def test_the_readme_shows_the_summary_line_the_sample_prints() -> None:
    """The quickstart's sample output, unwrapped, is the summary line of the real run."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("```\nEmulator listening on ", 1)[1].split("```", 1)[0]
    log = block.split("\n\n", 1)[0].splitlines()[1:]  # the target's log, after the emulator's
    assert summary_of(" ".join(log)) == SUMMARY.replace("<rejects_path>",
                                                        "output/rejects.jsonl")


def test_the_emulator_accepts_25_events_across_the_three_rules(sample_run) -> None:
    per_rule = collections.Counter(event["conversion"] for event in sample_run["events"])
    assert per_rule == {RULE + "104001": 11, RULE + "104002": 7, RULE + "104003": 7}
    assert sample_run["duplicates"] == 0


def test_each_bad_record_is_rejected_for_its_own_reason(sample_run) -> None:
    keys = {"demo_requests": "request_id", "purchases": "order_id", "signups": "signup_id"}
    outcome = {
        (row["stream"], row["record"][keys[row["stream"]]]): row["reason"]
        for row in sample_run["rejects"]
    }
    assert outcome == {
        ("demo_requests", "DR-24008"): "no_identifier",
        ("purchases", "SO-7007"): "invalid_currency",
        ("purchases", "SO-7008"): "conversion_time_too_old",
        ("signups", "SU-3008"): "conversion_time_in_future",
        ("signups", "SU-3009"): "no_conversion_rule",
    }


def test_identifier_forms_of_the_sample_reach_linkedin_as_documented(sample_run) -> None:
    """Pre-hashed emails pass through lowercased; a name alone is sent as userInfo."""
    users = [event["user"] for event in sample_run["events"]]
    prehashed = hashlib.sha256(b"yara.hashed@example.com").hexdigest()
    assert {"userIds": [{"idType": "SHA256_EMAIL", "idValue": prehashed}]} in users
    assert {"userIds": [], "userInfo": {"firstName": "Elif", "lastName": "Mockingbird",
                                        "companyName": "Hooli Example Ltd",
                                        "title": "Marketing Operations Manager",
                                        "countryCode": "GB"}} in users
    messy = hashlib.sha256(b"bruno.fakename@example.org").hexdigest()
    assert any({"idType": "SHA256_EMAIL", "idValue": messy} in user["userIds"] for user in users)


def test_state_is_emitted_and_no_personal_data_or_token_is_logged(sample_run) -> None:
    target = sample_run["target"]
    tap_state = json.loads(sample_run["tap_stdout"].splitlines()[-1])["value"]
    assert [json.loads(line) for line in target.stdout.splitlines()] == [tap_state]

    people = json.loads((ROOT / "samples" / "people.json").read_text())
    personal = {
        str(row[column]).strip()
        for rows in (people["demo_requests"], people["purchases"], people["signups"])
        for row in rows
        for column in ("work_email", "email", "first_name", "last_name")
        if row.get(column)
    }
    assert [value for value in personal if value in target.stderr] == []
    assert SAMPLE_TOKEN not in target.stderr
