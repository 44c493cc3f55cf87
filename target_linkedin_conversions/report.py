"""Run counters and the one summary line an on-call engineer reads at the end of every run."""

from __future__ import annotations

import collections
import threading
import time
import typing as t

from target_linkedin_conversions.mapping import MATCH_KEYS


class ProgressLogger:
    """Logs `RunStats.progress()` every INTERVAL seconds from a daemon thread.

    A thread, not a record counter, so a run stuck in retries still says it is alive.
    """

    def __init__(self, stats: RunStats, log: t.Callable[[str], None], interval: float) -> None:
        self.stats = stats
        self.log = log
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)

    def start(self) -> None:
        """Begin logging (nothing happens when the interval is 0)."""
        if self.interval > 0:
            self._thread.start()

    def stop(self) -> None:
        """Stop logging; the final summary follows."""
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.log(self.stats.progress())


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
        self.match_keys: collections.Counter[str] = collections.Counter()
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

    def accepted(self, count: int, match_keys: t.Mapping[int, int]) -> None:
        """Count COUNT events as accepted; MATCH_KEYS maps `Mapped.match_keys` bits to how
        many of them carried that combination.

        LinkedIn's match rate depends on the identifiers sent, so the summary says how many
        accepted events carried each id type, userInfo, externalIds and lead. The sink keeps
        one small integer per event for this, rather than walking 5,000 events per batch.
        """
        keys: collections.Counter[str] = collections.Counter()
        for bits, events in match_keys.items():
            for bit, key in enumerate(MATCH_KEYS):
                if bits >> bit & 1:
                    keys[key] += events
        with self._lock:
            self.events_accepted += count
            self.match_keys.update(keys)

    def progress(self) -> str:
        """A progress line for long runs: counts so far and the rate since the start."""
        with self._lock:
            seconds = max(self.clock() - self.started, 1e-9)
            rejected = sum(self.rejected.values())
            return (f"Progress: {self.records_read} records read, {self.events_accepted} events "
                    f"accepted, {rejected} rejected, {self.events_accepted / seconds:.0f} "
                    f"events/s over {seconds:.0f} s")

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
            if self.match_keys:
                carried = ", ".join(f"{k}={v}" for k, v in sorted(self.match_keys.items()))
                parts.append(f"accepted events carried: {carried}")
            if self.dropped_fields:
                dropped = ", ".join(f"{k}={v}" for k, v in sorted(self.dropped_fields.items()))
                parts.append(f"unusable optional values left out ({dropped})")
            if dry_run_path:
                parts.append(f"dry run: {self.events_dry_run} events written to {dry_run_path}")
            if rejected and rejects_path:
                parts.append(f"rejects in {rejects_path}")
        return ", ".join(parts)
