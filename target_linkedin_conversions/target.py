"""`target-linkedin-conversions`: the Singer target that Meltano runs."""

from __future__ import annotations

import json
import threading
import typing as t
import uuid

from singer_sdk import Target
import msgspec
from singer_sdk.contrib.msgspec import MsgSpecReader, decoder

from target_linkedin_conversions.client import LinkedInClient
from target_linkedin_conversions.report import RunStats
from target_linkedin_conversions.rejects import RejectsWriter
from target_linkedin_conversions.settings import CONFIG_SCHEMA, Settings
from target_linkedin_conversions.sink import ConversionsSink

_MALFORMED = "_MALFORMED_LINE"


class ConversionsReader(MsgSpecReader):
    """msgspec's fast reader, but a malformed line becomes a reject instead of a crash that
    prints the line (and the personal data in it) to the log."""

    on_malformed: t.Callable[[str], None] | None = None

    def deserialize_json(self, line: str) -> dict:
        """Decode LINE; hand an undecodable one to `on_malformed` and skip it."""
        try:
            return decoder.decode(line)  # type: ignore[no-any-return]
        except msgspec.DecodeError:
            if self.on_malformed is None:
                return super().deserialize_json(line)
            self.on_malformed(line)
            return {"type": _MALFORMED}

    def _process_unknown_message(self, message_dict: dict) -> None:
        if message_dict.get("type") != _MALFORMED:
            super()._process_unknown_message(message_dict)


class TargetLinkedInConversions(Target):
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
        self.message_reader.on_malformed = self._reject_malformed_line
        if self.settings.dry_run:
            self.logger.info("Dry run: requests go to '%s'; nothing is sent to LinkedIn",
                             self.settings.dry_run_path)

    def listen(self, file_input: t.IO[str] | None = None) -> None:  # type: ignore[misc]
        """Process all input, then log the run summary whether the run succeeded or not."""
        outcome = "failed"
        try:
            super().listen(file_input)
            outcome = "succeeded"
        finally:
            self.logger.info(self.stats.summary(
                requests=self.client.request_count,
                outcome=outcome,
                rejects_path=self.settings.rejects_path,
                dry_run_path=self.settings.dry_run_path if self.settings.dry_run else None,
            ))
            self.rejects.close()
            if self._dry_run_file is not None:
                self._dry_run_file.close()

    def _reject_malformed_line(self, line: str) -> None:
        self.logger.warning("An input line is not valid JSON; written to the rejects output")
        self.stats.add(records_read=1)
        self.stats.reject("malformed_message")
        self.rejects.write(stream=None, reason="malformed_message",
                           message="input line is not valid JSON", record={"line": line})

    def _write_dry_run(self, request: dict[str, t.Any]) -> None:
        line = json.dumps(request, separators=(",", ":")) + "\n"
        with self._dry_run_lock:
            if self._dry_run_file is None:
                self._dry_run_file = open(self.settings.dry_run_path, "a", encoding="utf-8")  # noqa: SIM115
            self._dry_run_file.write(line)
            self._dry_run_file.flush()


if __name__ == "__main__":
    TargetLinkedInConversions.cli()
