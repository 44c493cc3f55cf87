"""The target's settings: the config schema users see, and typed, cross-checked access to it.

The schema is the contract with Meltano and other tools (`--about`, `meltano.yml`, the README
table are generated from it), so names here never change silently.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t

from singer_sdk import typing as th

from target_linkedin_conversions.errors import ConfigError

DEFAULT_API_BASE_URL = "https://api.linkedin.com"
DEFAULT_OAUTH_TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"  # noqa: S105
DEFAULT_LINKEDIN_VERSION = "202609"
MAX_BATCH_SIZE = 5000  # LinkedIn's BATCH_CREATE limit for conversion events
RULE_URN_PREFIX = "urn:lla:llaPartnerConversion:"
ACCOUNT_URN_PREFIX = "urn:li:sponsoredAccount:"

EVENT_FIELDS = (
    "event_id",
    "conversion_happened_at",
    "email",
    "sha256_email",
    "li_fat_id",
    "acxiom_id",
    "ip_address",
    "google_aid",
    "lead_id",
    "external_id",
    "first_name",
    "last_name",
    "company_name",
    "title",
    "country_code",
    "amount",
    "currency",
)

_VERSION_RE = re.compile(r"^\d{6}(\.\d{2})?$")
_RULE_ID_RE = re.compile(r"^\d+$")

_FIELD_MAPPING = th.ObjectType(
    *(th.Property(name, th.StringType) for name in EVENT_FIELDS),
    additional_properties=False,
)

_STREAM_SETTINGS = th.ObjectType(
    th.Property(
        "conversion_rule_id",
        th.StringType,
        description="Rule for this stream's events (bare id or urn:lla:llaPartnerConversion:N).",
    ),
    th.Property(
        "rule_field",
        th.StringType,
        description="Column whose value picks the rule through `rule_map`.",
    ),
    th.Property(
        "rule_map",
        th.ObjectType(additional_properties=th.AnyType()),
        description=(
            "Column value → rule id (or a list of rule ids: one event per rule). A value with no "
            "entry, or null, goes to this stream's `conversion_rule_id` when set, else is "
            "rejected; it never falls back to the global rule."
        ),
    ),
    th.Property("field_mapping", _FIELD_MAPPING, description="Overrides the top-level mapping."),
    th.Property(
        "default_currency",
        th.StringType,
        description="ISO-4217 currency used when a record has an amount but no currency.",
    ),
    additional_properties=False,
)

CONNECTION_PROPERTIES: tuple[th.Property, ...] = (
    th.Property(
        "access_token",
        th.StringType,
        secret=True,
        description=(
            "A Direct API token from Campaign Manager or an OAuth access token with "
            "`rw_conversions` and `r_ads`. Leave empty when using `refresh_token`."
        ),
    ),
    th.Property("client_id", th.StringType, secret=True, description="OAuth app client id."),
    th.Property("client_secret", th.StringType, secret=True, description="OAuth client secret."),
    th.Property(
        "refresh_token",
        th.StringType,
        secret=True,
        description="OAuth refresh token; with `client_id` and `client_secret` the target "
        "obtains and renews its access token itself.",
    ),
    th.Property(
        "oauth_token_url",
        th.StringType,
        default=DEFAULT_OAUTH_TOKEN_URL,
        description="LinkedIn's OAuth token endpoint.",
    ),
    th.Property(
        "api_base_url",
        th.StringType,
        default=DEFAULT_API_BASE_URL,
        description="Base URL of LinkedIn's REST API; point it at the local emulator to test.",
    ),
    th.Property(
        "linkedin_version",
        th.StringType,
        default=DEFAULT_LINKEDIN_VERSION,
        description="Marketing API version sent as `LinkedIn-Version` (YYYYMM). Versions are "
        "sunset about a year after release; LinkedIn then answers 426.",
    ),
    th.Property(
        "requests_per_minute",
        th.IntegerType,
        default=600,
        description="Client-side pacing: at most this many requests in any minute (LinkedIn's "
        "quota is 600 per token).",
    ),
    th.Property(
        "max_attempts",
        th.IntegerType,
        default=6,
        description="Tries per request on 429, 5xx, timeouts and dropped connections.",
    ),
    th.Property(
        "max_retry_seconds",
        th.IntegerType,
        default=600,
        description="Give up retrying one request after this many seconds in total.",
    ),
    th.Property(
        "connect_timeout",
        th.IntegerType,
        default=10,
        description="Seconds to wait for a connection to LinkedIn.",
    ),
    th.Property(
        "read_timeout",
        th.IntegerType,
        default=60,
        description="Seconds to wait for LinkedIn's answer to one request.",
    ),
)
"""Settings of the connection to LinkedIn, shared by the target and the companion tap."""

CONFIG_SCHEMA = th.PropertiesList(
    *CONNECTION_PROPERTIES,
    th.Property(
        "ad_account_id",
        th.StringType,
        description="Ad account that owns the conversion rules (number or "
        "urn:li:sponsoredAccount:N).",
    ),
    th.Property(
        "conversion_rule_id",
        th.StringType,
        description="Rule for every stream that names none (bare id or "
        "urn:lla:llaPartnerConversion:N).",
    ),
    th.Property(
        "field_mapping",
        _FIELD_MAPPING,
        description="Event field → record column. An unmapped event field is read from the "
        "column of the same name.",
    ),
    th.Property(
        "streams",
        th.ObjectType(additional_properties=_STREAM_SETTINGS),
        description="Per-stream settings, keyed by stream name.",
    ),
    th.Property(
        "dry_run",
        th.BooleanType,
        default=False,
        description="Build and validate every request and write it to `dry_run_path`; send "
        "nothing.",
    ),
    th.Property(
        "dry_run_path",
        th.StringType,
        default="linkedin-conversions-dry-run.jsonl",
        description="Where dry run writes one JSON line per request (the token is never "
        "written).",
    ),
    th.Property(
        "rejects_path",
        th.StringType,
        default="linkedin-conversions-rejects.jsonl",
        description="JSON-lines file (mode 0600, appended) with one line per rejected record: "
        "stream, reason code, message, the record and the event as built.",
    ),
    th.Property(
        "max_reject_ratio",
        th.NumberType,
        description="Fail the run (non-zero exit, after writing the rejects) when more than this "
        "share of the records read was rejected, e.g. 0.05. Unset: never fail for rejects.",
    ),
    th.Property(
        "max_clock_skew_seconds",
        th.IntegerType,
        default=300,
        description="A conversion time up to this far in the future is sent as 'now'; later "
        "ones are rejected.",
    ),
).to_dict()


@dataclasses.dataclass(frozen=True)
class StreamSettings:
    """Everything the mapping needs for one stream, resolved from global and stream settings."""

    name: str
    field_mapping: dict[str, str]
    conversion_rule: str | None
    rule_field: str | None = None
    rule_map: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    default_currency: str | None = None

    def column(self, event_field: str) -> str:
        """The record column that feeds EVENT_FIELD."""
        return self.field_mapping.get(event_field, event_field)


@dataclasses.dataclass(frozen=True)
class Connection:
    """How to reach LinkedIn: credentials, base URL, version, timeouts, retry and pacing."""

    access_token: str | None
    client_id: str | None
    client_secret: str | None
    refresh_token: str | None
    oauth_token_url: str = DEFAULT_OAUTH_TOKEN_URL
    api_base_url: str = DEFAULT_API_BASE_URL
    linkedin_version: str = DEFAULT_LINKEDIN_VERSION
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    requests_per_minute: int = 600
    max_attempts: int = 6
    max_retry_seconds: float = 600.0
    revoked_token_wait_seconds: float = 5.0

    @classmethod
    def from_config(
        cls, config: t.Mapping[str, t.Any], errors: list[str], *, token_required: bool = True
    ) -> Connection:
        """Read the connection settings, appending every problem to ERRORS."""
        version = str(config.get("linkedin_version") or DEFAULT_LINKEDIN_VERSION)
        if not _VERSION_RE.match(version):
            errors.append(
                f"linkedin_version must be YYYYMM (for example {DEFAULT_LINKEDIN_VERSION}); "
                f"got {version!r}"
            )
        errors.extend(_auth_errors(config, token_required=token_required))
        return cls(
            access_token=config.get("access_token") or None,
            client_id=config.get("client_id") or None,
            client_secret=config.get("client_secret") or None,
            refresh_token=config.get("refresh_token") or None,
            oauth_token_url=config.get("oauth_token_url") or DEFAULT_OAUTH_TOKEN_URL,
            api_base_url=(config.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/"),
            linkedin_version=version,
            connect_timeout=float(config.get("connect_timeout") or 10),
            read_timeout=float(config.get("read_timeout") or 60),
            requests_per_minute=int(config.get("requests_per_minute", 600)),
            max_attempts=max(1, int(config.get("max_attempts") or 6)),
            max_retry_seconds=float(config.get("max_retry_seconds") or 600),
        )


@dataclasses.dataclass(frozen=True)
class Settings:
    """Typed view of the target's config, checked across fields at start-up."""

    connection: Connection
    ad_account_urn: str | None
    conversion_rule: str | None
    field_mapping: dict[str, str]
    streams: dict[str, dict[str, t.Any]]
    dry_run: bool
    dry_run_path: str
    rejects_path: str
    max_clock_skew_seconds: int
    max_reject_ratio: float | None = None

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> Settings:
        """Build and cross-check the settings; raise `ConfigError` naming every problem."""
        errors: list[str] = []
        connection = Connection.from_config(config, errors,
                                            token_required=not config.get("dry_run"))
        rule = _rule_urn_or_error(config.get("conversion_rule_id"), "conversion_rule_id", errors)
        account = _account_urn_or_error(config.get("ad_account_id"), errors)
        streams = dict(config.get("streams") or {})
        for name, raw in streams.items():
            _check_stream(name, raw or {}, errors)
        ratio = _ratio_or_error(config.get("max_reject_ratio"), errors)
        if errors:
            raise ConfigError(*errors)
        return cls(
            connection=connection,
            ad_account_urn=account,
            conversion_rule=rule,
            field_mapping=dict(config.get("field_mapping") or {}),
            streams=streams,
            dry_run=bool(config.get("dry_run")),
            dry_run_path=config.get("dry_run_path") or "linkedin-conversions-dry-run.jsonl",
            rejects_path=config.get("rejects_path") or "linkedin-conversions-rejects.jsonl",
            max_clock_skew_seconds=int(config.get("max_clock_skew_seconds", 300)),
            max_reject_ratio=ratio,
        )

    def for_stream(self, stream_name: str) -> StreamSettings:
        """Resolve STREAM_NAME's settings; the global rule applies only to streams naming none.

        A stream that uses `rule_map` does not fall back to the global rule for unmapped
        values: sending a lead to the purchase rule would be worse than rejecting it.
        """
        raw = self.streams.get(stream_name) or {}
        mapping = {**self.field_mapping, **(raw.get("field_mapping") or {})}
        own_rule = _rule_urn_or_error(raw.get("conversion_rule_id"), "", [])
        uses_rule_map = bool(raw.get("rule_field"))
        rule = own_rule if (own_rule or uses_rule_map) else self.conversion_rule
        rule_map = {
            str(value): tuple(_rule_urn_or_error(r, "", []) or "" for r in _as_list(rules))
            for value, rules in (raw.get("rule_map") or {}).items()
        }
        return StreamSettings(
            name=stream_name,
            field_mapping=mapping,
            conversion_rule=rule,
            rule_field=raw.get("rule_field"),
            rule_map=rule_map,
            default_currency=raw.get("default_currency"),
        )


def rule_urn(value: str | int) -> str:
    """`urn:lla:llaPartnerConversion:N` for a bare id or an already-full URN."""
    text = str(value).strip()
    return text if text.startswith(RULE_URN_PREFIX) else RULE_URN_PREFIX + text


def _ratio_or_error(value: t.Any, errors: list[str]) -> float | None:
    if value is None or value == "":
        return None
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        ratio = -1.0
    if not 0 <= ratio <= 1:
        errors.append(f"max_reject_ratio must be a number from 0 to 1; got {value!r}")
        return None
    return ratio


def _as_list(value: t.Any) -> list[t.Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _auth_errors(config: t.Mapping[str, t.Any], *, token_required: bool) -> list[str]:
    refresh_parts = [k for k in ("client_id", "client_secret", "refresh_token") if config.get(k)]
    if config.get("access_token") or len(refresh_parts) == 3:
        return []
    if refresh_parts:
        missing = sorted({"client_id", "client_secret", "refresh_token"} - set(refresh_parts))
        return [f"refresh-token authentication also needs: {', '.join(missing)}"]
    if not token_required:
        return []
    return ["set access_token, or client_id + client_secret + refresh_token"]


def _rule_urn_or_error(value: t.Any, setting: str, errors: list[str]) -> str | None:
    """Normalise a rule id to its URN; any other URN prefix is a config error."""
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip()
    bare = text.removeprefix(RULE_URN_PREFIX)
    if not _RULE_ID_RE.match(bare):
        errors.append(
            f"{setting} must be a numeric rule id or {RULE_URN_PREFIX}N; got {text!r}"
        )
        return None
    return RULE_URN_PREFIX + bare


def _account_urn_or_error(value: t.Any, errors: list[str]) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    bare = str(value).strip().removeprefix(ACCOUNT_URN_PREFIX)
    if not bare.isdigit():
        errors.append(f"ad_account_id must be a number or {ACCOUNT_URN_PREFIX}N; got {value!r}")
        return None
    return ACCOUNT_URN_PREFIX + bare


def _check_stream(name: str, raw: t.Mapping[str, t.Any], errors: list[str]) -> None:
    prefix = f"streams.{name}"
    _rule_urn_or_error(raw.get("conversion_rule_id"), f"{prefix}.conversion_rule_id", errors)
    if raw.get("rule_map") and not raw.get("rule_field"):
        errors.append(f"{prefix}.rule_map needs {prefix}.rule_field (the column to look up)")
    for value, rules in (raw.get("rule_map") or {}).items():
        for rule in _as_list(rules):
            _rule_urn_or_error(rule, f"{prefix}.rule_map[{value!r}]", errors)
    currency = raw.get("default_currency")
    if currency is not None and not re.fullmatch(r"[A-Za-z]{3}", str(currency)):
        errors.append(f"{prefix}.default_currency must be a 3-letter ISO-4217 code")
