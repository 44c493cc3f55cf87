"""A loopback stand-in for LinkedIn's BATCH_CREATE that costs the benchmark almost nothing.

The project's emulator checks every field of every event, which makes it slower than the target
it would be measuring. This endpoint only decodes the batch far enough to count its elements and
their eventIds, answers one `{"status": 201}` per element, and can add a fixed delay per request
(`--latency-ms`) to stand for LinkedIn's ~100 ms per 2 MB batch. HTTP/1.1 keep-alive, one thread
per connection, so requests the target keeps in flight overlap their delays as they would for
real.

`GET /__stats` answers the counts: requests, events, distinct eventIds (a difference means the
target sent an event twice) and requests it could not answer as BATCH_CREATE.

Usage: python benchmarks/endpoint.py [--port 0] [--latency-ms 100]
It prints `listening on http://127.0.0.1:PORT` once ready.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EVENTS_PATH = "/rest/conversionEvents"
STATS_PATH = "/__stats"


try:
    import msgspec
except ImportError:  # the stdlib fallback below still works
    msgspec = None
else:

    class _Event(msgspec.Struct):
        eventId: str | None = None  # noqa: N815 (LinkedIn's field name)

    class _Batch(msgspec.Struct):
        elements: list[_Event]


def _batch_decoder() -> t.Callable[[bytes], list[str | None]]:
    """The eventIds of a BATCH_CREATE body, one per element.

    msgspec (installed with the SDK's msgspec extra) decodes only the `eventId` of each element
    and skips the rest, many times faster than the stdlib; the stdlib is the fallback.
    """
    if msgspec is None:
        def decode_stdlib(body: bytes) -> list[str | None]:
            return [element.get("eventId") for element in json.loads(body)["elements"]]

        return decode_stdlib

    decoder = msgspec.json.Decoder(_Batch)

    def decode_msgspec(body: bytes) -> list[str | None]:
        return [event.eventId for event in decoder.decode(body).elements]

    return decode_msgspec


class Counts:
    """What the endpoint received, shared by the handler threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.events = 0
        self.event_ids: set[str] = set()
        self.without_id = 0
        self.refused = 0

    def add(self, event_ids: list[str | None]) -> None:
        """Count one accepted BATCH_CREATE carrying EVENT_IDS."""
        with self.lock:
            self.requests += 1
            self.events += len(event_ids)
            for event_id in event_ids:
                if event_id is None:
                    self.without_id += 1
                else:
                    self.event_ids.add(event_id)

    def as_dict(self) -> dict[str, int]:
        """A snapshot for `GET /__stats`."""
        with self.lock:
            return {
                "requests": self.requests,
                "events": self.events,
                "distinct_event_ids": len(self.event_ids),
                "events_without_id": self.without_id,
                "refused_requests": self.refused,
            }


class Server(ThreadingHTTPServer):
    """Carries the counts, the decoder and the delay to the handlers."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], latency_s: float) -> None:
        super().__init__(address, Handler)
        self.latency_s = latency_s
        self.counts = Counts()
        self.decode = _batch_decoder()


class Handler(BaseHTTPRequestHandler):
    """BATCH_CREATE on the events path; everything else is refused and counted."""

    protocol_version = "HTTP/1.1"
    server: Server

    def do_POST(self) -> None:
        """Answer one 201 per element after the configured delay."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?", 1)[0]
        if path != EVENTS_PATH or self.headers.get("X-RestLi-Method") != "BATCH_CREATE":
            self._refuse(404, f"only BATCH_CREATE on {EVENTS_PATH} is served here")
            return
        try:
            event_ids = self.server.decode(body)
        except Exception:  # any undecodable body is the target's bug, reported as a 400
            self._refuse(400, 'body is not {"elements": [...]}')
            return
        if self.server.latency_s:
            time.sleep(self.server.latency_s)
        self.server.counts.add(event_ids)
        statuses = b",".join([b'{"status":201}'] * len(event_ids))
        self._answer(200, b'{"elements":[' + statuses + b"]}")

    def do_GET(self) -> None:
        """Stats for the runner; any other GET is refused (the benchmark config needs none)."""
        if self.path == STATS_PATH:
            self._answer(200, json.dumps(self.server.counts.as_dict()).encode())
            return
        self._refuse(404, "no such resource on the benchmark endpoint")

    def _refuse(self, status: int, message: str) -> None:
        with self.server.counts.lock:
            self.server.counts.refused += 1
        self._answer(status, json.dumps({"status": status, "message": message}).encode())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: t.Any) -> None:
        """Silent: a line per request would cost more than the answer."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="added to every BATCH_CREATE before it is answered")
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), args.latency_ms / 1000)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
