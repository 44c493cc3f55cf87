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
# From here on (year 5138 in milliseconds) an epoch is microseconds or nanoseconds.
EPOCH_MILLISECONDS_LIMIT = 100_000_000_000_000
_NOT_MILLISECONDS = "epoch number too large for milliseconds (microseconds or nanoseconds?)"
# No real conversion is worth 10^30 of anything; "1e99999999" would become a 100 MB string.
_AMOUNT_DIGITS = 30


@dataclasses.dataclass(frozen=True)
class Rejection:
    """Why a record produces no event: a reason code for machines and a sentence for humans."""

    reason: str
    message: str
    event: dict[str, t.Any] | None = None


class Mapped(t.NamedTuple):
    """The events of one record (several when `rule_map` fans out), dropped optional parts, and
    the match keys its events carry (`MATCH_KEYS` as bits; the events share one user).

    A named tuple, not a dataclass: one is built per record, and that is the hot path.
    """

    events: list[dict[str, t.Any]]
    dropped: tuple[str, ...] = ()
    match_keys: int = 0


# What the run summary counts per accepted event, since LinkedIn's match rate depends on it.
MATCH_KEYS = ("SHA256_EMAIL", "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID", "ACXIOM_ID",
              "GOOGLE_AID", "PLAINTEXT_IP_ADDRESS", "userInfo", "externalIds", "lead")
_KEY_BIT = {key: 1 << bit for bit, key in enumerate(MATCH_KEYS)}


def match_keys_of(user: t.Mapping[str, t.Any]) -> int:
    """The `MATCH_KEYS` an event's USER carries, one bit each."""
    bits = 0
    for entry in user["userIds"]:
        bits |= _KEY_BIT[entry["idType"]]
    for part in ("userInfo", "externalIds", "lead"):
        if part in user:
            bits |= _KEY_BIT[part]
    return bits


def to_epoch_ms(value: t.Any) -> int:
    """Epoch milliseconds from ISO-8601 (with offset, naive = UTC, or date-only) or an epoch.

    Numbers (and numeric strings) below 1e11 are seconds, others milliseconds: no real
    conversion happened in 1973, and no epoch in seconds reaches 1e11 before the year 5138.
    """
    if isinstance(value, str):
        text = value.strip()
        if "-" in text[1:] or "T" in text:  # a date (basic or extended ISO-8601), not an epoch
            return _iso_ms(text)
        if len(text) == 8 and text.isdigit():  # 20261204: an epoch would be 1970
            return _iso_ms(text)
        value = text
    elif isinstance(value, bool):
        raise ValueError("a boolean is not a time")
    elif isinstance(value, dt.datetime):
        return _datetime_ms(value)
    elif isinstance(value, dt.date):
        return _datetime_ms(dt.datetime(value.year, value.month, value.day))
    elif isinstance(value, int):
        if abs(value) < EPOCH_SECONDS_LIMIT:
            return value * 1000
        if abs(value) >= EPOCH_MILLISECONDS_LIMIT:
            raise ValueError(_NOT_MILLISECONDS)
        return value
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
    elif abs(number) >= EPOCH_MILLISECONDS_LIMIT:
        raise ValueError(_NOT_MILLISECONDS)
    return int(number)


def to_amount(value: t.Any) -> str:
    """LinkedIn's decimal string, exact: 19.9 stays "19.9", Decimal and big ints lose nothing."""
    if value.__class__ is float:
        text = repr(value)  # the shortest text that round-trips, not the binary expansion
        # Positional, non-negative and finite (repr switches to exponents below 1e-4 and from
        # 1e16, far inside the digit limit): already the decimal string LinkedIn wants.
        if text[0] != "-" and "e" not in text and "n" not in text:
            return text
        value = text
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
    if not number:
        number = abs(number)  # "-0" is zero
    if number and not -_AMOUNT_DIGITS < number.adjusted() < _AMOUNT_DIGITS:
        raise ValueError(f"amount has more than {_AMOUNT_DIGITS} digits before or after the point")
    return format(number, "f")


class EventBuilder:
    """Builds the events of one stream; column names and rules are resolved once, not per row.

    `build` runs once per record and is the target's hottest path: it reads each column
    once into a local and calls helpers only for values that are present, which keeps it at
    a few microseconds per record (see benchmarks/RESULTS.md).
    """

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
        self._plain_id_columns = tuple(
            (self.columns[field], id_type) for field, id_type in _PLAIN_IDS)
        self._info_columns = tuple(
            (self.columns[field], key) for field, key in _INFO_FIELDS)
        self._fixed_rules = (
            (stream.conversion_rule,) if stream.conversion_rule and not stream.rule_field else ()
        )
        self._default_currency = (stream.default_currency or "").upper() or None
        self._currencies: dict[t.Any, str | None] = {}

    def build(self, record: t.Mapping[str, t.Any]) -> Mapped | Rejection:
        """The events for RECORD, or the first reason it cannot be sent."""
        rules = self._fixed_rules or self._rules(record)
        if rules.__class__ is Rejection:
            return rules  # type: ignore[return-value]
        get = record.get
        replayed = get(REPLAY_RULES_COLUMN)
        if replayed is not None:
            if not (isinstance(replayed, list) and all(isinstance(r, str) for r in replayed)):
                return Rejection("invalid_value", f"column '{REPLAY_RULES_COLUMN}' (written by "
                                 "linkedin-conversions-replay) must be a list of rule URNs")
            rules = _replayed_rules(rules, replayed)  # type: ignore[arg-type]
        columns = self.columns
        dropped: list[str] = []
        try:
            user: dict[str, t.Any] = {"userIds": self._user_ids(get, columns, dropped)}
            first = get(columns["first_name"])
            last = get(columns["last_name"])
            if first is not None and last is not None:
                info = self._user_info(get, first, last, dropped)
                if info:
                    user["userInfo"] = info
            value = get(columns["external_id"])
            if value is not None:
                value = ids.text_or_none(value)
                if value is not None:
                    user["externalIds"] = [value]
            value = get(columns["lead_id"])
            if value is not None:
                value = ids.text_or_none(value)
                if value is not None:
                    user["lead"] = value if value.startswith(_LEAD_PREFIX) else _LEAD_PREFIX + value
            happened_at = self._happened_at(get(columns["conversion_happened_at"]))
            amount = get(columns["amount"])
            conversion_value = None if amount is None else self._conversion_value(get, amount)
            mapped_id = get(columns["event_id"])
            if mapped_id is not None:
                mapped_id = ids.text_or_none(mapped_id)
            events = []
            for rule in rules:
                event: dict[str, t.Any] = {"conversion": rule, "conversionHappenedAt": happened_at}
                if conversion_value is not None:
                    event["conversionValue"] = conversion_value
                event_id = mapped_id if mapped_id is not None else self._derived_id(record, rule)
                if event_id is not None:
                    event["eventId"] = event_id
                event["user"] = user
                events.append(event)
        except _RecordProblemError as problem:
            return Rejection(problem.reason, str(problem))
        except ids.NotTextError as exc:
            return Rejection("invalid_value", f"column '{self._column_not_text(record)}' {exc}")

        if not user["userIds"] and len(user) == 1:
            return Rejection(
                "no_identifier",
                "record has no usable identifier (email, sha256_email, li_fat_id, acxiom_id, "
                "ip_address, google_aid, lead_id, external_id, or first_name + last_name)",
                events[0],
            )
        return Mapped(events, tuple(dropped) if dropped else (), match_keys_of(user))

    def _column_not_text(self, record: t.Mapping[str, t.Any]) -> str:
        """The first mapped column whose value is a list, object or boolean (error path only)."""
        for column in self.columns.values():
            if isinstance(record.get(column), (bool, dict, list, tuple)):
                return column
        return "(unknown)"

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

    def _user_ids(self, get: t.Callable[[str], t.Any], columns: dict[str, str],
                  dropped: list[str]) -> list[dict[str, str]]:
        user_ids = []
        raw = get(columns["email"])
        email = None if raw is None else ids.hashed_email(raw)
        if email is not None:
            user_ids.append({"idType": "SHA256_EMAIL", "idValue": email})
        raw = get(columns["sha256_email"])
        if raw is not None:
            try:
                prehashed = ids.prehashed_email(raw)
            except ids.NotTextError:
                raise
            except ValueError as exc:
                raise _RecordProblemError("invalid_sha256_email", str(exc)) from None
            if prehashed is not None and prehashed != email:
                user_ids.append({"idType": "SHA256_EMAIL", "idValue": prehashed})
        for column, id_type in self._plain_id_columns:
            raw = get(column)
            if raw is not None:
                value = ids.text_or_none(raw)
                if value is not None:
                    user_ids.append({"idType": id_type, "idValue": value})
        raw = get(columns["ip_address"])
        if raw is not None:
            try:
                address = ids.ipv4_address(raw)
            except ValueError:
                dropped.append("ip_address")
                address = None
            if address is not None:
                user_ids.append({"idType": "PLAINTEXT_IP_ADDRESS", "idValue": address})
        return user_ids

    def _user_info(self, get: t.Callable[[str], t.Any], first: t.Any, last: t.Any,
                   dropped: list[str]) -> dict[str, str]:
        """userInfo, only with both names (LinkedIn refuses it otherwise)."""
        first = ids.text_or_none(first)
        last = ids.text_or_none(last)
        if first is None or last is None:
            return {}
        info = {"firstName": first, "lastName": last}
        for column, key in self._info_columns:
            raw = get(column)
            if raw is not None:
                value = ids.text_or_none(raw)
                if value is not None:
                    info[key] = value
        raw = get(self.columns["country_code"])
        if raw is not None:
            try:
                country = ids.country_code(raw)
            except ValueError:
                dropped.append("country_code")
                country = None
            if country is not None:
                info["countryCode"] = country
        return info

    def _happened_at(self, raw: t.Any) -> int:
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

    def _conversion_value(self, get: t.Callable[[str], t.Any],
                          raw_amount: t.Any) -> dict[str, str] | None:
        if raw_amount.__class__ is str and not raw_amount.strip():
            return None
        raw_currency = get(self.columns["currency"])
        cacheable = raw_currency is None or raw_currency.__class__ is str
        currency = self._currencies.get(raw_currency, _UNSEEN) if cacheable else _UNSEEN
        if currency is _UNSEEN:  # a handful of distinct values per stream: check each once
            try:
                currency = ids.currency_code(raw_currency)
            except ids.NotTextError:
                raise
            except ValueError as exc:
                raise _RecordProblemError("invalid_currency", str(exc)) from None
            if cacheable and len(self._currencies) < 1000:
                self._currencies[raw_currency] = currency
        currency = currency or self._default_currency
        if currency is None:
            return None
        try:
            amount = to_amount(raw_amount)
        except ValueError as exc:
            raise _RecordProblemError("invalid_amount", str(exc)) from None
        return {"currencyCode": currency, "amount": amount}

    def _derived_id(self, record: t.Mapping[str, t.Any], rule: str) -> str | None:
        key_properties = self.key_properties
        if not key_properties:
            return None
        keys = [record.get(key) for key in key_properties]
        if None in keys:
            # Every record with a null key would share one eventId, and LinkedIn would keep
            # only the first of them.
            missing = key_properties[keys.index(None)]
            raise _RecordProblemError(
                "missing_key_value",
                f"key property '{missing}' is missing or null, so no eventId can be derived for "
                "the record; fix the key or map event_id",
            )
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

# Set by linkedin-conversions-replay on a record whose events LinkedIn refused for only some of
# its rules: the URNs to send again, so that the accepted ones are not sent twice.
REPLAY_RULES_COLUMN = "__linkedin_replay_conversions"


def _replayed_rules(rules: tuple[str, ...], replayed: list[str]) -> tuple[str, ...]:
    """The RULES a replayed record was refused for; all of them when the stream's mapping has
    changed since (none of the refused rules is mapped any more)."""
    kept = tuple(rule for rule in rules if rule in replayed)
    return kept or rules


def _map_key(value: t.Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_LEAD_PREFIX = "urn:li:leadGenFormResponse:"
_INFO_FIELDS = (("company_name", "companyName"), ("title", "title"))
_PLAIN_IDS = (
    ("li_fat_id", "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID"),
    ("acxiom_id", "ACXIOM_ID"),
    ("google_aid", "GOOGLE_AID"),
)

