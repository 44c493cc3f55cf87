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


def replay_messages(
    rows: t.Iterable[dict[str, t.Any]],
    *,
    reasons: t.Collection[str] = (),
    streams: t.Collection[str] = (),
) -> t.Iterator[dict[str, t.Any]]:
    """SCHEMA and RECORD messages for the replayable reject ROWS, filtered by reason/stream."""
    announced: dict[str, tuple[str, ...]] = {}
    for row in rows:
        stream = row.get("stream")
        if stream is None or not isinstance(row.get("record"), dict):
            continue
        if (reasons and row.get("reason") not in reasons) or (streams and stream not in streams):
            continue
        keys = tuple(row.get("key_properties") or ())
        if announced.get(stream) != keys:
            announced[stream] = keys
            yield {
                "type": "SCHEMA",
                "stream": stream,
                # Types are unknown after the round trip; the target maps what it reads.
                "schema": {"type": "object", "properties": {}, "additionalProperties": True},
                "key_properties": list(keys),
            }
        yield {"type": "RECORD", "stream": stream, "record": row["record"]}


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
    sys.stderr.write(f"replayed {count} of {len(rows)} rejected rows\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
