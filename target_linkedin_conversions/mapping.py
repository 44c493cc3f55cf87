"""One Singer record + its stream's settings → LinkedIn conversion events, or a rejection.

Pure: no HTTP, no logging of values. Everything LinkedIn would refuse is caught here, before a
single bad element can sink a 5,000-event batch (LinkedIn validates batches all-or-nothing).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import hashlib
import time
import typing as t

import msgspec

from target_linkedin_conversions import identifiers as ids
from target_linkedin_conversions.settings import EVENT_FIELDS

if t.TYPE_CHECKING:
    from target_linkedin_conversions.settings import StreamSettings

MS_PER_DAY = 86_400_000
MAX_EVENT_AGE_MS = 90 * MS_PER_DAY
# An event sent minutes after it was mapped must still be inside LinkedIn's 90 days.
SEND_MARGIN_MS = 3_600_000
EPOCH_SECONDS_LIMIT = 100_000_000_000  # below: seconds (until year 5138); above: milliseconds
# No real conversion is worth 10^30 of anything; "1e99999999" would become a 100 MB string.
_AMOUNT_DIGITS = 30


@dataclasses.dataclass(frozen=True)
class Rejection:
    """Why a record produces no event: a reason code for machines and a sentence for humans."""

    reason: str
    message: str
    event: dict[str, t.Any] | None = None


class Mapped(t.NamedTuple):
    """The events of one record (several when `rule_map` fans out) and dropped optional parts.

    A named tuple, not a dataclass: one is built per record, and that is the hot path.
    """

    events: list[dict[str, t.Any]]
    dropped: tuple[str, ...] = ()


def to_epoch_ms(value: t.Any) -> int:
    """Epoch milliseconds from ISO-8601 (with offset, naive = UTC, or date-only) or an epoch.

    Numbers (and numeric strings) below 1e11 are seconds, others milliseconds: no real
    conversion happened in 1973, and no epoch in seconds reaches 1e11 before the year 5138.
    """
    if isinstance(value, str):
        text = value.strip()
        if "-" in text[1:]:  # a date; a leading "-" alone would be a negative epoch
            return _iso_ms(text)
        value = text
    elif isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    elif isinstance(value, dt.datetime):
        return _datetime_ms(value)
    elif isinstance(value, dt.date):
        return _datetime_ms(dt.datetime(value.year, value.month, value.day))
    elif isinstance(value, int):
        return value * 1000 if abs(value) < EPOCH_SECONDS_LIMIT else value
    try:
        number = value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        raise ValueError("not an ISO-8601 time or an epoch number") from None
    return _epoch_number_ms(number)


def _iso_ms(text: str) -> int:
    if text.endswith("z"):
        text = text[:-1] + "Z"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not an ISO-8601 time or an epoch number") from None
    return _datetime_ms(parsed)


def _datetime_ms(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def _epoch_number_ms(number: decimal.Decimal) -> int:
    if not number.is_finite():
        raise ValueError("not a finite number")
    if abs(number) < EPOCH_SECONDS_LIMIT:
        number *= 1000
    return int(number)


def to_amount(value: t.Any) -> str:
    """LinkedIn's decimal string, exact: 19.9 stays "19.9", Decimal and big ints lose nothing."""
    if isinstance(value, decimal.Decimal):
        number = value
    elif isinstance(value, bool):
        raise ValueError("a boolean is not an amount")
    else:
        if isinstance(value, float):
            value = repr(value)  # the shortest text that round-trips, not the binary expansion
        try:
            number = decimal.Decimal(str(value).strip())
        except decimal.InvalidOperation:
            raise ValueError("amount is not a number") from None
    if not number.is_finite():
        raise ValueError("amount is not a finite number")
    if number < 0:
        raise ValueError("amount is negative")
    if number and not -_AMOUNT_DIGITS < number.adjusted() < _AMOUNT_DIGITS:
        raise ValueError(f"amount has more than {_AMOUNT_DIGITS} digits before or after the point")
    return format(number, "f")


class EventBuilder:
    """Builds the events of one stream; column names and rules are resolved once, not per row."""

    def __init__(
        self,
        stream: StreamSettings,
        *,
        key_properties: t.Sequence[str] = (),
        max_clock_skew_ms: int = 300_000,
        clock: t.Callable[[], float] = time.time,
    ) -> None:
        self.stream = stream
        self.key_properties = tuple(key_properties)
        self.max_clock_skew_ms = max_clock_skew_ms
        self.clock = clock
        self.columns = {field: stream.column(field) for field in EVENT_FIELDS}
        self._plain_id_columns = [(self.columns[field], id_type) for field, id_type in _PLAIN_IDS]
        self._fixed_rules = (
            (stream.conversion_rule,) if stream.conversion_rule and not stream.rule_field else ()
        )
        self._currencies: dict[t.Any, str | None] = {}

    def build(self, record: t.Mapping[str, t.Any]) -> Mapped | Rejection:
        """The events for RECORD, or the first reason it cannot be sent."""
        rules = self._fixed_rules or self._rules(record)
        if isinstance(rules, Rejection):
            return rules
        dropped: list[str] = []
        try:
            user = self._user(record, dropped)
            happened_at = self._happened_at(record)
            value = self._conversion_value(record)
        except _RecordProblemError as problem:
            return Rejection(problem.reason, str(problem))
        base: dict[str, t.Any] = {"conversionHappenedAt": happened_at}
        if value is not None:
            base["conversionValue"] = value
        events = []
        for rule in rules:
            event = {"conversion": rule, **base}
            event_id = self._event_id(record, rule)
            if event_id is not None:
                event["eventId"] = event_id
            event["user"] = user
            events.append(event)
        if not _has_identity(user):
            return Rejection(
                "no_identifier",
                "record has no usable identifier (email, sha256_email, li_fat_id, acxiom_id, "
                "ip_address, google_aid, lead_id, external_id, or first_name + last_name)",
                events[0],
            )
        return Mapped(events, tuple(dropped))

    def _rules(self, record: t.Mapping[str, t.Any]) -> tuple[str, ...] | Rejection:
        stream = self.stream
        if stream.rule_field:
            value = record.get(stream.rule_field)
            key = _map_key(value)
            if key is not None and key in stream.rule_map:
                return stream.rule_map[key]
            if stream.conversion_rule:
                return (stream.conversion_rule,)
            return Rejection(
                "no_conversion_rule",
                f"column '{stream.rule_field}' has a value with no entry in rule_map and stream "
                f"'{stream.name}' names no conversion_rule_id",
            )
        if stream.conversion_rule is None:
            return Rejection("no_conversion_rule", f"stream '{stream.name}' has no rule")
        return (stream.conversion_rule,)

    def _user(self, record: t.Mapping[str, t.Any], dropped: list[str]) -> dict[str, t.Any]:
        user: dict[str, t.Any] = {"userIds": self._user_ids(record, dropped)}
        user_info = self._user_info(record, dropped)
        if user_info:
            user["userInfo"] = user_info
        external_id = _text(record.get(self.columns["external_id"]))
        if external_id is not None:
            user["externalIds"] = [external_id]
        lead = _text(record.get(self.columns["lead_id"]))
        if lead is not None:
            prefix = "urn:li:leadGenFormResponse:"
            user["lead"] = lead if lead.startswith(prefix) else prefix + lead
        return user

    def _user_ids(self, record: t.Mapping[str, t.Any], dropped: list[str]) -> list[dict]:
        columns = self.columns
        user_ids = []
        email = ids.hashed_email(record.get(columns["email"]))
        if email is not None:
            user_ids.append({"idType": "SHA256_EMAIL", "idValue": email})
        raw = record.get(columns["sha256_email"])
        try:
            prehashed = None if raw is None else ids.prehashed_email(raw)
        except ValueError as exc:
            raise _RecordProblemError("invalid_sha256_email", str(exc)) from None
        if prehashed is not None and prehashed != email:
            user_ids.append({"idType": "SHA256_EMAIL", "idValue": prehashed})
        for column, id_type in self._plain_id_columns:
            value = _text(record.get(column))
            if value is not None:
                user_ids.append({"idType": id_type, "idValue": value})
        raw = record.get(columns["ip_address"])
        try:
            address = None if raw is None else ids.ipv4_address(raw)
        except ValueError:
            dropped.append("ip_address")
            address = None
        if address is not None:
            user_ids.append({"idType": "PLAINTEXT_IP_ADDRESS", "idValue": address})
        return user_ids

    def _user_info(self, record: t.Mapping[str, t.Any], dropped: list[str]) -> dict[str, str]:
        first = _text(record.get(self.columns["first_name"]))
        last = _text(record.get(self.columns["last_name"]))
        if first is None or last is None:
            return {}
        info = {"firstName": first, "lastName": last}
        for field, key in (("company_name", "companyName"), ("title", "title")):
            value = _text(record.get(self.columns[field]))
            if value is not None:
                info[key] = value
        raw = record.get(self.columns["country_code"])
        try:
            country = None if raw is None else ids.country_code(raw)
        except ValueError:
            dropped.append("country_code")
            country = None
        if country is not None:
            info["countryCode"] = country
        return info

    def _happened_at(self, record: t.Mapping[str, t.Any]) -> int:
        raw = record.get(self.columns["conversion_happened_at"])
        if raw is None or raw == "" or (raw.__class__ is str and raw.isspace()):
            raise _RecordProblemError(
                "missing_conversion_time",
                f"column '{self.columns['conversion_happened_at']}' is empty",
            )
        try:
            happened_at = to_epoch_ms(raw)
        except (ValueError, OverflowError, decimal.InvalidOperation) as exc:
            problem = f"conversion time: {exc}"
            raise _RecordProblemError("invalid_conversion_time", problem) from None
        now = int(self.clock() * 1000)
        if happened_at < now - MAX_EVENT_AGE_MS + SEND_MARGIN_MS:
            raise _RecordProblemError(
                "conversion_time_too_old",
                "conversion happened more than 90 days ago; LinkedIn refuses it",
            )
        if happened_at > now + self.max_clock_skew_ms:
            raise _RecordProblemError(
                "conversion_time_in_future",
                "conversion time is in the future beyond the allowed clock skew",
            )
        return min(happened_at, now)

    def _conversion_value(self, record: t.Mapping[str, t.Any]) -> dict[str, str] | None:
        raw_amount = record.get(self.columns["amount"])
        if raw_amount is None or (isinstance(raw_amount, str) and not raw_amount.strip()):
            return None
        raw_currency = record.get(self.columns["currency"])
        currency = self._currencies.get(raw_currency, _UNSEEN)
        if currency is _UNSEEN:  # a handful of distinct values per stream: check each once
            try:
                currency = ids.currency_code(raw_currency)
            except ValueError as exc:
                raise _RecordProblemError("invalid_currency", str(exc)) from None
            if len(self._currencies) < 1000:
                self._currencies[raw_currency] = currency
        currency = currency or (self.stream.default_currency or "").upper() or None
        if currency is None:
            return None
        try:
            amount = to_amount(raw_amount)
        except ValueError as exc:
            raise _RecordProblemError("invalid_amount", str(exc)) from None
        return {"currencyCode": currency, "amount": amount}

    def _event_id(self, record: t.Mapping[str, t.Any], rule: str) -> str | None:
        mapped = _text(record.get(self.columns["event_id"]))
        if mapped is not None:
            return mapped
        if not self.key_properties:
            return None
        keys = [record.get(k) for k in self.key_properties]
        return derived_event_id(self.stream.name, keys, rule)


def derived_event_id(stream_name: str, key_values: t.Sequence[t.Any], rule: str) -> str:
    """A stable eventId from the stream, its key values and the rule.

    Re-running the same rows yields the same ids, so LinkedIn can deduplicate the overlap of a
    resumed sync instead of counting it twice. Hashed, so keys (often emails) never leave raw.
    """
    material = _KEY_ENCODER.encode([stream_name, list(key_values), rule])
    return "sg-" + hashlib.sha256(material).hexdigest()[:40]


# Compact JSON, stable across runs and Python versions; anything exotic is encoded as its text.
_KEY_ENCODER = msgspec.json.Encoder(enc_hook=str, decimal_format="string")


class _RecordProblemError(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


_UNSEEN: t.Any = object()


def _text(value: t.Any) -> str | None:
    """`identifiers.text_or_none`, without a call for the common absent (None) column."""
    return None if value is None else ids.text_or_none(value)


def _map_key(value: t.Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _has_identity(user: dict[str, t.Any]) -> bool:
    return bool(user["userIds"] or user.get("userInfo") or user.get("externalIds")
                or user.get("lead"))


_PLAIN_IDS = (
    ("li_fat_id", "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID"),
    ("acxiom_id", "ACXIOM_ID"),
    ("google_aid", "GOOGLE_AID"),
)

