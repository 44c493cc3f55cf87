"""The target's settings: the config schema users see, and typed, cross-checked access to it.

The schema is the contract with Meltano and other tools (`--about`, `meltano.yml`, the README
table are generated from it), so names here never change silently.
"""

from __future__ import annotations

import dataclasses
import decimal
import os
import re
import typing as t
import urllib.parse

from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

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

CAMPAIGN_URN_PREFIX = "urn:li:sponsoredCampaign:"

# LinkedIn's enums for conversion rules (reference §2.1), checked locally so that a rule is
# never half-created: LinkedIn creates nothing when a field is wrong, but says so one at a time.
RULE_TYPES = (
    "ADD_BILLING_INFO", "ADD_TO_CART", "ADD_TO_LIST", "AD_CLICK", "AD_VIEW", "BOOK_APPOINTMENT",
    "COMPLETE_SIGNUP", "CONTACT", "DONATE", "DOWNLOAD", "INSTALL", "INVITE", "JOB_APPLY",
    "KEY_PAGE_VIEW", "LEAD", "LOGIN", "MARKETING_QUALIFIED_LEAD", "OTHER", "OUTBOUND_CLICK",
    "PHONE_CALL", "PURCHASE", "QUALIFIED_LEAD", "RATE", "REQUEST_QUOTE", "SALES_QUALIFIED_LEAD",
    "SAVE", "SCHEDULE", "SEARCH", "SHARE", "SIGN_UP", "START_CHECKOUT", "START_TRIAL",
    "SUBMIT_APPLICATION", "SUBSCRIBE", "TALENT_LEAD", "VIEW_CONTENT", "VIEW_VIDEO",
)
RULE_TYPES_FROM_VERSION = {"MARKETING_QUALIFIED_LEAD": 202608, "SALES_QUALIFIED_LEAD": 202608}
ATTRIBUTION_TYPES = ("LAST_TOUCH_BY_CAMPAIGN", "LAST_TOUCH_BY_CONVERSION")
VALUE_TYPES = ("DYNAMIC", "FIXED", "NO_VALUE")
WINDOW_SIZES = (1, 7, 30, 90, 180)
LONG_WINDOW = 365
LONG_WINDOW_TYPES = ("ADD_TO_CART", "LEAD", "PURCHASE", "QUALIFIED_LEAD", "SUBMIT_APPLICATION")

RULE_SETTINGS = {
    "conversion_rule_type": "type",
    "attribution_type": "attributionType",
    "post_click_attribution_window_size": "postClickAttributionWindowSize",
    "view_through_attribution_window_size": "viewThroughAttributionWindowSize",
    "value_type": "valueType",
}
"""Stream setting → the field of LinkedIn's conversion rule it declares."""

_RULE_SPEC_KEYS = ("conversion_rule_id", "conversion_rule_name", *RULE_SETTINGS, "campaigns")

_VERSION_RE = re.compile(r"[0-9]{6}(\.[0-9]{2})?")  # fullmatch; ASCII digits only
_RULE_ID_RE = re.compile(r"[0-9]+")

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
        "conversion_rule_name",
        th.StringType,
        description="Rule for this stream's events, by its exact name in `ad_account_id` "
        "(instead of `conversion_rule_id`). Created when missing if `create_missing_rules`.",
    ),
    th.Property(
        "conversion_rule_type",
        th.StringType,
        allowed_values=list(RULE_TYPES),
        description="LinkedIn's rule `type` (e.g. LEAD, PURCHASE). Needed to create the rule; "
        "for an existing rule a different value is warned about (changed with `update_rules`).",
    ),
    th.Property(
        "attribution_type",
        th.StringType,
        allowed_values=list(ATTRIBUTION_TYPES),
        description="LAST_TOUCH_BY_CAMPAIGN (every campaign gets credit) or "
        "LAST_TOUCH_BY_CONVERSION (one campaign does). Needed to create the rule.",
    ),
    th.Property(
        "post_click_attribution_window_size",
        th.IntegerType,
        allowed_values=[*WINDOW_SIZES, LONG_WINDOW],
        description="Days after a click: 1, 7, 30, 90 or 180; 365 only for ADD_TO_CART, LEAD, "
        "PURCHASE, QUALIFIED_LEAD, SUBMIT_APPLICATION. Needed to create the rule.",
    ),
    th.Property(
        "view_through_attribution_window_size",
        th.IntegerType,
        allowed_values=[*WINDOW_SIZES, LONG_WINDOW],
        description="Days after a view, same values as the post-click window. Needed to create "
        "the rule.",
    ),
    th.Property(
        "value_type",
        th.StringType,
        allowed_values=list(VALUE_TYPES),
        description="DYNAMIC (each event's amount), FIXED or NO_VALUE. Needed to create the rule.",
    ),
    th.Property(
        "campaigns",
        th.ArrayType(th.CustomType({"type": ["string", "integer"]})),
        description="Campaign ids (or urn:li:sponsoredCampaign:N) to associate with this "
        "stream's rule at start-up. Existing associations are never removed.",
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
            "Column value → rule: a rule id, an object with `conversion_rule_id` or "
            "`conversion_rule_name` (and optionally the rule settings and `campaigns` above), or "
            "a list of those (one event per rule). A value with no entry, or null, goes to this "
            "stream's own rule when set, else is rejected; it never falls back to the global "
            "rule."
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

SECRET_SETTINGS = ("access_token", "client_id", "client_secret", "refresh_token")
_WHITESPACE_NOTE = ("Spaces and line breaks around the value are ignored; inside it they are "
                      "a config error.")

CONNECTION_PROPERTIES: tuple[th.Property, ...] = (
    th.Property(
        "access_token",
        th.StringType,
        secret=True,
        description=(
            "A Direct API token from Campaign Manager or an OAuth access token with "
            "`rw_conversions` and `r_ads`. Leave empty when using `refresh_token`. "
            + _WHITESPACE_NOTE
        ),
    ),
    th.Property("client_id", th.StringType, secret=True,
                description=f"OAuth app client id. {_WHITESPACE_NOTE}"),
    th.Property("client_secret", th.StringType, secret=True,
                description=f"OAuth client secret. {_WHITESPACE_NOTE}"),
    th.Property(
        "refresh_token",
        th.StringType,
        secret=True,
        description="OAuth refresh token; with `client_id` and `client_secret` the plugin "
        f"obtains and renews its access token itself. {_WHITESPACE_NOTE}",
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
        th.IntegerType(minimum=0),
        default=600,
        description="Client-side pacing: at most this many requests in any minute (LinkedIn's "
        "quota is 600 per token); 0 turns pacing off.",
    ),
    th.Property(
        "max_attempts",
        th.IntegerType(minimum=1),
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
        "urn:li:sponsoredAccount:N). Needed whenever rules are checked at start-up (the default, "
        "see `check_rules`), given by name, created or given campaigns.",
    ),
    th.Property(
        "conversion_rule_id",
        th.StringType,
        description="Rule for every stream that names none (bare id or "
        "urn:lla:llaPartnerConversion:N).",
    ),
    th.Property(
        "check_rules",
        th.BooleanType,
        default=True,
        description="At start-up, look up every configured rule in `ad_account_id` and stop "
        "before sending if one is missing, disabled or not a Conversions API rule. Rules given "
        "by name are always looked up. A dry run with credentials looks them up too (read-only "
        "calls to `api_base_url`); without credentials it skips the look-ups.",
    ),
    th.Property(
        "create_missing_rules",
        th.BooleanType,
        default=False,
        description="Create a rule given by `conversion_rule_name` that the account does not "
        "have, with the rule settings given beside the name (all five are then required). "
        "Looked up by name first, so it is created once, also across re-runs.",
    ),
    th.Property(
        "update_rules",
        th.BooleanType,
        default=False,
        description="When a rule's declared settings differ from LinkedIn's, change the rule "
        "(partial update of the differing fields only). Off: the differences are only warned "
        "about.",
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
        "max_requests_in_flight",
        th.IntegerType(minimum=0),
        default=2,
        description="Batches sent in the background while the next ones are read (0 = send "
        "each batch before reading on). Two hide LinkedIn's ~100 ms per batch (one leaves "
        "the reader waiting a third of the time); more help only when LinkedIn is slower, "
        "and cost ~5 MB each. STATE is written only after every earlier batch was delivered.",
    ),
    th.Property(
        "progress_interval_seconds",
        th.IntegerType,
        default=60,
        description="Log a progress line (records read, events accepted, rejected, events per "
        "second) this often during long runs; 0 turns it off.",
    ),
    th.Property(
        "max_reject_ratio",
        th.NumberType,  # read from the environment by `numbers_from_env`
        description="Fail the run (non-zero exit, after writing the rejects) when more than this "
        "share of the records read was rejected, e.g. 0.05. Unset: never fail for rejects.",
    ),
    th.Property(
        "batch_size_rows",
        th.IntegerType,
        default=MAX_BATCH_SIZE,
        description="Events per BATCH_CREATE request: at most 5,000 (LinkedIn's limit); a "
        "larger value is capped at 5,000.",
    ),
    th.Property(
        "validate_records",
        th.BooleanType,
        default=True,
        description="Check each record against its stream's schema first; a record that does "
        "not match becomes a `schema_violation` reject (naming the field, never the value).",
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
        if not _VERSION_RE.fullmatch(version):
            errors.append(
                f"linkedin_version must be YYYYMM (for example {DEFAULT_LINKEDIN_VERSION}); "
                f"got {version!r}"
            )
        secrets = {name: _secret_or_error(config.get(name), name, errors)
                   for name in SECRET_SETTINGS}
        errors.extend(_auth_errors(secrets, token_required=token_required))
        urls = {}
        for setting, example in (("api_base_url", DEFAULT_API_BASE_URL),
                                 ("oauth_token_url", DEFAULT_OAUTH_TOKEN_URL)):
            url = config.get(setting)
            urls[setting] = url = url.strip() if isinstance(url, str) else url
            if url == "":  # an unset variable behind it must not mean LinkedIn's production
                errors.append(f"{setting} is empty; leave it out to use {example}")
                continue
            problem = _url_problem(url, base=setting == "api_base_url") if url else None
            if problem:
                errors.append(f"{setting} must be an http(s) URL such as {example} ({problem})"
                              + ("" if "@" in str(url) else f"; got {url!r}"))
        for setting in ("connect_timeout", "read_timeout", "max_retry_seconds"):
            if config.get(setting) is not None and float(config[setting]) <= 0:
                errors.append(f"{setting} must be more than 0 seconds")
        return cls(
            access_token=secrets["access_token"],
            client_id=secrets["client_id"],
            client_secret=secrets["client_secret"],
            refresh_token=secrets["refresh_token"],
            oauth_token_url=urls["oauth_token_url"] or DEFAULT_OAUTH_TOKEN_URL,
            api_base_url=(urls["api_base_url"] or DEFAULT_API_BASE_URL).rstrip("/"),
            linkedin_version=version,
            connect_timeout=float(config.get("connect_timeout") or 10),
            read_timeout=float(config.get("read_timeout") or 60),
            requests_per_minute=_at_least(config, "requests_per_minute", 600, 0, errors),
            max_attempts=_at_least(config, "max_attempts", 6, 1, errors),
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
    max_requests_in_flight: int = 2
    progress_interval_seconds: float = 60.0
    check_rules: bool = True
    create_missing_rules: bool = False
    update_rules: bool = False

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
            _check_stream(name, raw or {}, errors, version=connection.linkedin_version)
        if not config.get("ad_account_id"):
            errors.extend(_needs_account(streams))
        ratio = _ratio_or_error(config.get("max_reject_ratio"), errors)
        for setting in ("batch_size_rows",):
            value = config.get(setting)
            if value is not None and int(value) < 1:
                errors.append(f"{setting} must be at least 1 (LinkedIn takes up to 5,000 "
                              "events per request)")
        if int(config.get("max_clock_skew_seconds") or 0) < 0:
            errors.append("max_clock_skew_seconds cannot be negative")
        in_flight = _at_least(config, "max_requests_in_flight", 2, 0, errors)
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
            max_requests_in_flight=in_flight,
            progress_interval_seconds=float(config.get("progress_interval_seconds", 60)),
            check_rules=bool(config.get("check_rules", True)),
            create_missing_rules=bool(config.get("create_missing_rules")),
            update_rules=bool(config.get("update_rules")),
        )

    def for_stream(
        self, stream_name: str, resolved: t.Mapping[str, str] | None = None
    ) -> StreamSettings:
        """Resolve STREAM_NAME's settings; the global rule applies only to streams naming none.

        A stream that uses `rule_map` does not fall back to the global rule for unmapped
        values: sending a lead to the purchase rule would be worse than rejecting it.
        RESOLVED maps rule names to URNs (the rule manager's start-up lookup).
        """
        raw = self.streams.get(stream_name) or {}
        names = resolved or {}
        prefix = f"streams.{stream_name}"
        mapping = {**self.field_mapping, **(raw.get("field_mapping") or {})}
        own_rule = _spec_urn(raw, names, prefix)
        uses_rule_map = bool(raw.get("rule_field"))
        rule = own_rule if (own_rule or uses_rule_map) else self.conversion_rule
        rule_map = {
            str(value): tuple(dict.fromkeys(  # the same rule twice would send an event twice
                _spec_urn(_as_spec(r), names, f"{prefix}.rule_map[{value!r}]") or ""
                for r in _as_list(rules)))
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

    def rule_refs(self) -> list[RuleRef]:
        """Every place in the config that names a rule, in config order, for start-up checks."""
        refs = []
        if self.conversion_rule:
            refs.append(RuleRef("conversion_rule_id", None, self.conversion_rule))
        for stream_name, raw in self.streams.items():
            prefix = f"streams.{stream_name}"
            stream = raw or {}
            if stream.get("conversion_rule_id") or stream.get("conversion_rule_name"):
                key = "conversion_rule_id" if stream.get("conversion_rule_id") else \
                    "conversion_rule_name"
                refs.append(_rule_ref(f"{prefix}.{key}", stream_name, stream))
            for value, rules in (stream.get("rule_map") or {}).items():
                entries = _as_list(rules)
                for index, entry in enumerate(entries):
                    where = f"{prefix}.rule_map[{value!r}]"
                    if len(entries) > 1 or isinstance(rules, (list, tuple)):
                        where += f"[{index}]"
                    refs.append(_rule_ref(where, stream_name, _as_spec(entry)))
        return refs


@dataclasses.dataclass(frozen=True)
class RuleRef:
    """One place in the config that names a conversion rule, by id or by exact name.

    `declared` holds the rule settings given beside it, as LinkedIn's field names.
    """

    setting: str
    stream: str | None
    urn: str | None = None
    name: str | None = None
    declared: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    campaigns: tuple[str, ...] = ()


def rule_urn(value: str | int) -> str:
    """`urn:lla:llaPartnerConversion:N` for a bare id or an already-full URN."""
    text = str(value).strip()
    return text if text.startswith(RULE_URN_PREFIX) else RULE_URN_PREFIX + text


_CONFIG_PATH = re.compile(r" in config\['([^']+)'\]")


def without_secret_values(errors: t.Iterable[str], schema: t.Mapping[str, t.Any]) -> list[str]:
    """singer-sdk's config errors, with those about a secret setting rewritten value-free.

    The SDK's messages start with the offending value ("12345 is not of type 'string' in
    config['access_token']"), and it logs them at ERROR.
    """
    secrets = {name for name, spec in schema.get("properties", {}).items()
               if spec.get("secret") or spec.get("writeOnly")}
    redacted = []
    for error in errors:
        match = _CONFIG_PATH.search(error)
        if match and match.group(1) in secrets:
            error = (f"config['{match.group(1)}'] has a value of the wrong type or form (not "
                     "shown: the setting is secret)")
        redacted.append(error)
    return redacted


def numbers_from_env(env_config: t.Mapping[str, t.Any], schema: t.Mapping[str, t.Any]
                     ) -> dict[str, t.Any]:
    """ENV_CONFIG (as singer-sdk parsed it) with the text of `number` settings made numbers.

    singer-sdk 0.54 converts integer, boolean, array and object settings read from
    environment variables, but passes `number` ones on as text, which the config schema then
    refuses ("'0.05' is not of type 'number'"). Text that is no number is left as it is, for
    the schema check to name the setting.
    """
    properties = schema.get("properties", {})
    converted = dict(env_config)
    for name, value in env_config.items():
        types = properties.get(name, {}).get("type", [])
        if isinstance(value, str) and "number" in ([types] if isinstance(types, str) else types):
            try:
                converted[name] = float(value)
            except ValueError:
                pass
    return converted


class SettingsHooks:
    """The target's and the tap's shared fixes to singer-sdk's reading of their settings.

    Both override private hooks of singer-sdk 0.54 (pinned ~=0.54.9; covered by
    tests/test_settings.py): the SDK offers no public ones for these.
    """

    config_jsonschema: t.ClassVar[dict[str, t.Any]]

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """The SDK's config check, without the values of secret settings in its messages."""
        try:
            return super()._validate_config(raise_errors=raise_errors)  # type: ignore[misc]
        except ConfigValidationError as exc:
            errors = without_secret_values(exc.errors, self.config_jsonschema)
            raise ConfigValidationError(str(exc), errors=errors, schema=exc.schema) from None

    @property
    def _env_var_config(self) -> dict[str, t.Any]:
        """Settings from environment variables, `number` settings as numbers (the SDK's
        `__init__` reads this once when env parsing is on).

        A whole-number setting whose variable is no number is a config error naming the
        variable (the SDK's `int()` would fail with a traceback that shows the value).
        """
        prefix = self._env_var_prefix  # type: ignore[attr-defined]
        problems = [
            f"environment variable {prefix}{name.upper()} must be a whole number ({name})"
            for name, spec in self.config_jsonschema.get("properties", {}).items()
            if _is_integer_setting(spec)
            and not _is_whole_number(os.environ.get(f"{prefix}{name.upper()}", "0"))
        ]
        if problems:
            raise ConfigValidationError("Config validation failed", errors=problems)
        return numbers_from_env(super()._env_var_config, self.config_jsonschema)  # type: ignore[misc]


def _is_integer_setting(spec: t.Mapping[str, t.Any]) -> bool:
    types = spec.get("type", [])
    return "integer" in ([types] if isinstance(types, str) else types)


def _is_whole_number(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _ratio_or_error(value: t.Any, errors: list[str]) -> float | None:
    if value is None or value == "":
        return None
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        ratio = -1.0
    if not 0 <= ratio <= 1:
        shown = value if isinstance(value, (int, float, decimal.Decimal)) else repr(value)
        errors.append(f"max_reject_ratio must be a number from 0 to 1; got {shown}")
        return None
    return ratio


def _as_list(value: t.Any) -> list[t.Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _as_spec(entry: t.Any) -> t.Mapping[str, t.Any]:
    """A `rule_map` entry as a rule spec: a bare id becomes `{"conversion_rule_id": id}`."""
    return entry if isinstance(entry, t.Mapping) else {"conversion_rule_id": entry}


def _spec_urn(spec: t.Mapping[str, t.Any], names: t.Mapping[str, str], where: str) -> str | None:
    """The URN of SPEC's rule: its id, or its name through NAMES (resolved at start-up)."""
    name = spec.get("conversion_rule_name")
    if not name:
        return _rule_urn_or_error(spec.get("conversion_rule_id"), "", [])
    if name not in names:
        msg = f"{where}: conversion rule {name!r} was not resolved to an id at start-up"
        raise ConfigError(msg)
    return names[name]


def campaign_urn(value: str | int) -> str:
    """`urn:li:sponsoredCampaign:N` for a bare id or an already-full URN.

    The id is canonical (`0310000003` → 310000003), as LinkedIn writes it in its URNs.
    """
    bare = str(value).strip().removeprefix(CAMPAIGN_URN_PREFIX)
    if _RULE_ID_RE.fullmatch(bare):
        bare = str(int(bare))
    return CAMPAIGN_URN_PREFIX + bare


def _rule_ref(setting: str, stream: str, spec: t.Mapping[str, t.Any]) -> RuleRef:
    return RuleRef(
        setting=setting,
        stream=stream,
        urn=_rule_urn_or_error(spec.get("conversion_rule_id"), "", []),
        name=spec.get("conversion_rule_name") or None,
        declared={field: spec[key] for key, field in RULE_SETTINGS.items()
                  if spec.get(key) is not None},
        campaigns=tuple(dict.fromkeys(campaign_urn(c) for c in spec.get("campaigns") or ())),
    )


def _needs_account(streams: t.Mapping[str, t.Any]) -> list[str]:
    """Rules by name and campaign associations only make sense within one ad account."""
    for name, raw in streams.items():
        stream = raw or {}
        specs = [stream, *(_as_spec(e) for rules in (stream.get("rule_map") or {}).values()
                           for e in _as_list(rules))]
        if any(s.get("conversion_rule_name") or s.get("campaigns") for s in specs):
            return [f"streams.{name} names a rule by conversion_rule_name or lists campaigns: "
                    "set ad_account_id (the account those rules and campaigns belong to)"]
    return []


def _at_least(config: t.Mapping[str, t.Any], setting: str, default: int, minimum: int,
              errors: list[str]) -> int:
    """SETTING as a whole number of at least MINIMUM; DEFAULT when unset.

    The schema says the same (so `--about` shows it), but `Connection` is also built from
    configs the SDK never validated, and a bad value must not silently become another.
    """
    value = config.get(setting)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        errors.append(f"{setting} must be a whole number of at least {minimum}; got {value!r}")
        return default
    return value


def _url_problem(url: t.Any, *, base: bool) -> str | None:
    """Why requests could not send to URL (or, as a BASE that paths are appended to, would
    send elsewhere); None when it can. Parsed as urllib and urllib3 parse it, not by pattern.
    """
    if not isinstance(url, str):
        return "it is not text"
    if any(char.isspace() or not char.isprintable() for char in url):
        return "it contains spaces or control characters"
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "its host cannot be parsed"
    if parts.scheme not in ("http", "https"):
        return "the scheme must be http or https"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "the port must be a number from 1 to 65535"
    if not parts.hostname:
        return "it names no host"
    if parts.username is not None or parts.password is not None:
        return "it must not carry a user name or password"
    if base and (parts.query or parts.fragment or url.endswith(("?", "#"))):
        return "a base URL takes no query or fragment"
    if base and (parts.path.rstrip("/").endswith("/rest") or "/rest/" in parts.path):
        return "leave /rest out: the target adds /rest/... to the base URL itself"
    try:
        parse_url(url)
    except LocationParseError:
        return "it cannot be parsed"
    return None


def _secret_or_error(value: t.Any, setting: str, errors: list[str]) -> str | None:
    """VALUE without surrounding whitespace (a copy-paste often brings a line break), or None.

    What is left must be one unbroken run of visible characters: anything else could never be
    a LinkedIn credential, and in a header it would make `http.client` raise an error that
    quotes the header, token included. The messages name the setting, never the value. A
    refused value is still returned, so that it is not reported as missing too.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append(f"{setting} must be text")
        return None
    text = value.strip()
    if any(char.isspace() or not char.isprintable() for char in text):
        errors.append(f"{setting} contains spaces, line breaks or control characters inside "
                      "the value; paste it again as one unbroken string")
    return text or None


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
    if not _RULE_ID_RE.fullmatch(bare):
        errors.append(
            f"{setting} must be a numeric rule id or {RULE_URN_PREFIX}N; got {text!r}"
        )
        return None
    return RULE_URN_PREFIX + str(int(bare))  # canonical, as LinkedIn writes it: no leading 0


def _account_urn_or_error(value: t.Any, errors: list[str]) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    bare = str(value).strip().removeprefix(ACCOUNT_URN_PREFIX)
    if not _RULE_ID_RE.fullmatch(bare):  # ASCII digits only: "5²".isdigit() is true
        errors.append(f"ad_account_id must be a number or {ACCOUNT_URN_PREFIX}N; got {value!r}")
        return None
    return ACCOUNT_URN_PREFIX + str(int(bare))  # canonical, as LinkedIn writes it


def _check_stream(name: str, raw: t.Mapping[str, t.Any], errors: list[str], *,
                  version: str = DEFAULT_LINKEDIN_VERSION) -> None:
    prefix = f"streams.{name}"
    _check_rule_spec(prefix, raw, errors, version=version, own_rule_of_stream=True)
    if raw.get("rule_map") and not raw.get("rule_field"):
        errors.append(f"{prefix}.rule_map needs {prefix}.rule_field (the column to look up)")
    for value, rules in (raw.get("rule_map") or {}).items():
        where = f"{prefix}.rule_map[{value!r}]"
        if rules in (None, "", []):
            errors.append(f"{where} names no rule: give a rule id, a rule name or a list")
        for rule in _as_list(rules):
            if not isinstance(rule, t.Mapping):
                if rule in (None, ""):
                    errors.append(f"{where} holds an empty rule id")
                _rule_urn_or_error(rule, where, errors)
                continue
            unknown = sorted(set(rule) - set(_RULE_SPEC_KEYS))
            if unknown:
                errors.append(f"{where} has unknown keys {', '.join(unknown)}; allowed: "
                              f"{', '.join(_RULE_SPEC_KEYS)}")
            if not (rule.get("conversion_rule_id") or rule.get("conversion_rule_name")):
                errors.append(f"{where} needs conversion_rule_id or conversion_rule_name")
            _check_rule_spec(where, rule, errors, version=version)
    currency = raw.get("default_currency")
    if currency is not None and not re.fullmatch(r"[A-Za-z]{3}", str(currency)):
        errors.append(f"{prefix}.default_currency must be a 3-letter ISO-4217 code")


def _check_rule_spec(where: str, spec: t.Mapping[str, t.Any], errors: list[str], *,
                     version: str, own_rule_of_stream: bool = False) -> None:
    """Check a rule given by id or name and the rule settings beside it, against LinkedIn's
    enums and window rules, so a rule is never created or updated with a value LinkedIn
    refuses."""
    sep = "." if own_rule_of_stream else " "
    rule_id, name = spec.get("conversion_rule_id"), spec.get("conversion_rule_name")
    _rule_urn_or_error(rule_id, f"{where}{sep}conversion_rule_id".strip(), errors)
    if rule_id not in (None, "") and name not in (None, ""):
        errors.append(f"{where}: set conversion_rule_id or conversion_rule_name, not both")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        errors.append(f"{where}{sep}conversion_rule_name must be a non-empty text")
    described = [k for k in (*RULE_SETTINGS, "campaigns") if spec.get(k) is not None]
    if own_rule_of_stream and described and not (rule_id or name):
        errors.append(f"{where}.{described[0]} describes the stream's own rule: set "
                      f"{where}.conversion_rule_id or {where}.conversion_rule_name")
    rule_type = spec.get("conversion_rule_type")
    for key, allowed in (("conversion_rule_type", RULE_TYPES),
                         ("attribution_type", ATTRIBUTION_TYPES), ("value_type", VALUE_TYPES)):
        value = spec.get(key)
        if value is not None and value not in allowed:
            errors.append(f"{where}{sep}{key} must be one of {', '.join(allowed)}; got {value!r}")
    gate = RULE_TYPES_FROM_VERSION.get(str(rule_type))
    if gate is not None and version[:6].isdigit() and int(version[:6]) < gate:
        errors.append(f"{where}{sep}conversion_rule_type {rule_type} needs linkedin_version "
                      f"{gate} or later")
    for key in ("post_click_attribution_window_size", "view_through_attribution_window_size"):
        problem = window_problem(spec.get(key), rule_type)
        if problem:
            errors.append(f"{where}{sep}{key} {problem}")
    campaigns = spec.get("campaigns")
    if campaigns is not None and (not isinstance(campaigns, (list, tuple)) or not all(
            not isinstance(c, bool) and _RULE_ID_RE.fullmatch(
                str(c).strip().removeprefix(CAMPAIGN_URN_PREFIX)) for c in campaigns)):
        errors.append(f"{where}{sep}campaigns must be a list of campaign ids or "
                      f"{CAMPAIGN_URN_PREFIX}N")


def window_problem(size: t.Any, rule_type: str | None) -> str | None:
    """Why SIZE is not an attribution window LinkedIn allows for RULE_TYPE; None if it is.

    With RULE_TYPE unknown (None), 365 passes here and is checked against LinkedIn's type.
    """
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int):
        return f"must be a whole number of days; got {size!r}"
    if size in WINDOW_SIZES:
        return None
    if size == LONG_WINDOW and (rule_type is None or rule_type in LONG_WINDOW_TYPES):
        return None
    allowed = ", ".join(map(str, WINDOW_SIZES))
    if size == LONG_WINDOW:
        return (f"365 is only allowed for {', '.join(LONG_WINDOW_TYPES)}, not {rule_type}; "
                f"use one of {allowed}")
    return f"must be one of {allowed} (365 for {', '.join(LONG_WINDOW_TYPES)}); got {size}"
