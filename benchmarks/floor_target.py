"""The SDK floor: a singer-sdk target that reads, batches and throws away.

Everything the SDK does per message still happens (msgspec reader, SCHEMA handling, the
per-record date-time parsing, key-property checks, batching, drains, STATE after each full
drain); only the sink's work is missing. No real target on this SDK can be faster than this
on the same input, so the benchmark states the full target's speed as a ratio to it.

`validate_records` in the config picks the variant: false is the floor, true (the SDK's
default, jsonschema) shows what the SDK's own validation costs.

Usage: python benchmarks/floor_target.py --config CONFIG < INPUT
"""

from __future__ import annotations

from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.sinks import BatchSink


class FloorSink(BatchSink):
    """Keeps the SDK's default `process_record` (stage in the batch context), sends nothing."""

    def process_batch(self, context: dict) -> None:
        """Drop the batch: the floor measures the SDK around the sink, not a sink."""


class FloorTarget(Target):
    """Do-nothing target with the SDK's fast reader, the one the real target also uses."""

    name = "target-benchmark-floor"
    config_jsonschema = th.PropertiesList().to_dict()
    default_sink_class = FloorSink
    message_reader_class = MsgSpecReader


if __name__ == "__main__":
    FloorTarget.cli()
