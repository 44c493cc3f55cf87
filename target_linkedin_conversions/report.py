"""Run counters and the one summary line an on-call engineer reads at the end of every run."""

from __future__ import annotations

import collections
import threading
import time
import typing as t


class RunStats:
    """Thread-safe counts of what happened to every record and event of one run."""

    def __init__(self, clock: t.Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.started = clock()
        self.records_read = 0
        self.events_built = 0
        self.events_sent = 0
        self.events_accepted = 0
        self.events_dry_run = 0
        self.rejected: collections.Counter[str] = collections.Counter()
        self.dropped_fields: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def read(self, records: int = 1, events: int = 0) -> None:
        """Count records read and events built; only the main (reading) thread calls this,
        so it skips the lock that the per-record path would otherwise pay for."""
        self.records_read += records
        self.events_built += events

    def add(self, **counts: int) -> None:
        """Add COUNTS to the named counters."""
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def reject(self, reason: str, count: int = 1) -> None:
        """Count COUNT rejects for REASON."""
        with self._lock:
            self.rejected[reason] += count

    def drop(self, fields: t.Iterable[str]) -> None:
        """Count optional fields left out of an event because their value was unusable."""
        with self._lock:
            self.dropped_fields.update(fields)

    def summary(self, *, requests: int, outcome: str, rejects_path: str | None,
                dry_run_path: str | None = None) -> str:
        """The end-of-run line: counts, rejects by reason, requests, seconds, where to look."""
        with self._lock:
            rejected = sum(self.rejected.values())
            reasons = ", ".join(f"{k}={v}" for k, v in sorted(self.rejected.items()))
            parts = [
                f"Run {outcome}: {self.records_read} records read",
                f"{self.events_built} events built",
                f"{self.events_sent} sent",
                f"{self.events_accepted} accepted",
                f"{rejected} rejected" + (f" ({reasons})" if reasons else ""),
                f"{requests} requests",
                f"{self.clock() - self.started:.1f} s",
            ]
            if self.dropped_fields:
                dropped = ", ".join(f"{k}={v}" for k, v in sorted(self.dropped_fields.items()))
                parts.append(f"unusable optional values left out ({dropped})")
            if dry_run_path:
                parts.append(f"dry run: {self.events_dry_run} events written to {dry_run_path}")
            if rejected and rejects_path:
                parts.append(f"rejects in {rejects_path}")
        return ", ".join(parts)
