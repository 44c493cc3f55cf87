"""The emulator's HTTP server: LinkedIn's gateway checks, dispatch, recording, faults, control API.

Every `/rest/` request passes the gateway checks in LinkedIn's order (token, version, protocol)
before it reaches an endpoint registered through `routing.route`. `/oauth/v2/accessToken` has no
gateway checks. `/__emulator/...` is the unauthenticated control API for CLI use.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import re
import socket
import sys
import threading
import time
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

# Imported for their side effect: each module registers its routes with routing.route().
from target_linkedin_conversions.emulator import ads, events, oauth, rules  # noqa: F401
from target_linkedin_conversions.emulator.faults import Faults, FaultStep
from target_linkedin_conversions.emulator.routing import (
    ROUTES,
    Request,
    Response,
    error,
    find_route,
)
from target_linkedin_conversions.emulator.seed import default_world

if t.TYPE_CHECKING:
    from types import TracebackType

    from target_linkedin_conversions.emulator.world import World

logger = logging.getLogger("target_linkedin_conversions.emulator")

DEFAULT_TOKEN = "test-token"  # noqa: S105 - a fake credential of the fake server
CONTROL_PREFIX = "/__emulator/"
MAX_BODY_BYTES = 64 * 1024 * 1024
VERSION_FORMAT = re.compile(r"(\d{6})(?:\.\d{2})?")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclasses.dataclass
class RecordedRequest:
    """One request as the emulator saw it; `status` 0 means the connection was dropped."""

    method: str
    path: str
    raw_query: str
    headers: dict[str, str]
    json: t.Any
    status: int
    elapsed: float

    @property
    def body(self) -> t.Any:
        """Alias of `json` for readers who expect the name `body`."""
        return self.json

    def to_dict(self) -> dict[str, t.Any]:
        """A JSON-able copy with credentials masked, for the control API (which has no auth)."""
        data = dataclasses.asdict(self)
        if "authorization" in data["headers"]:
            data["headers"]["authorization"] = "Bearer ***"
        if isinstance(data["json"], dict) and "client_secret" in data["json"]:
            data["json"] = _mask_form(data["json"])
        return data


# -- gateway checks ------------------------------------------------------------------------------


def _check_token(world: World, faults: Faults, headers: dict[str, str]) -> Response | None:
    """401 unless the bearer token is one of the world's valid tokens."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if not scheme or (scheme.lower() == "bearer" and not token):
        return error(401, "Empty oauth2 access token", code="EMPTY_ACCESS_TOKEN",
                     service_error_code=65604)
    with world.lock:
        if scheme.lower() == "bearer" and token in world.valid_tokens:
            faults.note_authenticated(token)
            return None
        if scheme.lower() == "bearer" and token in world.expired_tokens:
            return error(401, "The token used in the request has expired",
                         code="EXPIRED_ACCESS_TOKEN", service_error_code=65600)
    return error(401, "Invalid access token", code="INVALID_ACCESS_TOKEN",
                 service_error_code=65600)


def _check_version(world: World, headers: dict[str, str]) -> Response | None:
    """400 for a missing or malformed LinkedIn-Version, 426 for one that is not active."""
    version = headers.get("linkedin-version", "").strip()
    if not version:
        response = error(400, "A version must be present. Please specify a version by adding the "
                              "LinkedIn-Version header.", code="VERSION_MISSING")
        response.headers["X-Restli-Gateway-Error"] = "true"
        return response
    match = VERSION_FORMAT.fullmatch(version)
    if match is None:
        response = error(400, "Invalid LinkedIn-Version header: the version must be in the "
                              "format YYYYMM or YYYYMM.RR", code="INVALID_VERSION")
        response.headers["X-Restli-Gateway-Error"] = "true"
        return response
    if match.group(1) not in world.active_versions:
        return error(426, f"Requested version {match.group(1)}01 is not active",
                     code="NONEXISTENT_VERSION")
    return None


def _check_protocol(headers: dict[str, str]) -> Response | None:
    """The emulator is strict where LinkedIn's docs say 'mandatory': Rest.li 2.0.0 only."""
    if headers.get("x-restli-protocol-version", "").strip() == "2.0.0":
        return None
    return error(400, "The header X-Restli-Protocol-Version: 2.0.0 is required",
                 code="INVALID_PROTOCOL_VERSION")


def gateway_checks(world: World, faults: Faults, headers: dict[str, str]) -> Response | None:
    """The first failing check of LinkedIn's API gateway, or None."""
    return (_check_token(world, faults, headers) or _check_version(world, headers)
            or _check_protocol(headers))


# -- dispatch ------------------------------------------------------------------------------------


def _content_type(headers: dict[str, str]) -> str:
    """The media type without parameters, lower-cased."""
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _untunnel(request: Request) -> Request:
    """Rest.li query tunnelling: a form POST with X-HTTP-Method-Override is really that method
    with the form as its query string (used for query strings too long for a URL)."""
    override = request.headers.get("x-http-method-override", "").strip().upper()
    if request.method != "POST" or not override:
        return request
    if _content_type(request.headers) != "application/x-www-form-urlencoded":
        return request
    form = request.body.decode("utf-8", "replace")
    query = "&".join(part for part in (request.raw_query, form) if part)
    return dataclasses.replace(request, method=override, raw_query=query, body=b"")


def _check_json_body(request: Request) -> Response | None:
    """Writes with a body must send JSON, and JSON that parses."""
    if request.method not in WRITE_METHODS or not request.body.strip():
        return None
    if _content_type(request.headers) != "application/json":
        return error(415, "Content-Type must be application/json")
    try:
        request.json()
    except ValueError:
        return error(400, "The request body is not valid JSON")
    return None


def _not_found(request: Request) -> Response:
    """405 when the path exists for another method, else LinkedIn's 404."""
    if any(item.pattern.fullmatch(request.path) for item in ROUTES):
        return error(405, f"Method {request.method} is not allowed on this resource")
    return error(404, "No virtual resource found", code="RESOURCE_NOT_FOUND")


def dispatch(world: World, faults: Faults, request: Request) -> Response:
    """Answer one API request; an emulator bug becomes a 500 that says so, never a hang."""
    try:
        is_rest = request.path.startswith("/rest/")
        if is_rest:
            problem = gateway_checks(world, faults, request.headers)
            if problem is not None:
                return problem
            request = _untunnel(request)

        found = find_route(request.method, request.path)
        if found is None:
            return _not_found(request)
        if is_rest:
            problem = _check_json_body(request)
            if problem is not None:
                return problem

        handler_route, params = found
        request.path_params = params
        return handler_route.handler(world, request)
    except Exception as exc:
        logger.exception("Emulator bug while handling %s %s", request.method, request.path)
        return error(500, f"Emulator bug: {type(exc).__name__} (see the emulator's log)")


# -- control API ---------------------------------------------------------------------------------


def _control_faults(emulator: Emulator, body: t.Any) -> Response:
    """Apply one fault object or a list of them."""
    specs = body if isinstance(body, list) else [body]
    try:
        for spec in specs:
            if not isinstance(spec, dict):
                raise ValueError("each fault must be a JSON object")
            emulator.faults.apply(spec)
    except ValueError as exc:
        return Response(400, {"status": 400, "message": str(exc)})
    return Response(200, {"status": "ok", "pendingSteps": emulator.faults.pending()})


def control(emulator: Emulator, method: str, path: str, body: bytes) -> Response:
    """The unauthenticated control API used by the CLI and end-to-end tests."""
    action = path[len(CONTROL_PREFIX):].strip("/")
    if method == "GET" and action == "health":
        return Response(200, {"status": "ok"})
    if method == "GET" and action == "events":
        return Response(200, {"elements": emulator.accepted_records,
                              "duplicateEventIds": emulator.duplicate_event_ids})
    if method == "GET" and action == "requests":
        return Response(200, {"elements": [item.to_dict() for item in emulator.requests]})
    if method == "POST" and action == "reset":
        emulator.reset()
        return Response(200, {"status": "ok"})
    if method == "POST" and action == "faults":
        try:
            parsed = json.loads(body.decode("utf-8") or "null")
        except ValueError:
            return Response(400, {"status": 400, "message": "The body is not valid JSON"})
        return _control_faults(emulator, parsed)
    return error(404, f"Unknown control endpoint {method} {path}")


# -- HTTP plumbing -------------------------------------------------------------------------------


class _BadRequestBodyError(Exception):
    """The request body could not be read; the connection cannot be reused."""


class _Handler(BaseHTTPRequestHandler):
    """Speaks HTTP/1.1 with keep-alive: every answer carries Content-Length."""

    protocol_version = "HTTP/1.1"
    server_version = "LinkedInEmulator/1.0"
    timeout = 120  # idle keep-alive connections release their thread eventually
    server: _Server

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: t.Any) -> None:
        """Silence http.server's own lines: they include query strings; we log our own."""

    def _read_body(self) -> bytes:
        """The full request body (Content-Length or chunked), so keep-alive stays in sync."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError as exc:
            raise _BadRequestBodyError("invalid Content-Length") from exc
        if not 0 <= length <= MAX_BODY_BYTES:
            raise _BadRequestBodyError("Content-Length out of range")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        """Decode a chunked request body."""
        chunks = []
        total = 0
        while True:
            try:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            except ValueError as exc:
                raise _BadRequestBodyError("invalid chunk size") from exc
            if size == 0:
                while self.rfile.readline().strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BadRequestBodyError("body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _handle(self) -> None:
        """Answer one request; whatever goes wrong inside, the client gets an HTTP answer."""
        started = time.monotonic()
        method = self.command.upper()
        path, _, raw_query = self.path.partition("?")
        try:
            body = self._read_body()
        except (_BadRequestBodyError, OSError) as exc:
            self.close_connection = True
            self._send(error(400, f"Unreadable request body: {exc}"), close=True)
            self._log(method, path, 400, started)
            return
        try:
            self._serve(method, path, raw_query, body, started)
        except Exception as exc:
            logger.exception("Emulator bug while serving %s %s", method, path)
            self._send(error(500, f"Emulator bug: {type(exc).__name__} (see the emulator's log)"))
            self._log(method, path, 500, started)

    def _serve(self, method: str, path: str, raw_query: str, body: bytes,
               started: float) -> None:
        """Control call, or fault-inject or dispatch, then record and answer."""
        emulator = self.server.emulator
        headers = {name.lower(): value for name, value in self.headers.items()}
        if path.startswith(CONTROL_PREFIX):
            self._answer_control(emulator, method, path, body, started)
            return

        step = emulator.faults.next_step(method, path)
        request = Request(method, path, raw_query, headers, body)
        if step is not None and step.drop == "before":
            self._drop(emulator, request, started, delay=step.delay)
            return

        response = step.response() if step is not None else None
        if response is None:
            response = dispatch(emulator.world, emulator.faults, request)
        if step is not None and step.drop == "after":
            self._drop(emulator, request, started, delay=step.delay)
            return

        delay = step.delay if step is not None else 0.0
        emulator.record(request, response.status, time.monotonic() - started + delay)
        if delay:
            time.sleep(delay)
        self._send(response)
        self._log(method, path, response.status, started)

    def _answer_control(self, emulator: Emulator, method: str, path: str, body: bytes,
                        started: float) -> None:
        """Control calls are answered but not recorded, so they never pollute assertions."""
        try:
            response = control(emulator, method, path, body)
        except Exception as exc:
            logger.exception("Emulator bug in control call %s %s", method, path)
            response = error(500, f"Emulator bug: {type(exc).__name__}")
        self._send(response)
        self._log(method, path, response.status, started)

    def _drop(self, emulator: Emulator, request: Request, started: float, delay: float) -> None:
        """Start a response, then cut the connection: the client sees a broken read."""
        emulator.record(request, 0, time.monotonic() - started + delay)
        if delay:
            time.sleep(delay)
        self.close_connection = True
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 512\r\n")
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._log(request.method, request.path, 0, started)

    def _send(self, response: Response, close: bool = False) -> None:
        """Write RESPONSE; a client that already hung up (after its timeout) is not an error."""
        payload = b"" if response.body is None else json.dumps(response.body).encode("utf-8")
        try:
            self.send_response(response.status)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if close:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            logger.debug("Client went away before the %s answer was sent", response.status)

    def _log(self, method: str, path: str, status: int, started: float) -> None:
        """One line per request: method, path, status and time; never headers or bodies."""
        logger.info("%s %s -> %s (%.1f ms)", method, path, status or "dropped",
                    (time.monotonic() - started) * 1000)


class _Server(ThreadingHTTPServer):
    """Threaded server whose handler threads never block shutdown."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    emulator: Emulator

    def handle_error(self, request: t.Any, client_address: t.Any) -> None:
        """A client that resets its connection (after a timeout, say) is routine, not a
        traceback on stderr."""
        failure = sys.exc_info()[0]
        logger.debug("Connection from %s ended abnormally: %s", client_address[0],
                     failure.__name__ if failure else "unknown")


# -- public API ----------------------------------------------------------------------------------


class Emulator:
    """A local LinkedIn REST API on loopback, with recording and fault injection.

    Use as `with Emulator(tokens={"t"}) as emu: ...` or with explicit start() / stop().
    """

    def __init__(
        self,
        tokens: t.Iterable[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        refresh_tokens: t.Iterable[str] = (),
        client_id: str | None = None,
        client_secret: str | None = None,
        now: t.Callable[[], float] = time.time,
        world: World | None = None,
    ) -> None:
        """Build the world (default: the seeded sample world) without opening a socket yet."""
        if world is None:
            world = default_world(tokens if tokens is not None else {DEFAULT_TOKEN},
                                  refresh_tokens=refresh_tokens, client_id=client_id,
                                  client_secret=client_secret)
        world.clock = now
        self.world = world
        self.faults = Faults(world)
        self.host = host
        self._port = port
        self._requests: list[RecordedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Emulator:
        """Bind and serve in a background thread; returns self for chaining."""
        if self._server is not None:
            return self
        server = _Server((self.host, self._port), _Handler)
        server.emulator = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01},
                                        name="linkedin-emulator", daemon=True)
        self._thread.start()
        logger.debug("Emulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (the free one picked for port 0)."""
        if self._server is None:
            raise RuntimeError("The emulator is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:54321 (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    # observation

    def record(self, request: Request, status: int, elapsed: float) -> None:
        """Append one API request to the log tests read."""
        try:
            body = request.json() if request.body.strip() else None
        except ValueError:
            body = None
        if body is None and request.body.strip():
            body = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        item = RecordedRequest(request.method, request.path, request.raw_query,
                               dict(request.headers), body, status, elapsed)
        with self.world.lock:
            self._requests.append(item)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Recorded API requests in arrival order (a copy; control calls are not recorded)."""
        with self.world.lock:
            return list(self._requests)

    @property
    def accepted_records(self) -> list[dict[str, t.Any]]:
        """Accepted events with their request sequence number, index, receipt time, version."""
        with self.world.lock:
            return copy.deepcopy(self.world.accepted_events)

    @property
    def accepted_events(self) -> list[dict[str, t.Any]]:
        """The accepted event bodies, in order (copies)."""
        return [record["event"] for record in self.accepted_records]

    @property
    def duplicate_event_ids(self) -> int:
        """How many accepted events repeated an (eventId, conversion) accepted before."""
        with self.world.lock:
            return self.world.duplicate_event_ids

    @property
    def now(self) -> t.Callable[[], float]:
        """The clock (epoch seconds) the 90-day window is judged against."""
        return self.world.clock

    @now.setter
    def now(self, clock: t.Callable[[], float]) -> None:
        self.world.clock = clock

    def reset(self) -> None:
        """Forget requests, accepted events, duplicates and faults; un-expire tokens; keep the
        seeded (and created) entities."""
        self.faults.clear()
        with self.world.lock:
            self._requests.clear()
            self.world.accepted_events.clear()
            self.world.seen_event_keys.clear()
            self.world.duplicate_event_ids = 0
            self.world.event_seq = 0
            self.world.valid_tokens |= self.world.expired_tokens
            self.world.expired_tokens.clear()


def _mask_form(form: dict[str, str]) -> dict[str, str]:
    """Form bodies (OAuth) are recorded with their secrets masked."""
    secret_fields = {"client_secret", "refresh_token", "code"}
    return {name: "***" if name in secret_fields else value for name, value in form.items()}


__all__ = ["Emulator", "FaultStep", "RecordedRequest", "dispatch"]
