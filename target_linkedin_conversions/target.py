"""`target-linkedin-conversions`: the Singer target that Meltano runs."""

from __future__ import annotations

import json
import logging
import threading
import typing as t
import uuid

import msgspec
from singer_sdk import Target
from singer_sdk.contrib.msgspec import MsgSpecReader, decoder
from singer_sdk.exceptions import (
    InvalidInputLine,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)

from target_linkedin_conversions.client import LinkedInClient
from target_linkedin_conversions.dispatch import Dispatcher, fix_mmap_threshold
from target_linkedin_conversions.errors import (
    ConfigError,
    FatalAPIError,
    InvalidStreamSchemaError,
    OutputWriteError,
    RejectThresholdError,
    RetriableAPIError,
)
from target_linkedin_conversions.rejects import (
    RejectsWriter,
    check_writable,
    open_private,
    writing,
)
from target_linkedin_conversions.report import ProgressLogger, RunStats
from target_linkedin_conversions.rules import ResolvedRules, RuleManager
from target_linkedin_conversions.settings import CONFIG_SCHEMA, Settings, SettingsHooks
from target_linkedin_conversions.sink import ConversionsSink

_MALFORMED = "_MALFORMED_LINE"
_BLANK = "_BLANK_LINE"
LOGGER = logging.getLogger(__name__)

# Errors whose message already says what happened and what to do: logged without a traceback.
_CLEAN_FAILURES = (
    ConfigError,
    FatalAPIError,
    RetriableAPIError,
    RejectThresholdError,
    InvalidStreamSchemaError,
    OutputWriteError,
    RecordsWithoutSchemaException,
    MissingKeyPropertiesError,
    InvalidInputLine,
)


class ConversionsReader(MsgSpecReader):
    """msgspec's fast reader, hardened: what cannot be a Singer message becomes a reject or a
    clear error, and no error message repeats the line (and the personal data in it)."""

    on_malformed: t.Callable[[str], None] | None = None

    def deserialize_json(self, line: str) -> dict:
        """Decode LINE; hand anything that is not a usable message to `on_malformed`."""
        try:
            message = decoder.decode(line)
        except (msgspec.DecodeError, UnicodeError):
            stripped = line.strip()
            if not stripped or stripped == "\ufeff":
                return {"type": _BLANK}  # blank lines separate nothing in Singer; skip them
            try:
                message = decoder.decode(stripped.lstrip("\ufeff"))
            except (msgspec.DecodeError, UnicodeError):
                message = None
        if _is_usable(message):
            return message  # type: ignore[return-value]
        if self.on_malformed is None:
            raise InvalidInputLine("an input line is not a valid Singer message")
        self.on_malformed(line)
        return {"type": _MALFORMED}

    @staticmethod
    def assert_line_requires(line_dict: dict, requires: set[str]) -> None:
        """Name the missing keys only: the SDK's message repeats the whole line."""
        if isinstance(line_dict, dict) and requires <= line_dict.keys():
            return
        missing = sorted(requires - set(line_dict)) if isinstance(line_dict, dict) else requires
        if missing:
            msg = f"a Singer message lacks its required key(s): {', '.join(sorted(missing))}"
            raise InvalidInputLine(msg)

    def _process_unknown_message(self, message_dict: dict) -> None:
        kind = message_dict.get("type")
        if kind not in (_MALFORMED, _BLANK):
            LOGGER.warning("Ignoring a Singer message of unknown type '%s'", str(kind)[:40])


class _StreamMapFailedError(Exception):
    """A stream map's expression raised; the message names the error type only."""


class _GuardedTransform:
    """A stream map's `transform` whose failures name no value (the SDK's repeat the record's)."""

    def __init__(self, transform: t.Callable[[dict], dict | None]) -> None:
        self._transform = transform

    def __call__(self, record: dict) -> dict | None:
        try:
            return self._transform(record)
        except Exception as exc:
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            raise _StreamMapFailedError(type(cause).__name__) from None


def _is_usable(message: t.Any) -> bool:
    """A dict with a type; a RECORD's record and a SCHEMA's schema must be objects."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return False
    if message["type"] == "RECORD":
        return isinstance(message.get("record"), dict)
    if message["type"] == "SCHEMA":
        return isinstance(message.get("schema"), dict)
    return True


class TargetLinkedInConversions(SettingsHooks, Target):
    """Sends Singer records to LinkedIn's Conversions API as conversion events."""

    name = "target-linkedin-conversions"
    package_name = "target-linkedin-conversions"
    config_jsonschema = CONFIG_SCHEMA
    default_sink_class = ConversionsSink
    message_reader_class = ConversionsReader

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = Settings.from_config(self.config)
        self.run_id = uuid.uuid4().hex
        self.stats = RunStats()
        self.rejects = RejectsWriter(self.settings.rejects_path, self.run_id)
        self._dry_run_lock = threading.Lock()
        self._dry_run_file: t.TextIO | None = None
        self.client = LinkedInClient(
            self.settings.connection,
            dry_run_sink=self._write_dry_run if self.settings.dry_run else None,
        )
        self.rules: ResolvedRules | None = None
        self.dispatcher = Dispatcher(self.settings.max_requests_in_flight)
        self.message_reader.on_malformed = self._reject_malformed_line
        self.failure: Exception | None = None
        self._dry_run_state_held = False
        self._map_failures_logged: set[str] = set()
        if self.settings.dry_run:
            self.logger.info("Dry run: requests go to '%s'; nothing is sent to LinkedIn",
                             self.settings.dry_run_path)

    def listen(self, file_input: t.IO[str] | None = None) -> None:  # type: ignore[misc]
        """Process all input, then log the run summary whether the run succeeded or not.

        Known failures end with their message and exit code 1, not a traceback: each one
        says what to fix. STATE for undelivered records is never written (the SDK only writes
        it after every sink drained without raising).
        """
        outcome = "failed"
        progress = ProgressLogger(self.stats, self.logger.info,
                                  self.settings.progress_interval_seconds)
        progress.start()
        fix_mmap_threshold()
        try:
            self.rejects.check()
            if self.settings.dry_run:
                check_writable(self.settings.dry_run_path, "dry_run_path")
            self.rules = RuleManager(self.client, self.settings).prepare(
                dry_run=self.settings.dry_run)
            super().listen(file_input)
            self.dispatcher.wait_all()
            self._check_reject_ratio()
            outcome = "succeeded"
        except _CLEAN_FAILURES as exc:
            self.failure = exc
            if isinstance(exc, RetriableAPIError):
                self.logger.error("Stopping: LinkedIn kept failing after retries: %s", exc)
            else:
                self.logger.error("Stopping: %s", exc)
            raise SystemExit(1) from None
        finally:
            progress.stop()
            self.client.close()
            self.logger.info(self.stats.summary(
                requests=self.client.request_count,
                outcome=outcome,
                rejects_path=self.settings.rejects_path,
                dry_run_path=self.settings.dry_run_path if self.settings.dry_run else None,
            ))
            self._close_outputs(failed=outcome != "succeeded")

    def _close_outputs(self, *, failed: bool) -> None:
        """Close the rejects and dry-run files; a failure to do so fails the run, cleanly."""
        try:
            self.rejects.close()
            if self._dry_run_file is not None:
                with writing(self.settings.dry_run_path, "dry_run_path"):
                    self._dry_run_file.close()
        except OutputWriteError as exc:
            if failed:  # the run already stopped, most likely for this same reason
                return
            self.logger.error("Stopping: %s", exc)
            raise SystemExit(1) from None

    def _process_schema_message(self, message_dict: dict) -> None:
        """Refuse a SCHEMA the SDK cannot register (it would fail with a bare TypeError)."""
        stream = message_dict.get("stream")
        schema = message_dict.get("schema")
        keys = message_dict.get("key_properties")
        problem = None
        if not isinstance(stream, str):
            problem = "its stream name is not a string"
        elif not isinstance(schema.get("properties", {}), dict):
            problem = "its schema's properties are not an object"
        elif keys is not None and not (isinstance(keys, list)
                                       and all(isinstance(k, str) for k in keys)):
            problem = "its key_properties are not a list of column names"
        if problem:
            name = stream if isinstance(stream, str) else "?"
            raise InvalidStreamSchemaError(f"the SCHEMA message for stream '{name[:100]}' "
                                           f"cannot be used: {problem}")
        super()._process_schema_message(message_dict)
        for stream_map in self.mapper.stream_maps.get(stream, ()):
            if not isinstance(stream_map.transform, _GuardedTransform):
                stream_map.transform = _GuardedTransform(stream_map.transform)

    def _process_record_message(self, message_dict: dict) -> None:
        """The SDK's record path; a record a stream map fails on becomes a reject.

        A map expression that fails (`int(email)` on an address, say) would otherwise stop the
        run with a traceback whose message holds the value. Overrides singer-sdk 0.54's
        private hook (pinned ~=0.54.9; tests/test_bad_input.py).
        """
        try:
            super()._process_record_message(message_dict)
        except _StreamMapFailedError as exc:
            stream = message_dict["stream"]
            self.rejects.write(
                stream=stream, reason="stream_map_failed",
                message=f"a stream map of stream '{stream}' failed on this record ({exc})",
                record=message_dict["record"],
                key_properties=self.mapper.stream_maps[stream][0].raw_key_properties or [])
            self.stats.read()
            self.stats.reject("stream_map_failed")
            if stream not in self._map_failures_logged:  # once: a broken map fails every record
                self._map_failures_logged.add(stream)
                self.logger.warning("A stream map of stream '%s' failed on a record (%s); such "
                                    "records go to the rejects output (stream_map_failed)",
                                    stream, exc)

    def _process_activate_version_message(self, message_dict: dict) -> None:
        """Ignore ACTIVATE_VERSION: LinkedIn keeps no table versions, and sent conversion events
        cannot be deleted. (The SDK would fail on a stream it has no SCHEMA for.)"""
        self.logger.info("Ignoring ACTIVATE_VERSION for stream '%s': conversion events cannot "
                         "be versioned or deleted at LinkedIn",
                         str(message_dict.get("stream"))[:100])

    def _write_state_message(self, state: dict) -> None:
        """Write STATE only once every batch sent before it was delivered or rejected, and
        never for a run that already rejected more than `max_reject_ratio` allows, nor for a
        dry run (Meltano would keep that STATE, and the next run would skip those rows).

        Overrides singer-sdk 0.54's private hook, the one place it writes STATE (pinned
        ~=0.54.9; covered by the delivery tests).
        """
        self.dispatcher.wait_all()
        self._check_reject_ratio()
        if self.settings.dry_run:
            if not self._dry_run_state_held:
                self._dry_run_state_held = True
                self.logger.info("Dry run: STATE is not passed on, since nothing was delivered; "
                                 "a real run starts from the last STATE of a real run")
            return
        super()._write_state_message(state)

    def _check_reject_ratio(self) -> None:
        """Counted in what can be rejected: a record refused before sending, or an event
        LinkedIn refused (a record that fans out to several rules has several events)."""
        limit = self.settings.max_reject_ratio
        stats = self.stats
        refused = stats.rejected.get("linkedin_rejected", 0)
        before_sending = sum(stats.rejected.values()) - refused
        units = stats.events_built + before_sending
        rejected = before_sending + refused
        if limit is None or not units or rejected / units <= limit:
            return
        msg = (
            f"{rejected} of {units} rejected ({rejected / units:.1%}: {before_sending} records "
            f"before sending, {refused} events refused by LinkedIn), above max_reject_ratio "
            f"{limit:.1%}. See the reasons in {self.settings.rejects_path}; fix the cause and "
            "replay that file with linkedin-conversions-replay."
        )
        raise RejectThresholdError(msg)

    def _handle_termination(self, signum: int, frame: t.Any) -> None:
        """Stop at once on SIGTERM/SIGINT, exiting non-zero and confirming nothing unsent.

        The SDK would drain (send) everything staged and then exit 0 even if that failed. A
        stop request in the middle of a send is safer as a stop: no STATE is written for
        staged records, and the next run resends them from the last STATE, where the
        deterministic eventIds let LinkedIn drop the overlap.
        """
        self.logger.warning(
            "Received signal %d: stopping without sending staged events. No STATE is written "
            "for them; the next run resumes from the last STATE emitted.", signum)
        raise SystemExit(128 + signum)

    def _reject_malformed_line(self, line: str) -> None:
        self.logger.warning("An input line is not a usable Singer message; written to the "
                            "rejects output")
        self.rejects.write(stream=None, reason="malformed_message",
                           message="input line is not valid JSON, or not a usable Singer "
                           "message (a RECORD needs an object record)", record={"line": line},
                           key_properties=[])
        self.stats.read()
        self.stats.reject("malformed_message")

    def _write_dry_run(self, request: dict[str, t.Any]) -> None:
        line = json.dumps(request, separators=(",", ":")) + "\n"
        with self._dry_run_lock, writing(self.settings.dry_run_path, "dry_run_path"):
            if self._dry_run_file is None:
                self._dry_run_file = open_private(self.settings.dry_run_path)
            self._dry_run_file.write(line)
            self._dry_run_file.flush()


if __name__ == "__main__":
    TargetLinkedInConversions.cli()
