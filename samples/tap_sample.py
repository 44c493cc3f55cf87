#!/usr/bin/env python3
"""A tiny Singer tap for the sample job: invented people from `people.json` as three streams.

Stdlib only, so it runs with any python3 and shows that the target accepts any Singer tap.
The data file stores times as `days_ago` / `hours_ago` and this tap turns them into timestamps
relative to the moment it runs: the sample stays inside LinkedIn's 90-day window next year too.
Each stream uses another time form the target understands (ISO-8601 with an offset, epoch
seconds, epoch milliseconds).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import pathlib
import sys
import typing as t

DATA_FILE = pathlib.Path(__file__).with_name("people.json")
SAMPLE_OFFSET = dt.timezone(dt.timedelta(hours=2))  # a warehouse that stores local time

NULLABLE_TEXT = {"type": ["string", "null"]}
TEXT = {"type": "string"}

SCHEMAS: dict[str, dict[str, t.Any]] = {
    "demo_requests": {
        "key_properties": ["request_id"],
        "properties": {
            "request_id": TEXT,
            "first_name": NULLABLE_TEXT,
            "last_name": NULLABLE_TEXT,
            "work_email": NULLABLE_TEXT,
            "company": NULLABLE_TEXT,
            "job_title": NULLABLE_TEXT,
            "country": NULLABLE_TEXT,
            "li_fat_id": NULLABLE_TEXT,
            "requested_at": {"type": "string", "format": "date-time"},
        },
    },
    "purchases": {
        "key_properties": ["order_id"],
        "properties": {
            "order_id": TEXT,
            "email": NULLABLE_TEXT,
            "amount": {"type": ["number", "null"]},
            "currency": NULLABLE_TEXT,
            "paid_at": {"type": "integer", "description": "epoch seconds"},
        },
    },
    "signups": {
        "key_properties": ["signup_id"],
        "properties": {
            "signup_id": TEXT,
            "email": NULLABLE_TEXT,
            "email_sha256": NULLABLE_TEXT,
            "plan": NULLABLE_TEXT,
            "ip_address": NULLABLE_TEXT,
            "signed_up_at": {"type": "integer", "description": "epoch milliseconds"},
        },
    },
}


def _moment(row: dict[str, t.Any], now: dt.datetime) -> dt.datetime:
    """NOW minus the row's `days_ago` / `hours_ago` (negative values lie in the future)."""
    return now - dt.timedelta(days=row.get("days_ago", 0), hours=row.get("hours_ago", 0))


def _time_columns(stream: str, moment: dt.datetime) -> dict[str, t.Any]:
    if stream == "demo_requests":
        return {"requested_at": moment.astimezone(SAMPLE_OFFSET).isoformat(timespec="seconds")}
    if stream == "purchases":
        return {"paid_at": int(moment.timestamp())}
    return {"signed_up_at": int(moment.timestamp() * 1000)}


def messages(data: dict[str, t.Any], now: dt.datetime) -> t.Iterator[dict[str, t.Any]]:
    """SCHEMA, then RECORDs, per stream; one STATE with every stream's bookmark at the end."""
    bookmarks: dict[str, dict[str, str]] = {}
    for stream, spec in SCHEMAS.items():
        yield {
            "type": "SCHEMA",
            "stream": stream,
            "key_properties": spec["key_properties"],
            "schema": {"type": "object", "properties": spec["properties"]},
        }
        for row in data[stream]:
            record = {k: v for k, v in row.items() if k not in ("days_ago", "hours_ago")}
            record.update(_time_columns(stream, _moment(row, now)))
            yield {"type": "RECORD", "stream": stream, "record": record,
                   "time_extracted": now.isoformat(timespec="seconds")}
        bookmarks[stream] = {"synced_at": now.isoformat(timespec="seconds")}
    yield {"type": "STATE", "value": {"bookmarks": bookmarks}}


def main(argv: t.Sequence[str] | None = None) -> int:
    """Write the sample's Singer messages to stdout."""
    parser = argparse.ArgumentParser(description="Emit the sample people as Singer messages.")
    parser.add_argument("--data", type=pathlib.Path, default=DATA_FILE,
                        help="the JSON file with the rows (default: people.json beside this file)")
    parser.add_argument("--config", help="accepted for Singer compatibility; unused")
    args = parser.parse_args(argv)

    data = json.loads(args.data.read_text(encoding="utf-8"))
    now = dt.datetime.now(dt.timezone.utc)
    for message in messages(data, now):
        sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
