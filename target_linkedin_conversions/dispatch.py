"""Background sending with a bound: the next batch is read and mapped while earlier ones fly.

Real LinkedIn takes on the order of 100 ms per 2 MB batch; sending one batch at a time would
halve a backfill's speed. At most `max_in_flight` batches are out at once, which also bounds
memory. A failure in the background is raised in the main thread at the next submit or wait,
and the target waits for every batch before it writes STATE, so STATE never runs ahead.
"""

from __future__ import annotations

import concurrent.futures as cf
import threading
import typing as t


class Dispatcher:
    """Runs send jobs on up to MAX_IN_FLIGHT background threads (0 = in the caller's thread)."""

    def __init__(self, max_in_flight: int) -> None:
        self.max_in_flight = max(0, max_in_flight)
        self._pool = (
            cf.ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="linkedin-send")
            if self.max_in_flight else None
        )
        self._slots = threading.BoundedSemaphore(max(1, self.max_in_flight))
        self._lock = threading.Lock()
        self._pending: set[cf.Future[None]] = set()
        self._failure: BaseException | None = None

    def submit(self, job: t.Callable[..., None], *args: t.Any) -> None:
        """Run JOB(*ARGS) now or in the background; block while all slots are busy."""
        self.raise_failure()
        if self._pool is None:
            job(*args)
            return
        self._slots.acquire()
        try:
            self.raise_failure()
            future = self._pool.submit(job, *args)
        except BaseException:
            self._slots.release()
            raise
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._finished)

    def wait_all(self) -> None:
        """Block until every submitted job ended; raise the first failure, if any."""
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                break
            cf.wait(pending)
        self.raise_failure()

    def raise_failure(self) -> None:
        """Re-raise, in the calling thread, the first exception a background job raised."""
        with self._lock:
            failure = self._failure
        if failure is not None:
            raise failure

    def shutdown(self) -> None:
        """Cancel jobs not yet started; running ones finish their current request."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _finished(self, future: cf.Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)
            if not future.cancelled() and future.exception() is not None \
                    and self._failure is None:
                self._failure = future.exception()
        self._slots.release()
