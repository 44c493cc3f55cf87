"""Scripted failures: throttling, outages, slow or dropped answers, expiring tokens, bad elements.

LinkedIn cannot be asked to misbehave on cue, so retry and recovery paths of the client are
exercised against these scripts instead. Scripts are consumed per (method, path) in order; an
exhausted script means "handle normally".
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import typing as t

from target_linkedin_conversions.emulator.routing import Response

if t.TYPE_CHECKING:
    from target_linkedin_conversions.emulator.world import World

STEP_KEYS = frozenset({"status", "retry_after", "daily", "code", "delay", "drop", "body"})

THROTTLE_MESSAGE = "Resource level throttle limit for calls to this resource is reached."
DAILY_THROTTLE_MESSAGE = (
    "Resource level throttle APPLICATION_AND_MEMBER DAY limit for calls to this resource is "
    "reached."
)

# code -> (serviceErrorCode, message) for scripted 401 answers.
AUTH_CODES: dict[str, tuple[int, str]] = {
    "INVALID_ACCESS_TOKEN": (65600, "Invalid access token"),
    "REVOKED_ACCESS_TOKEN": (65601, "The token used in the request has been revoked by the user"),
    "EXPIRED_ACCESS_TOKEN": (65600, "The token used in the request has expired"),
}

REASONS = {
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    408: "Request Timeout", 409: "Conflict", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}


@dataclasses.dataclass(frozen=True)
class FaultStep:
    """One scripted answer. `status` None means "answer normally" (after any `delay`)."""

    status: int | None = None
    retry_after: float | None = None
    daily: bool = False
    code: str | None = None
    delay: float = 0.0
    drop: str | None = None  # "before" handling (nothing accepted) or "after" (accepted)
    body: t.Any = None

    @classmethod
    def parse(cls, raw: str | dict[str, t.Any]) -> FaultStep:
        """A step from its script form: "pass" or a dict of STEP_KEYS; anything else is refused
        up front so a typo in a test does not silently become a normal answer."""
        if raw == "pass":
            return cls()
        if not isinstance(raw, dict):
            raise ValueError(f"fault step must be 'pass' or an object, got {raw!r}")
        unknown = set(raw) - STEP_KEYS
        if unknown:
            raise ValueError(f"unknown fault step keys: {sorted(unknown)}")
        status = raw.get("status")
        if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            raise ValueError(f"fault step status must be an HTTP status, got {status!r}")
        return cls(
            status=status,
            retry_after=raw.get("retry_after"),
            daily=bool(raw.get("daily", False)),
            code=raw.get("code"),
            delay=float(raw.get("delay", 0.0)),
            drop=_drop_mode(raw.get("drop", False)),
            body=raw.get("body"),
        )

    def response(self) -> Response | None:
        """The canned answer of this step, or None when the request is handled normally."""
        if self.status is None:
            return None
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            value = self.retry_after
            headers["Retry-After"] = str(int(value)) if float(value).is_integer() else str(value)
        body = self.body if self.body is not None else self._default_body()
        return Response(self.status, body, headers)

    def _default_body(self) -> dict[str, t.Any]:
        """LinkedIn's body for this status, as seen in the wild."""
        if self.status == 429:
            message = DAILY_THROTTLE_MESSAGE if self.daily else THROTTLE_MESSAGE
            return {"serviceErrorCode": 101, "message": message, "status": 429}
        if self.status == 401:
            code = self.code or "INVALID_ACCESS_TOKEN"
            service_code, message = AUTH_CODES.get(code, (65600, "Unauthorized"))
            return {"status": 401, "serviceErrorCode": service_code, "code": code,
                    "message": message}
        body: dict[str, t.Any] = {"message": REASONS.get(self.status or 0, "Error"),
                                  "status": self.status}
        if self.code:
            body["code"] = self.code
        return body


def _drop_mode(value: t.Any) -> str | None:
    """`drop: true` (or "before") loses the request unhandled; "after" handles it first, which
    is the ambiguous case a retrying client must survive without sending twice."""
    if value is False or value is None:
        return None
    if value is True or value == "before":
        return "before"
    if value == "after":
        return "after"
    raise ValueError(f"fault step drop must be true, 'before' or 'after', got {value!r}")


def normalise_path(path: str) -> str:
    """Scripts for `/x` also apply to `/x/`: LinkedIn's own tag posts with a trailing slash."""
    return path.rstrip("/") or "/"


class Faults:
    """The fault scripts of one emulator; safe to drive from tests while requests run."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._lock = threading.Lock()
        self._scripts: dict[tuple[str | None, str], collections.deque[FaultStep]] = {}
        self._expiring: set[str] = set()
        self._calls_left = 0

    def script(self, path: str, steps: t.Sequence[str | dict[str, t.Any]],
               method: str | None = None) -> None:
        """Queue STEPS for requests to PATH (any method when METHOD is None)."""
        parsed = [FaultStep.parse(step) for step in steps]
        key = (method.upper() if method else None, normalise_path(path))
        with self._lock:
            self._scripts.setdefault(key, collections.deque()).extend(parsed)

    def next_step(self, method: str, path: str) -> FaultStep | None:
        """Consume the next step for this request: a method-specific script before a generic."""
        path = normalise_path(path)
        with self._lock:
            for key in ((method.upper(), path), (None, path)):
                queue = self._scripts.get(key)
                if queue:
                    return queue.popleft()
        return None

    def pending(self) -> int:
        """How many scripted steps are still waiting (lets tests assert a script was used up)."""
        with self._lock:
            return sum(len(queue) for queue in self._scripts.values())

    def expire_token_after(self, calls: int) -> None:
        """The tokens valid now stop working after CALLS more authenticated calls with them."""
        if calls < 0:
            raise ValueError("calls must be >= 0")
        with self._world.lock:
            self._expiring = set(self._world.valid_tokens)
            self._calls_left = calls
            if calls == 0:
                self._expire_now()

    def note_authenticated(self, token: str) -> None:
        """Count one authenticated call; expire the armed tokens once the budget is spent."""
        with self._world.lock:
            if token not in self._expiring or self._calls_left <= 0:
                return
            self._calls_left -= 1
            if self._calls_left == 0:
                self._expire_now()

    def _expire_now(self) -> None:
        """Move the armed tokens from valid to expired (caller holds world.lock)."""
        self._world.valid_tokens -= self._expiring
        self._world.expired_tokens |= self._expiring
        self._expiring = set()

    def reject_elements(self, messages: t.Mapping[str, str]) -> None:
        """Make events with these eventIds fail validation with MESSAGE, on every send."""
        with self._world.lock:
            self._world.rejected_event_ids.update(messages)

    def fail_elements(self, messages: t.Mapping[str, str], status: int = 400) -> None:
        """Make events with these eventIds fail alone inside an otherwise accepted BATCH_CREATE:
        the answer stays 200, their element status is STATUS with MESSAGE, and the other
        events are accepted (the per-element outcome Rest.li batch answers can carry)."""
        if not 400 <= status <= 599:
            raise ValueError(f"an element failure status must be 4xx or 5xx, got {status!r}")
        with self._world.lock:
            self._world.failed_event_ids.update(
                {event_id: (status, message) for event_id, message in messages.items()})

    def clear(self) -> None:
        """Drop all scripts, the token expiry and the element rejections and failures."""
        with self._lock:
            self._scripts.clear()
        with self._world.lock:
            self._expiring = set()
            self._calls_left = 0
            self._world.rejected_event_ids.clear()
            self._world.failed_event_ids.clear()

    def apply(self, spec: t.Mapping[str, t.Any]) -> None:
        """Apply one control-API / scenario-file fault object (see the package docstring)."""
        if "steps" in spec:
            if not isinstance(spec.get("path"), str):
                raise ValueError("a fault script needs a 'path' string")
            self.script(spec["path"], spec["steps"], method=spec.get("method"))
        elif "expire_token_after" in spec:
            calls = spec["expire_token_after"]
            if not isinstance(calls, int) or isinstance(calls, bool):
                raise ValueError("'expire_token_after' must be an integer")
            self.expire_token_after(calls)
        elif "reject_elements" in spec:
            rejections = spec["reject_elements"]
            if not isinstance(rejections, dict) or not all(
                isinstance(key, str) and isinstance(value, str)
                for key, value in rejections.items()
            ):
                raise ValueError("'reject_elements' must map eventId strings to messages")
            self.reject_elements(rejections)
        elif "fail_elements" in spec:
            failures = spec["fail_elements"]
            status = spec.get("status", 400)
            if not isinstance(failures, dict) or not all(
                isinstance(key, str) and isinstance(value, str)
                for key, value in failures.items()
            ) or not isinstance(status, int) or isinstance(status, bool):
                raise ValueError("'fail_elements' must map eventId strings to messages, with an "
                                 "optional integer 'status'")
            self.fail_elements(failures, status)
        elif spec.get("clear") is True:
            self.clear()
        else:
            raise ValueError(
                "expected one of: {path, method, steps}, {expire_token_after}, "
                "{reject_elements}, {fail_elements, status}, {clear: true}"
            )
