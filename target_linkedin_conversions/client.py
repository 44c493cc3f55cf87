"""LinkedIn REST client: one session, the mandatory headers, pacing, retries, typed outcomes.

Every HTTP call of the target, the rule manager and the companion tap goes through
`LinkedInClient.request`, so headers, timeouts, retry policy and error messages exist once.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import random
import re
import threading
import time
import typing as t

import backoff
import msgspec
import requests
from urllib3.exceptions import LocationParseError

from target_linkedin_conversions import errors
from target_linkedin_conversions.auth import build_auth

if t.TYPE_CHECKING:
    from target_linkedin_conversions.settings import Connection

LOGGER = logging.getLogger(__name__)

EVENTS_PATH = "/rest/conversionEvents"
RETRIABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_INDEX_PATTERNS = (
    re.compile(r"Index:\s*(\d+)"),
    re.compile(r"batchIndex=(\d+)"),
)
_INDICES = re.compile(r"indices\s*\[([\d,\s]+)\]")
_BODY_ENCODER = msgspec.json.Encoder(decimal_format="string")
_QUOTED = re.compile(r'"[^"]*"')
_SAFE_CODE = re.compile(r"[A-Za-z0-9_.]{1,64}|no code")
_EMAIL_LIKE = re.compile(r"\S+@\S+")


@dataclasses.dataclass(frozen=True)
class BatchResult:
    """LinkedIn's verdict per element of one BATCH_CREATE, in request order."""

    accepted: int
    rejected: dict[int, str]
    dry_run: bool = False


def versioned_headers(version: str) -> dict[str, str]:
    """Headers every versioned LinkedIn REST call carries (the token is added by the auth)."""
    return {
        "LinkedIn-Version": version,
        "X-Restli-Protocol-Version": "2.0.0",
        "Content-Type": "application/json",
    }


def encode_batch(events: t.Sequence[dict[str, t.Any]]) -> bytes:
    """The BATCH_CREATE body for EVENTS, as compact JSON bytes."""
    return _BODY_ENCODER.encode({"elements": events})


def encode_event(event: dict[str, t.Any]) -> bytes:
    """One event as compact JSON, to be joined with others into a BATCH_CREATE body."""
    return _BODY_ENCODER.encode(event)


def decode_event(encoded: bytes | memoryview) -> dict[str, t.Any]:
    """An event back from `encode_event`'s bytes (for reject rows)."""
    return msgspec.json.decode(encoded)


class RequestPacer:
    """Keeps requests under LinkedIn's per-token quota (600 per minute) in any 60 s window.

    A backfill that never trips LinkedIn's throttle finishes sooner than one that hits 429s
    and backs off, so the pacing happens client-side, before sending.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        clock: t.Callable[[], float] = time.monotonic,
        sleep: t.Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.sleep = sleep
        self._starts: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def wait_turn(self) -> None:
        """Block until one more request fits in the window, then claim it."""
        if self.per_minute <= 0:
            return
        with self._lock:
            now = self.clock()
            while self._starts and self._starts[0] <= now - 60:
                self._starts.popleft()
            if len(self._starts) >= self.per_minute:
                wait = self._starts[0] + 60 - now
                LOGGER.info("Pacing: %d requests in the last minute; waiting %.1f s",
                            len(self._starts), wait)
                self.sleep(wait)
                now = self.clock()
                self._starts.popleft()
            self._starts.append(now)


def retry_waits(
    *, base: float = 1.0, cap: float = 60.0, rng: t.Callable[[], float] = random.random
) -> t.Generator[float, BaseException | None, None]:
    """Backoff wait generator: LinkedIn's Retry-After when given, else full-jitter exponential.

    `backoff` sends each exception into the generator, so the wait can honour the header of
    the response that failed.
    """
    exc = yield 0.0
    attempt = 0
    while True:
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            wait = float(retry_after) + rng() * 0.1 * base
        else:
            wait = rng() * min(cap, base * 2**attempt)
        attempt += 1
        exc = yield wait


class LinkedInClient:
    """Talks to `{api_base_url}/rest/...` with the headers and policies LinkedIn requires."""

    def __init__(
        self,
        settings: Connection,
        *,
        sleep: t.Callable[[float], None] = time.sleep,
        clock: t.Callable[[], float] = time.monotonic,
        rng: t.Callable[[], float] = random.random,
        dry_run_sink: t.Callable[[dict[str, t.Any]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.rng = rng
        self.session = requests.Session()
        self.auth = build_auth(settings)
        self.session.auth = self.auth
        self.sleep = sleep
        self.pacer = RequestPacer(settings.requests_per_minute, clock=clock, sleep=sleep)
        self.dry_run_sink = dry_run_sink
        self.request_count = 0
        self._count_lock = threading.Lock()
        self._closed = threading.Event()

    def close(self) -> None:
        """Refuse further requests and retries: the run is over (finished or stopping).

        Background sends still retrying give up at their next attempt instead of keeping a
        stopping process busy.
        """
        self._closed.set()

    @property
    def base_headers(self) -> dict[str, str]:
        """Headers every versioned LinkedIn call carries (the token is added by `auth`)."""
        return versioned_headers(self.settings.linkedin_version)

    def send_events(self, events: t.Sequence[dict[str, t.Any]]) -> BatchResult:
        """BATCH_CREATE EVENTS (at most 5,000); raise `BatchRejectedError` for indexed 4xx."""
        return self.send_batch(encode_batch(events), len(events))

    def send_batch(self, body: bytes, count: int) -> BatchResult:
        """BATCH_CREATE a body made by `encode_batch` from COUNT events."""
        if self.dry_run_sink is not None:
            self.dry_run_sink(self._dry_run_request(
                "POST", EVENTS_PATH, {"X-RestLi-Method": "BATCH_CREATE"},
                msgspec.json.decode(body)))
            return BatchResult(accepted=0, rejected={}, dry_run=True)
        response = self.request(
            "POST", EVENTS_PATH, body=body, restli_method="BATCH_CREATE", indexed_errors=True,
        )
        return _batch_result(response, count)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: t.Any = None,  # JSON-able, or bytes already encoded
        restli_method: str | None = None,
        indexed_errors: bool = False,
        retry: bool = True,
    ) -> requests.Response:
        """One logical call: paced, retried on 429/5xx/timeouts, refreshed once on 401.

        `retry=False` is for calls that are not idempotent at LinkedIn (creating a rule): a
        lost answer may hide a success, so the caller checks before trying again.
        """
        send = backoff.on_exception(
            retry_waits,
            errors.RetriableAPIError,
            max_tries=self.settings.max_attempts if retry else 1,
            max_time=self.settings.max_retry_seconds,
            jitter=None,
            giveup=lambda exc: self._closed.is_set(),
            on_backoff=self._log_retry,
            on_giveup=self._log_giveup if retry else self._log_not_retried,
            logger=None,
            rng=lambda: self.rng,  # backoff calls callable kwargs once; this yields the rng
        )(self._send_with_auth)
        return send(method, path, query, body, restli_method, indexed_errors)

    def _send_with_auth(
        self,
        method: str,
        path: str,
        query: str,
        body: t.Any,
        restli_method: str | None,
        indexed_errors: bool,
    ) -> requests.Response:
        """Send; on 401 with refresh credentials, renew the token and try once more.

        LinkedIn sometimes calls a token it issued seconds ago revoked, so the retry after a
        refresh waits briefly first.
        """
        response = self._send_once(method, path, query, body, restli_method)
        if response.status_code == 401 and self.auth.can_refresh:
            LOGGER.warning("LinkedIn answered 401 (%s); refreshing the access token",
                           error_fields(response)[0])
            self.auth.force_refresh()
            response = self._send_once(method, path, query, body, restli_method)
            if response.status_code == 401:
                self.sleep(self.settings.revoked_token_wait_seconds)
                response = self._send_once(method, path, query, body, restli_method)
        raise_for_linkedin_error(response, indexed_errors=indexed_errors,
                                 version=self.settings.linkedin_version)
        return response

    def _send_once(
        self, method: str, path: str, query: str, body: t.Any, restli_method: str | None
    ) -> requests.Response:
        headers = dict(self.base_headers)
        if restli_method:
            headers["X-RestLi-Method"] = restli_method
        if self._closed.is_set():
            raise errors.FatalAPIError(f"not sending {method} {path}: the run is stopping")
        url = self.settings.api_base_url + path + (f"?{query}" if query else "")
        data = body if body is None or isinstance(body, bytes) else _BODY_ENCODER.encode(body)
        self.pacer.wait_turn()
        with self._count_lock:
            self.request_count += 1
        try:
            return self.session.request(
                method, url, data=data, headers=headers, allow_redirects=False,
                timeout=(self.settings.connect_timeout, self.settings.read_timeout),
            )
        except requests.Timeout as exc:
            raise errors.RetriableAPIError(f"LinkedIn did not answer {method} {path} in time "
                                           f"({type(exc).__name__})") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise errors.RetriableAPIError(f"connection to {self.settings.api_base_url} failed "
                                           f"during {method} "
                                           f"{path} ({type(exc).__name__})") from None
        except UNSENDABLE as exc:
            raise unsendable(method, path, exc) from None

    def _dry_run_request(
        self, method: str, path: str, extra_headers: dict[str, str], body: t.Any
    ) -> dict[str, t.Any]:
        """The request a dry run writes instead of sending it."""
        headers = {**self.base_headers, **extra_headers}  # never the Authorization header
        return {"method": method, "url": self.settings.api_base_url + path,
                "headers": headers, "body": body}

    def _log_retry(self, details: dict[str, t.Any]) -> None:
        exc = details.get("exception")
        LOGGER.warning("LinkedIn call failed (%s); attempt %d, retrying in %.1f s",
                       exc, details["tries"], details["wait"])

    def _log_giveup(self, details: dict[str, t.Any]) -> None:
        LOGGER.error("Giving up on LinkedIn after %d attempts in %.0f s: %s",
                     details["tries"], details["elapsed"], details.get("exception"))

    def _log_not_retried(self, details: dict[str, t.Any]) -> None:
        """A `retry=False` call failed: its caller decides whether to try again."""
        LOGGER.warning("LinkedIn call failed (%s); not retried here: the call is not "
                       "idempotent", details.get("exception"))


# What requests raises for a request it cannot even send: a URL it cannot parse, or a header
# value http.client refuses (its message quotes the value, which may be the token).
UNSENDABLE = (requests.exceptions.InvalidURL, LocationParseError, ValueError)


def unsendable(method: str, path: str, exc: BaseException) -> errors.FatalAPIError:
    """The value-free error for EXC, one of `UNSENDABLE`, raised sending METHOD PATH."""
    kind = type(exc).__name__
    if isinstance(exc, (requests.exceptions.InvalidURL, LocationParseError)):
        return errors.FatalAPIError(
            f"{method} {path} could not be sent: api_base_url is not a usable URL ({kind})")
    return errors.FatalAPIError(f"{method} {path} could not be sent: a header value is not "
                                f"valid ({kind}); check access_token for stray characters")


def _batch_result(response: requests.Response, sent: int) -> BatchResult:
    """Per-element statuses: a 200 can still carry element errors, so check each one."""
    try:
        elements = _STATUSES.decode(response.content).elements
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise errors.FatalAPIError(
            f"LinkedIn answered BATCH_CREATE with {response.status_code} and a body that is not "
            "a list of element statuses; nothing can be said about the batch",
            status=response.status_code) from None
    if len(elements) != sent:
        msg = f"LinkedIn answered {len(elements)} element statuses for {sent} events"
        raise errors.FatalAPIError(msg, status=response.status_code)
    rejected = {
        index: _element_message(element)
        for index, element in enumerate(elements)
        if element.status >= 400
    }
    return BatchResult(accepted=sent - len(rejected), rejected=rejected)


def _element_message(element: _ElementStatus) -> str:
    """LinkedIn's message for one failed element (its error object's `message`), made safe.

    Never the error object's repr: its single-quoted values would slip past `sanitize`.
    """
    error = element.error
    if isinstance(error, dict):
        error = error.get("message")
    if not error or not isinstance(error, str):
        return f"element status {element.status}"
    return sanitize(error)


class _ElementStatus(msgspec.Struct):
    status: int = 201
    error: t.Any = None


class _BatchStatuses(msgspec.Struct):
    elements: list[_ElementStatus] = msgspec.field(default_factory=list)


_STATUSES = msgspec.json.Decoder(_BatchStatuses)


def raise_for_linkedin_error(response: requests.Response, *, version: str,
                             indexed_errors: bool = False, where: str = "") -> None:
    """Turn a non-2xx answer into the error class that tells the caller what to do.

    The one place LinkedIn's statuses get their meaning, for the target, the rule manager and
    the companion tap alike: retriable (429, 408, 5xx), fatal with what to fix (401, 403,
    426, the daily quota), per element (indexed 400/422), or fatal as LinkedIn put it.
    """
    status = response.status_code
    if status < 300:
        return
    code, message = error_fields(response)
    if status < 400:
        raise errors.FatalAPIError(
            f"LinkedIn answered {status} (a redirect) for {response.request.path_url.split('?')[0]}"
            ": check api_base_url", status=status)
    answered = f"LinkedIn answered {status}" + (f" for {where}" if where else "")
    if status == 429 and "DAY limit" in message:
        raise errors.DailyQuotaError(
            "LinkedIn's daily request quota for this token is used up; it resets at 00:00 "
            "UTC. Run again after that: nothing unsent was confirmed.", status=429)
    if status in RETRIABLE_STATUSES:
        raise errors.RetriableAPIError(f"{answered} ({code}): {message}",
                                       status=status, retry_after=_retry_after(response))
    if status == 401:
        raise errors.AuthenticationError(
            f"LinkedIn rejected the access token (401 {code}). Set a valid access_token, or "
            "client_id + client_secret + refresh_token so it can be renewed.", status=401)
    if status == 403:
        raise errors.PermissionDeniedError(
            f"{answered} ({code}): {message}. The token needs the scopes "
            "rw_conversions and r_ads, its member needs an ACCOUNT_BILLING_ADMIN, "
            "ACCOUNT_MANAGER, CAMPAIGN_MANAGER or CREATIVE_MANAGER role on the ad account, "
            "and every conversion rule must belong to an account the member can reach.",
            status=403)
    if status == 426:
        raise errors.VersionSunsetError(
            f"LinkedIn no longer serves LinkedIn-Version {version} (426 {code}). "
            "Set linkedin_version to an active YYYYMM version (each lives about a year).",
            status=426)
    if indexed_errors and status in (400, 422):
        by_index = element_errors(_raw_message(response))
        if by_index:
            raise errors.BatchRejectedError(
                status, {index: sanitize(reason) for index, reason in by_index.items()})
    raise errors.FatalAPIError(f"{answered} ({code}): {message}", status=status)


def error_fields(response: requests.Response) -> tuple[str, str]:
    """LinkedIn's error code and its message made safe to log; never the body itself."""
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return "no code", sanitize(response.reason or "", limit=200)
    if not isinstance(body, dict):
        return "no code", ""
    code = str(body.get("code") or body.get("serviceErrorCode") or body.get("error") or "no code")
    if not _SAFE_CODE.fullmatch(code):  # LinkedIn's codes are like VERSION_MISSING or 101
        code = "unrecognised code"
    message = body.get("message") or body.get("error_description") or ""
    return code, sanitize(str(message), limit=300)


def element_errors(message: str) -> dict[int, str]:
    """Element index → LinkedIn's reason, from `Index: N, ...` lines or `indices [..]` text."""
    by_index: dict[int, list[str]] = collections.defaultdict(list)
    for line in message.splitlines():
        for pattern in _INDEX_PATTERNS:
            for match in pattern.finditer(line):
                by_index[int(match.group(1))].append(line.strip())
        for match in _INDICES.finditer(line):
            for index in match.group(1).split(","):
                if index.strip():
                    by_index[int(index)].append(line.strip())
    return {index: "\n".join(dict.fromkeys(lines)) for index, lines in by_index.items()}


def sanitize(message: str, limit: int = 500) -> str:
    """LinkedIn's message without quoted values or address-like tokens, fit for a log line."""
    text = _EMAIL_LIKE.sub("<redacted>", _QUOTED.sub('"…"', message))
    return text if len(text) <= limit else text[:limit] + "…"


def _raw_message(response: requests.Response) -> str:
    """LinkedIn's full message, index lines included, to be split by index and sanitized."""
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return ""
    return str(body.get("message") or "") if isinstance(body, dict) else ""


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
