"""The rejects output: one JSON line per record (or event) that will not reach LinkedIn.

Written as rejects happen, not at the end, so a crash loses none; created readable by its
owner only, because a reject carries the record as read (emails, names).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
import typing as t

from target_linkedin_conversions.errors import ConfigError, OutputWriteError


class RejectsWriter:
    """Appends reject rows to PATH; thread-safe, since sinks may drain in parallel."""

    def __init__(self, path: str, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        self._file: t.TextIO | None = None
        self._lock = threading.Lock()

    def write(
        self,
        *,
        stream: str | None,
        reason: str,
        message: str,
        record: t.Any,
        key_properties: t.Sequence[str],
        event: t.Any = None,
    ) -> None:
        """Append one reject row and flush it to disk.

        The stream's key properties ride along so a replay derives the same eventIds.
        """
        row = {
            "rejected_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "run_id": self.run_id,
            "stream": stream,
            "key_properties": list(key_properties),
            "reason": reason,
            "message": message,
            "record": record,
            "event": event,
        }
        line = json.dumps(row, default=str, ensure_ascii=False) + "\n"
        with self._lock, writing(self.path, "rejects_path"):
            if self._file is None:
                self._file = open_private(self.path)
            self._file.write(line)
            self._file.flush()

    def check(self) -> None:
        """Stop the run before anything is sent when the file could not be written later;
        the file itself is created only with the first reject."""
        check_writable(self.path, "rejects_path")

    def close(self) -> None:
        """Close the file if a reject was ever written."""
        with self._lock:
            if self._file is not None:
                file, self._file = self._file, None
                with writing(self.path, "rejects_path"):
                    file.close()


@contextlib.contextmanager
def writing(path: str, setting: str) -> t.Iterator[None]:
    """Turn an OS error while writing PATH into `OutputWriteError` naming SETTING."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        msg = (f"cannot write {setting} {path!r}: {reason}. Records already staged are not "
               "confirmed; free the space or change the path, and run again")
        raise OutputWriteError(msg) from None


def check_writable(path: str, setting: str) -> None:
    """Raise `ConfigError` unless PATH is, or can become, a regular file this run may write."""
    folder = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(folder):  # missing folders are created with the file
        folder = os.path.dirname(folder)
    if os.path.isdir(path):
        problem = "is a directory"
    elif os.path.exists(path) and not os.access(path, os.W_OK):
        problem = "is not writable"
    elif not os.path.isdir(folder) or not os.access(folder, os.W_OK | os.X_OK):
        problem = f"cannot be created in {folder!r}"
    else:
        return
    raise ConfigError(f"{setting} {path!r} {problem}")


def open_private(path: str) -> t.TextIO:
    """Open PATH for appending, creating it with mode 0600 (and its folder) when missing.

    Also used for the dry-run file: its bodies carry names and hashed emails.
    """
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    # A line read with undecodable bytes holds lone surrogates; they are written escaped.
    return os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace")
