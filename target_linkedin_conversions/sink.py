"""The Singer sink: stage mapped events per batch, send them, account for every record.

Each record ends in exactly one of two places: accepted by LinkedIn, or written to the rejects
output with a reason. `process_batch` raises on anything else, so the SDK emits no STATE past
records that were not delivered.
"""

from __future__ import annotations

import array
import collections
import decimal
import typing as t

import msgspec
from singer_sdk.exceptions import InvalidInputLine
from singer_sdk.sinks import BatchSink

from target_linkedin_conversions.client import decode_event, encode_event
from target_linkedin_conversions.errors import BatchRejectedError, ConfigError, FatalAPIError
from target_linkedin_conversions.mapping import EventBuilder, Rejection
from target_linkedin_conversions.settings import MAX_BATCH_SIZE
from target_linkedin_conversions.validation import RecordValidator, SchemaViolationError

if t.TYPE_CHECKING:
    from target_linkedin_conversions.target import TargetLinkedInConversions


class _Chunk:
    """At most 5,000 events of one BATCH_CREATE, encoded and joined as they are built, and the
    records they came from.

    Two growing buffers instead of two small bytes objects per event: a batch's memory is a
    few large blocks that are freed whole when it has been sent, rather than ten thousand
    small objects spread over the allocator's pools, and the request body needs no join.
    A record is kept only for the reject row, should LinkedIn refuse one of its events.
    """

    __slots__ = ("event_ends", "events", "match_keys", "record_ends", "record_of", "records")

    def __init__(self) -> None:
        self.events = bytearray()  # each event followed by a comma
        self.event_ends = array.array("q")  # offset after each event's comma
        self.records = bytearray()
        self.record_ends = array.array("q")
        self.record_of = array.array("q")  # per event: the index of its record
        self.match_keys = array.array("B")  # per event: `Mapped.match_keys`

    def __len__(self) -> int:
        return len(self.event_ends)

    def add_record(self, record: bytes) -> None:
        """Stage RECORD; the events added next belong to it."""
        self.records += record
        self.record_ends.append(len(self.records))

    def add_event(self, event: bytes, match_keys: int) -> None:
        """Stage EVENT, built from the record added last and carrying MATCH_KEYS."""
        self.events += event
        self.events += b","
        self.event_ends.append(len(self.events))
        self.record_of.append(len(self.record_ends) - 1)
        self.match_keys.append(match_keys)

    def match_key_counts(self, skip: t.Collection[int] = ()) -> collections.Counter[int]:
        """How many events (but those in SKIP) carry each combination of match keys."""
        if not skip:
            return collections.Counter(self.match_keys)
        return collections.Counter(bits for index, bits in enumerate(self.match_keys)
                                   if index not in skip)

    def body(self) -> bytes:
        """The BATCH_CREATE body: `{"elements":[...]}` over the staged events."""
        return b"".join((b'{"elements":[', memoryview(self.events)[:-1], b"]}"))

    def event(self, index: int) -> memoryview:
        """The encoded event at INDEX."""
        start = self.event_ends[index - 1] if index else 0
        return memoryview(self.events)[start:self.event_ends[index] - 1]

    def record(self, index: int) -> memoryview:
        """The encoded record that event INDEX was built from."""
        which = self.record_of[index]
        start = self.record_ends[which - 1] if which else 0
        return memoryview(self.records)[start:self.record_ends[which]]

    def without(self, indexes: t.Collection[int]) -> _Chunk:
        """A new chunk of the events not in INDEXES, each with its record."""
        kept = _Chunk()
        last_record = -1
        for index in range(len(self)):
            if index in indexes:
                continue
            if self.record_of[index] != last_record:
                last_record = self.record_of[index]
                kept.add_record(self.record(index))
            kept.add_event(self.event(index), self.match_keys[index])
        return kept


# Decimals travel as JSON numbers and come back as Decimals: a reject row shows what was read.
_RECORD_ENCODER = msgspec.json.Encoder(enc_hook=str, decimal_format="number")
_RECORD_DECODER = msgspec.json.Decoder(float_hook=decimal.Decimal)


class ConversionsSink(BatchSink):
    """Sends one stream's records to `/rest/conversionEvents` in BATCH_CREATE calls."""

    MAX_SIZE_DEFAULT = MAX_BATCH_SIZE

    target: TargetLinkedInConversions

    def __init__(self, target: TargetLinkedInConversions, *args: t.Any, **kwargs: t.Any) -> None:
        self.target = target
        self._max_size: int | None = None
        super().__init__(target, *args, **kwargs)
        self._staged: dict[str, list[_Chunk]] = {}
        self._record_validator = (
            RecordValidator(self.schema) if self.config.get("validate_records", True) else None
        )

    @property
    def max_size(self) -> int:
        """`batch_size_rows`, never above LinkedIn's 5,000 events per BATCH_CREATE.

        Read by the SDK after every record, so it is worked out once per sink.
        """
        if self._max_size is None:
            self._max_size = max(1, min(self.batch_size_rows or MAX_BATCH_SIZE, MAX_BATCH_SIZE))
        return self._max_size

    def get_validator(self) -> None:
        """None: records are validated in `process_record`, where a failure becomes a reject."""
        return

    def _singer_validate_message(self, record: dict) -> None:
        """Leave key properties to the mapping: a record without one is rejected on its own
        (`missing_key_value`) instead of stopping the run, as the SDK's check does.

        Overrides a private hook of singer-sdk 0.54 (pinned ~=0.54.9; tests/test_bad_input.py).
        """

    def _parse_timestamps_in_record(self, record: dict, schema: dict, treatment: t.Any) -> None:
        """Leave timestamps as read: the mapping parses the one field it needs, once.

        The SDK's version parses every date-time field of every record and aborts the run on
        a bad value. This overrides a private hook of singer-sdk 0.54 (pinned ~=0.54.9 and
        covered by tests).
        """

    def setup(self) -> None:
        """Resolve the stream's settings and refuse to start a stream that has no rule."""
        rules = self.target.rules
        stream = self.target.settings.for_stream(self.stream_name,
                                                 rules.by_name if rules else {})
        if stream.conversion_rule is None and not stream.rule_field:
            msg = (
                f"Stream '{self.stream_name}' has no conversion rule: set conversion_rule_id, "
                f"or streams.{self.stream_name}.conversion_rule_id / rule_field + rule_map."
            )
            raise ConfigError(msg)
        self.builder = EventBuilder(
            stream,
            key_properties=self.key_properties,
            max_clock_skew_ms=self.target.settings.max_clock_skew_seconds * 1000,
        )
        if not self.key_properties and "event_id" not in stream.field_mapping:
            self.logger.warning(
                "Stream '%s' has no key properties and no mapped event_id: events carry no "
                "eventId, so a re-run of the same rows is counted twice by LinkedIn.",
                self.stream_name,
            )

    def start_batch(self, context: dict) -> None:
        """Stage events on the sink, not in CONTEXT: the SDK logs the context at DEBUG."""
        self._staged[context["batch_id"]] = [_Chunk()]

    def process_record(self, record: dict, context: dict) -> None:
        """Validate and map RECORD; stage its events or write its reject."""
        stats = self.target.stats
        if self._record_validator is not None:
            try:
                self._record_validator.validate(record)
            except SchemaViolationError as exc:
                stats.read()
                self._reject(record, "schema_violation", str(exc))
                return
        try:
            outcome = self.builder.build(record)
        except Exception as exc:  # a mapping bug must neither stop the run nor lose the record
            self.logger.error("Mapping a record of stream '%s' failed (%s); it is written to "
                              "the rejects as mapping_failed. Please report this.",
                              self.stream_name, type(exc).__name__)
            stats.read()
            self._reject(record, "mapping_failed",
                         f"the target failed to map this record ({type(exc).__name__})")
            return
        if outcome.__class__ is Rejection:
            stats.read()
            self._reject(record, outcome.reason, outcome.message, outcome.event)
            return
        events = outcome.events
        stats.read(1, len(events))
        if outcome.dropped:
            stats.drop(outcome.dropped)
        chunks = self._staged[context["batch_id"]]
        chunk = chunks[-1]
        if len(chunk) + len(events) > MAX_BATCH_SIZE:  # fan-out can exceed a batch
            chunk = _Chunk()
            chunks.append(chunk)
        encoded = _RECORD_ENCODER.encode(record)
        chunk.add_record(encoded)
        match_keys = outcome.match_keys
        for event in events:
            if len(chunk) == MAX_BATCH_SIZE:  # only a record with over 5,000 rules gets here
                chunk = _Chunk()
                chunks.append(chunk)
                chunk.add_record(encoded)
            chunk.add_event(encode_event(event), match_keys)

    def process_batch(self, context: dict) -> None:
        """Hand the batch's chunks of at most 5,000 events to the dispatcher; they are sent in
        the background while the next batch is read."""
        for chunk in self._staged.pop(context["batch_id"], []):
            if len(chunk):
                self.target.dispatcher.submit(self._deliver, chunk)

    def _deliver(self, chunk: _Chunk) -> None:
        """Send CHUNK; reject the elements LinkedIn names and resend the others, never as-is.

        Each resend holds strictly fewer elements than the last, so this ends. An error that
        names no element propagates and stops the run before STATE moves.
        """
        stats = self.target.stats
        client = self.target.client
        while chunk:
            body = chunk.body()
            try:
                result = client.send_batch(body, len(chunk))
            except BatchRejectedError as exc:
                stats.add(events_sent=len(chunk))
                named = {i: m for i, m in exc.by_index.items() if 0 <= i < len(chunk)}
                if not named:
                    msg = (f"LinkedIn refused the batch ({exc.status}) naming element indexes "
                           f"outside it ({sorted(exc.by_index)[:5]} of {len(chunk)}); nothing "
                           "in it can be told apart, so the run stops")
                    raise FatalAPIError(msg, status=exc.status) from None
                self.logger.warning(
                    "LinkedIn refused %d of %d events by index (status %d); rejecting those "
                    "and resending the other %d", len(named), len(chunk), exc.status,
                    len(chunk) - len(named))
                for index, message in named.items():
                    self._reject_event(chunk, index, message)
                chunk = chunk.without(named)
                continue
            if result.dry_run:
                stats.add(events_dry_run=len(chunk))
                return
            stats.add(events_sent=len(chunk))
            for index, message in result.rejected.items():
                self._reject_event(chunk, index, message)
            stats.accepted(len(chunk) - len(result.rejected),
                           chunk.match_key_counts(skip=result.rejected))
            return

    def _reject(self, record: dict, reason: str, message: str,
                event: dict | None = None) -> None:
        self.target.rejects.write(stream=self.stream_name, reason=reason, message=message,
                                  record=record, key_properties=self.key_properties,
                                  event=event)
        self.target.stats.reject(reason)

    def _reject_event(self, chunk: _Chunk, index: int, message: str) -> None:
        self._reject(_RECORD_DECODER.decode(chunk.record(index)), "linkedin_rejected", message,
                     decode_event(chunk.event(index)))

    def process_batch_files(self, encoding: t.Any, files: t.Sequence[str]) -> None:
        """Refuse BATCH messages: the SDK would hand their records to `process_batch` without
        the validation and mapping every record must pass."""
        msg = (f"stream '{self.stream_name}' sent a BATCH message; this target takes RECORD "
               "messages only. Turn the tap's batch output off (its batch_config)")
        raise InvalidInputLine(msg)

    def clean_up(self) -> None:
        """Nothing staged may survive the end of the run."""
        self._staged.clear()
        super().clean_up()
