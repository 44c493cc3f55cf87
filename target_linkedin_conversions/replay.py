"""`linkedin-conversions-replay`: turn a rejects file back into Singer messages.

After the cause of the rejects is fixed (a rule enabled, a mapping corrected, a column
cleaned), `linkedin-conversions-replay rejects.jsonl | target-linkedin-conversions --config ...`
sends the same records again. Each stream keeps its key properties, so the derived eventIds are
the ones the first run would have sent and LinkedIn deduplicates any overlap.
"""

from __future__ import annotations

import argparse
import json
import sys
import typing as t

from target_linkedin_conversions.mapping import REPLAY_RULES_COLUMN


def replay_messages(
    rows: t.Iterable[dict[str, t.Any]],
    *,
    reasons: t.Collection[str] = (),
    streams: t.Collection[str] = (),
) -> t.Iterator[dict[str, t.Any]]:
    """SCHEMA and RECORD messages for the replayable reject ROWS, filtered by reason/stream.

    A record that fans out to several rules has one row per event LinkedIn refused; those rows
    become one record again, carrying the refused rules in `REPLAY_RULES_COLUMN`, so the
    events LinkedIn accepted are not sent twice. Every other row is a record of its own (two
    equal rows may be two conversions of a stream without key properties).
    """
    entries: list[dict[str, t.Any]] = []
    fanned_out: dict[tuple[str, str], dict[str, t.Any]] = {}
    for row in rows:
        stream = row.get("stream")
        if not isinstance(stream, str) or not isinstance(row.get("record"), dict):
            continue
        if (reasons and row.get("reason") not in reasons) or (streams and stream not in streams):
            continue
        entry = {"stream": stream, "keys": tuple(row.get("key_properties") or ()),
                 "record": row["record"], "refused": []}
        event = row.get("event")
        conversion = event.get("conversion") if isinstance(event, dict) else None
        if row.get("reason") == "linkedin_rejected" and isinstance(conversion, str):
            identity = (stream, json.dumps(row["record"], sort_keys=True, default=str))
            earlier = fanned_out.get(identity)
            if earlier is not None and conversion not in earlier["refused"]:
                earlier["refused"].append(conversion)
                continue
            entry["refused"].append(conversion)
            fanned_out[identity] = entry
        entries.append(entry)

    # One SCHEMA per stream naming every column: the SDK checks key properties against it.
    columns: dict[str, dict[str, dict]] = {}
    for entry in entries:
        columns.setdefault(entry["stream"], {}).update({name: {} for name in entry["record"]})
    announced: dict[str, tuple[str, ...]] = {}
    for entry in entries:
        stream, keys = entry["stream"], entry["keys"]
        if announced.get(stream) != keys:
            announced[stream] = keys
            yield {
                "type": "SCHEMA",
                "stream": stream,
                # Types are unknown after the round trip; the target maps what it reads.
                "schema": {"type": "object", "properties": columns[stream],
                           "additionalProperties": True},
                "key_properties": list(keys),
            }
        record = entry["record"]
        if entry["refused"]:
            record = {**record, REPLAY_RULES_COLUMN: sorted(entry["refused"])}
        yield {"type": "RECORD", "stream": stream, "record": record}


def read_rejects(path: str) -> list[dict[str, t.Any]]:
    """The rows of a rejects file; `ReplayError` naming the line that is not one."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.readlines()
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ReplayError(f"cannot read {path!r}: {reason}") from None
    rows = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict):
            raise ReplayError(f"{path!r} line {number} is not a reject row (a JSON object); "
                              "is this a rejects file of target-linkedin-conversions, written "
                              "whole?")
        rows.append(row)
    return rows


class ReplayError(Exception):
    """The rejects file cannot be replayed; the message says why, without its content."""


def main(argv: t.Sequence[str] | None = None) -> int:
    """Read a rejects file, print Singer messages on stdout, counts on stderr."""
    parser = argparse.ArgumentParser(prog="linkedin-conversions-replay", description=__doc__)
    parser.add_argument("rejects_file", help="a rejects JSON-lines file written by the target")
    parser.add_argument("--reason", action="append", default=[],
                        help="replay only rejects with this reason code (repeatable)")
    parser.add_argument("--stream", action="append", default=[],
                        help="replay only this stream (repeatable)")
    args = parser.parse_args(argv)
    try:
        rows = read_rejects(args.rejects_file)
    except ReplayError as exc:
        sys.stderr.write(f"linkedin-conversions-replay: {exc}\n")
        return 1
    count = 0
    for message in replay_messages(rows, reasons=args.reason, streams=args.stream):
        count += message["type"] == "RECORD"
        sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
    sys.stderr.write(f"replayed {count} record(s) from {len(rows)} rejected rows\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
