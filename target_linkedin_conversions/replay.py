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

    A record appears once however many rows it has: a record that fans out to several rules
    has one row per refused event. When LinkedIn refused only some of its events, the record
    carries those rules in `REPLAY_RULES_COLUMN`, so the events it accepted are not sent again.
    """
    records: dict[tuple[str, str], dict[str, t.Any]] = {}
    for row in rows:
        stream = row.get("stream")
        if stream is None or not isinstance(row.get("record"), dict):
            continue
        if (reasons and row.get("reason") not in reasons) or (streams and stream not in streams):
            continue
        identity = (stream, json.dumps(row["record"], sort_keys=True, default=str))
        entry = records.setdefault(identity, {
            "stream": stream, "keys": tuple(row.get("key_properties") or ()),
            "record": row["record"], "refused": [], "whole": False,
        })
        event = row.get("event")
        if row.get("reason") == "linkedin_rejected" and isinstance(event, dict) \
                and isinstance(event.get("conversion"), str):
            entry["refused"].append(event["conversion"])
        else:
            entry["whole"] = True  # rejected before sending: every rule is still to send

    announced: dict[str, tuple[str, ...]] = {}
    for entry in records.values():
        stream, keys = entry["stream"], entry["keys"]
        if announced.get(stream) != keys:
            announced[stream] = keys
            yield {
                "type": "SCHEMA",
                "stream": stream,
                # Types are unknown after the round trip; the target maps what it reads.
                "schema": {"type": "object", "properties": {}, "additionalProperties": True},
                "key_properties": list(keys),
            }
        record = entry["record"]
        if entry["refused"] and not entry["whole"]:
            record = {**record, REPLAY_RULES_COLUMN: sorted(set(entry["refused"]))}
        yield {"type": "RECORD", "stream": stream, "record": record}


def main(argv: t.Sequence[str] | None = None) -> int:
    """Read a rejects file, print Singer messages on stdout, counts on stderr."""
    parser = argparse.ArgumentParser(prog="linkedin-conversions-replay", description=__doc__)
    parser.add_argument("rejects_file", help="a rejects JSON-lines file written by the target")
    parser.add_argument("--reason", action="append", default=[],
                        help="replay only rejects with this reason code (repeatable)")
    parser.add_argument("--stream", action="append", default=[],
                        help="replay only this stream (repeatable)")
    args = parser.parse_args(argv)
    with open(args.rejects_file, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    count = 0
    for message in replay_messages(rows, reasons=args.reason, streams=args.stream):
        count += message["type"] == "RECORD"
        sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
    sys.stderr.write(f"replayed {count} record(s) from {len(rows)} rejected rows\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
