"""The SDK floor: a singer-sdk target that reads, batches and throws away.

Everything the SDK does per message still happens (its default reader, SCHEMA handling, the
per-record date-time parsing, key-property checks, batching, drains, STATE after each full
drain); only the sink's work is missing. This is issue 7's "SDK floor": a do-nothing
BatchSink with record validation off. The benchmark states the full target's speed as a ratio
to it.

`validate_records` in the config picks a context variant: true (the SDK's default, jsonschema)
shows what the SDK's own validation costs. `--msgspec` swaps in the SDK's faster msgspec
reader (which the real target uses): a stricter bar, shown for context.

Usage: python benchmarks/floor_target.py [--msgspec] --config CONFIG < INPUT
"""

from __future__ import annotations

import sys

from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.sinks import BatchSink


class FloorSink(BatchSink):
    """Keeps the SDK's default `process_record` (stage in the batch context), sends nothing."""

    def process_batch(self, context: dict) -> None:
        """Drop the batch: the floor measures the SDK around the sink, not a sink."""


class FloorTarget(Target):
    """Do-nothing target with the SDK's defaults."""

    name = "target-benchmark-floor"
    config_jsonschema = th.PropertiesList().to_dict()
    default_sink_class = FloorSink


if __name__ == "__main__":
    if "--msgspec" in sys.argv:
        sys.argv.remove("--msgspec")
        FloorTarget.message_reader_class = MsgSpecReader
    FloorTarget.cli()
