"""Background sending with a bound: the next batch is read and mapped while earlier ones fly.

Real LinkedIn takes on the order of 100 ms per 2 MB batch; sending one batch at a time would
halve a backfill's speed. At most `max_in_flight` batches are out at once, which also bounds
memory. A failure in the background is raised in the main thread at the next submit or wait,
and the target waits for every batch before it writes STATE, so STATE never runs ahead.

The workers are daemon threads: on a stop signal the process exits at once instead of waiting
for batches still retrying. Those batches were never confirmed by a STATE, so the next run
sends them again and their eventIds let LinkedIn drop the overlap.
"""

from __future__ import annotations

import ctypes
import queue
import sys
import threading
import typing as t

Job = tuple[t.Callable[..., None], tuple[t.Any, ...]]

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
_MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value


def fix_mmap_threshold() -> bool:
    """Keep glibc returning large blocks to the system when they are freed; True if it took.

    glibc raises its mmap threshold each time a large block is freed (up to 32 MiB). After
    the first 2 MB batch has been sent, later batch buffers come from the heap instead, and
    with a batch in flight while the next is staged that heap fragments: peak RSS rose by
    ~15 MB (a quarter of the process) in the benchmark. Fixing the threshold at glibc's
    default keeps every batch buffer its own mapping, released as soon as it is sent.
    Elsewhere (macOS, musl) this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES) == 1


class Dispatcher:
    """Runs send jobs on up to MAX_IN_FLIGHT background threads (0 = in the caller's thread)."""

    def __init__(self, max_in_flight: int) -> None:
        self.max_in_flight = max(0, max_in_flight)
        self._slots = threading.BoundedSemaphore(max(1, self.max_in_flight))
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._pending = 0
        self._failure: BaseException | None = None
        self._workers: list[threading.Thread] = []

    def submit(self, job: t.Callable[..., None], *args: t.Any) -> None:
        """Run JOB(*ARGS) now or in the background; block while all slots are busy."""
        self.raise_failure()
        if not self.max_in_flight:
            job(*args)
            return
        self._slots.acquire()
        if self._failure is not None:
            self._slots.release()
            self.raise_failure()
        self._start_workers()
        with self._idle:
            self._pending += 1
        self._jobs.put((job, args))

    def wait_all(self) -> None:
        """Block until every submitted job ended; raise the first failure, if any."""
        with self._idle:
            while self._pending:
                self._idle.wait()
        self.raise_failure()

    def raise_failure(self) -> None:
        """Re-raise, in the calling thread, the first exception a background job raised."""
        failure = self._failure
        if failure is not None:
            raise failure

    def _start_workers(self) -> None:
        while len(self._workers) < self.max_in_flight:
            worker = threading.Thread(target=self._work, name="linkedin-send", daemon=True)
            worker.start()
            self._workers.append(worker)

    def _work(self) -> None:
        while True:
            job, args = self._jobs.get()
            try:
                job(*args)
            except BaseException as exc:  # handed to the main thread
                with self._idle:
                    if self._failure is None:
                        self._failure = exc
            finally:
                self._slots.release()
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
