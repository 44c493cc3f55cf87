"""Every error the product raises, grouped by what the caller does next.

- `ConfigError`: the run cannot start; the message says which setting to fix.
- `FatalAPIError` and its children: stop the run now, emit no STATE for unsent records.
- `OutputWriteError`: the rejects or dry-run file cannot be written; stop, confirm nothing.
- `RetriableAPIError`: the client retries it with backoff; it escapes only when retries run out.
- `BatchRejectedError`: LinkedIn refused some elements of a batch by index; the sink rejects
  those and resends the rest once.
"""

from __future__ import annotations

from singer_sdk.exceptions import ConfigValidationError, FatalSyncError, RetriableSyncError


class ConfigError(ConfigValidationError):
    """A setting is missing, malformed or contradicts another one."""

    def __init__(self, *errors: str) -> None:
        super().__init__("Config validation failed", errors=list(errors))

    def __str__(self) -> str:
        return "; ".join(self.errors)


class FatalAPIError(FatalSyncError):
    """LinkedIn answered in a way no retry can fix; the run must stop."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthenticationError(FatalAPIError):
    """401 that a token refresh could not cure."""


class PermissionDeniedError(FatalAPIError):
    """403: missing scopes, missing ad-account role, or a rule outside the token's accounts."""


class VersionSunsetError(FatalAPIError):
    """426: the configured `linkedin_version` is no longer served."""


class DailyQuotaError(FatalAPIError):
    """429 for the daily request quota: retrying only burns budget until 00:00 UTC."""


class InvalidStreamSchemaError(FatalSyncError):
    """A stream's SCHEMA message cannot validate records (invalid, or an unresolvable $ref)."""


class OutputWriteError(FatalSyncError):
    """The rejects or dry-run file cannot be written (disk full, device gone): a record that
    cannot be accounted for must not be confirmed by a STATE."""


class RejectThresholdError(FatalSyncError):
    """More records were rejected than `max_reject_ratio` allows."""


class RetriableAPIError(RetriableSyncError):
    """429, 5xx, timeouts and dropped connections: worth another try after a wait."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class BatchRejectedError(Exception):
    """A whole batch refused because of the elements named in `by_index`.

    LinkedIn validates a BATCH_CREATE all-or-nothing and names the culprits as `Index: N`;
    the caller rejects those elements and resends the others.
    """

    def __init__(self, status: int, by_index: dict[int, str]) -> None:
        super().__init__(f"LinkedIn refused {len(by_index)} element(s) of the batch ({status})")
        self.status = status
        self.by_index = by_index
