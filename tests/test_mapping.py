"""Record → event mapping: every rule of the contract, with the exact event LinkedIn receives."""

from __future__ import annotations

import decimal

import pytest

from target_linkedin_conversions.mapping import (
    REPLAY_RULES_COLUMN,
    EventBuilder,
    Mapped,
    Rejection,
    derived_event_id,
    to_amount,
    to_epoch_ms,
)
from target_linkedin_conversions.settings import Settings

NOW_S = 1_796_300_000  # 2026-12-03T12:13:20Z
NOW_MS = NOW_S * 1000
DAY_MS = 86_400_000
JANE_SHA = "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"
RULE = "urn:lla:llaPartnerConversion:104001"


def builder(config: dict | None = None, stream: str = "leads", keys: tuple = ()) -> EventBuilder:
    settings = Settings.from_config({"access_token": "t", "conversion_rule_id": "104001",
                                     **(config or {})})
    return EventBuilder(settings.for_stream(stream), key_properties=keys, clock=lambda: NOW_S)


def events(record: dict, **kwargs: object) -> list[dict]:
    outcome = builder(**kwargs).build(record)  # type: ignore[arg-type]
    assert isinstance(outcome, Mapped), outcome
    return outcome.events


def rejection(record: dict, **kwargs: object) -> Rejection:
    outcome = builder(**kwargs).build(record)  # type: ignore[arg-type]
    assert isinstance(outcome, Rejection), outcome
    return outcome


def test_full_record_becomes_exactly_this_event() -> None:
    record = {
        "event_id": "order-481", "conversion_happened_at": NOW_MS - DAY_MS,
        "email": " Jane.Doe@Example.com ", "li_fat_id": "a1b2-c3", "acxiom_id": "AX-9",
        "ip_address": "192.0.2.10", "google_aid": "38400000-8cf0-11bd-b23e-10b96e40000d",
        "lead_id": "6543", "external_id": "crm-77", "first_name": "Jane", "last_name": "Doe",
        "company_name": "Analytical Engines", "title": "CTO", "country_code": "gb",
        "amount": "129.90", "currency": "eur", "unknown_column": "never sent",
    }
    assert events(record) == [{
        "conversion": RULE,
        "conversionHappenedAt": NOW_MS - DAY_MS,
        "conversionValue": {"currencyCode": "EUR", "amount": "129.90"},
        "eventId": "order-481",
        "user": {
            "userIds": [
                {"idType": "SHA256_EMAIL", "idValue": JANE_SHA},
                {"idType": "LINKEDIN_FIRST_PARTY_ADS_TRACKING_UUID", "idValue": "a1b2-c3"},
                {"idType": "ACXIOM_ID", "idValue": "AX-9"},
                {"idType": "GOOGLE_AID", "idValue": "38400000-8cf0-11bd-b23e-10b96e40000d"},
                {"idType": "PLAINTEXT_IP_ADDRESS", "idValue": "192.0.2.10"},
            ],
            "userInfo": {"firstName": "Jane", "lastName": "Doe",
                         "companyName": "Analytical Engines", "title": "CTO",
                         "countryCode": "GB"},
            "externalIds": ["crm-77"],
            "lead": "urn:li:leadGenFormResponse:6543",
        },
    }]


def test_field_mapping_reads_other_columns_and_stream_mapping_overrides() -> None:
    config = {
        "field_mapping": {"email": "contact_email", "conversion_happened_at": "ts"},
        "streams": {"leads": {"field_mapping": {"email": "work_email"}}},
    }
    record = {"ts": NOW_MS, "contact_email": "x@y.z", "work_email": "jane.doe@example.com"}
    assert events(record, config=config)[0]["user"]["userIds"] == [
        {"idType": "SHA256_EMAIL", "idValue": JANE_SHA}]


def test_user_ids_is_always_present_and_names_alone_identify() -> None:
    (event,) = events({"conversion_happened_at": NOW_MS, "first_name": "Grace",
                       "last_name": "Hopper"})
    assert event["user"] == {"userIds": [],
                             "userInfo": {"firstName": "Grace", "lastName": "Hopper"}}


def test_user_info_needs_both_names_and_extras_do_not_ride_alone() -> None:
    (event,) = events({"conversion_happened_at": NOW_MS, "email": "jane.doe@example.com",
                       "first_name": "Jane", "company_name": "ACME", "country_code": "US"})
    assert event["user"] == {"userIds": [{"idType": "SHA256_EMAIL", "idValue": JANE_SHA}]}


def test_record_without_identifier_is_rejected_with_the_event_as_built() -> None:
    result = rejection({"conversion_happened_at": NOW_MS, "email": "   ", "first_name": "Jo"})
    assert result.reason == "no_identifier"
    assert result.event == {"conversion": RULE, "conversionHappenedAt": NOW_MS,
                            "user": {"userIds": []}}


def test_email_and_its_hash_give_one_user_id_not_two() -> None:
    (event,) = events({"conversion_happened_at": NOW_MS, "email": "jane.doe@example.com",
                       "sha256_email": JANE_SHA.upper()})
    assert event["user"]["userIds"] == [{"idType": "SHA256_EMAIL", "idValue": JANE_SHA}]


def test_bad_prehashed_email_is_rejected() -> None:
    assert rejection({"conversion_happened_at": NOW_MS,
                      "sha256_email": "jane@x.com"}).reason == "invalid_sha256_email"


def test_ipv6_and_bad_country_are_left_out_and_counted() -> None:
    outcome = builder().build({"conversion_happened_at": NOW_MS, "ip_address": "2001:db8::1",
                               "first_name": "A", "last_name": "B", "country_code": "GBR"})
    assert isinstance(outcome, Mapped)
    assert outcome.events[0]["user"] == {"userIds": [],
                                         "userInfo": {"firstName": "A", "lastName": "B"}}
    assert outcome.dropped == ("ip_address", "country_code")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-12-01T10:00:00+02:00", 1_796_112_000_000),
        ("2026-12-01T08:00:00Z", 1_796_112_000_000),
        ("2026-12-01T08:00:00", 1_796_112_000_000),  # naive = UTC
        ("2026-12-01", 1_796_083_200_000),  # date-only = midnight UTC
        (1_796_112_000, 1_796_112_000_000),  # epoch seconds
        (1_796_112_000_123, 1_796_112_000_123),  # epoch milliseconds
        ("1796112000", 1_796_112_000_000),
        (decimal.Decimal("1796112000.5"), 1_796_112_000_500),
    ],
)
def test_conversion_time_forms(raw: object, expected: int) -> None:
    assert to_epoch_ms(raw) == expected


def test_time_window_is_checked_before_sending() -> None:
    assert rejection({"conversion_happened_at": NOW_MS - 91 * DAY_MS,
                      "email": "a@b.co"}).reason == "conversion_time_too_old"
    assert rejection({"conversion_happened_at": NOW_MS + 3_600_000,
                      "email": "a@b.co"}).reason == "conversion_time_in_future"
    assert rejection({"conversion_happened_at": "yesterday",
                      "email": "a@b.co"}).reason == "invalid_conversion_time"
    assert rejection({"email": "a@b.co"}).reason == "missing_conversion_time"


def test_small_clock_skew_is_clamped_to_now() -> None:
    (event,) = events({"conversion_happened_at": NOW_MS + 60_000, "email": "a@b.co"})
    assert event["conversionHappenedAt"] == NOW_MS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(19.9, "19.9"), (decimal.Decimal("19.90"), "19.90"), ("129.90", "129.90"), (0, "0"),
     (12345678901234567890, "12345678901234567890"),
     (decimal.Decimal("1E+3"), "1000"), (0.1 + 0.2, "0.30000000000000004")],
)
def test_amount_is_an_exact_decimal_string(raw: object, expected: str) -> None:
    assert to_amount(raw) == expected


def test_conversion_value_needs_both_parts_and_default_currency_fills_in() -> None:
    base = {"conversion_happened_at": NOW_MS, "email": "a@b.co"}
    assert "conversionValue" not in events({**base, "amount": 10})[0]
    assert "conversionValue" not in events({**base, "currency": "EUR"})[0]
    config = {"streams": {"leads": {"default_currency": "usd"}}}
    assert events({**base, "amount": 10}, config=config)[0]["conversionValue"] == {
        "currencyCode": "USD", "amount": "10"}
    assert rejection({**base, "amount": "ten", "currency": "EUR"}).reason == "invalid_amount"
    assert rejection({**base, "amount": 1, "currency": "EURO"}).reason == "invalid_currency"


def test_event_id_is_derived_from_stream_keys_and_rule_when_none_is_mapped() -> None:
    record = {"id": 42, "conversion_happened_at": NOW_MS, "email": "a@b.co"}
    (event,) = events(record, keys=("id",))
    assert event["eventId"] == derived_event_id("leads", [42], RULE)
    assert event["eventId"] == events(dict(record), keys=("id",))[0]["eventId"]
    assert event["eventId"].startswith("sg-") and len(event["eventId"]) == 43
    assert derived_event_id("leads", [43], RULE) != event["eventId"]
    assert "eventId" not in events(record)[0]


RULE_MAP_CONFIG = {
    "streams": {"events": {"rule_field": "kind",
                           "rule_map": {"demo": "104001", "purchase": ["104002", "104003"]}}},
}


def test_rule_map_routes_by_column_value_and_fans_out() -> None:
    base = {"conversion_happened_at": NOW_MS, "email": "a@b.co"}
    assert [e["conversion"] for e in events({**base, "kind": "demo"}, config=RULE_MAP_CONFIG,
                                            stream="events")] == [RULE]
    assert [e["conversion"] for e in events({**base, "kind": "purchase"},
                                            config=RULE_MAP_CONFIG, stream="events")] == [
        "urn:lla:llaPartnerConversion:104002", "urn:lla:llaPartnerConversion:104003"]


def test_unmapped_rule_value_is_rejected_never_sent_to_the_global_rule() -> None:
    base = {"conversion_happened_at": NOW_MS, "email": "a@b.co"}
    for kind in ("webinar", None):
        result = rejection({**base, "kind": kind}, config=RULE_MAP_CONFIG, stream="events")
        assert result.reason == "no_conversion_rule"


def test_unmapped_rule_value_goes_to_the_streams_own_rule() -> None:
    config = {"streams": {"events": {**RULE_MAP_CONFIG["streams"]["events"],
                                     "conversion_rule_id": "urn:lla:llaPartnerConversion:104003"}}}
    base = {"conversion_happened_at": NOW_MS, "email": "a@b.co", "kind": "webinar"}
    assert events(base, config=config, stream="events")[0]["conversion"] == (
        "urn:lla:llaPartnerConversion:104003")


# --- values that are not what they claim to be (found by adversarial runs) -----------------

@pytest.mark.parametrize(("column", "value", "kind"), [
    ("email", ["jane.doe@example.com"], "JSON array"), ("li_fat_id", {"x": 1}, "JSON object"),
    ("external_id", True, "boolean"), ("sha256_email", [JANE_SHA], "JSON array"),
    ("currency", ["EUR"], "JSON array"), ("event_id", False, "boolean"),
])
def test_list_object_or_boolean_in_a_text_column_is_rejected_not_sent_as_python_text(
        column: str, value: object, kind: str) -> None:
    record = {"conversion_happened_at": NOW_MS, "email": "a@b.co", "amount": 5, column: value}
    result = rejection(record)
    assert (result.reason, result.message) == ("invalid_value",
                                               f"column '{column}' holds a {kind}, not text")


def test_unusable_ip_or_country_of_the_wrong_type_is_left_out_like_a_malformed_one() -> None:
    outcome = builder().build({"conversion_happened_at": NOW_MS, "email": "a@b.co",
                               "ip_address": ["192.0.2.1"], "first_name": "A",
                               "last_name": "B", "country_code": {"iso": "GB"}})
    assert isinstance(outcome, Mapped)
    assert outcome.dropped == ("ip_address", "country_code")


def test_null_key_property_is_rejected_instead_of_sharing_one_event_id() -> None:
    result = rejection({"id": None, "conversion_happened_at": NOW_MS, "email": "a@b.co"},
                       keys=("id",))
    assert (result.reason, result.message) == (
        "missing_key_value", "key property 'id' is missing or null, so no eventId can be "
        "derived for the record; fix the key or map event_id")
    mapped = {"id": None, "event_id": "order-1", "conversion_happened_at": NOW_MS,
              "email": "a@b.co"}
    assert events(mapped, keys=("id",))[0]["eventId"] == "order-1"


def test_compact_iso_times_and_microsecond_epochs() -> None:
    assert to_epoch_ms("20261201T080000Z") == 1_796_112_000_000
    for too_fine in (1_796_112_000_000_000, "1796112000000000"):
        with pytest.raises(ValueError, match="too large for milliseconds"):
            to_epoch_ms(too_fine)
    result = rejection({"conversion_happened_at": 1_796_112_000_000_000, "email": "a@b.co"})
    assert result.reason == "invalid_conversion_time"


@pytest.mark.parametrize(("raw", "expected"), [("-0", "0"), ("-0.00", "0.00"), (-0.0, "0.0")])
def test_negative_zero_amount_is_zero(raw: object, expected: str) -> None:
    assert to_amount(raw) == expected


def test_replayed_record_sends_only_the_rules_it_was_refused_for() -> None:
    base = {"conversion_happened_at": NOW_MS, "email": "a@b.co", "kind": "purchase"}
    refused = "urn:lla:llaPartnerConversion:104003"
    replayed = {**base, REPLAY_RULES_COLUMN: [refused]}
    assert [e["conversion"] for e in events(replayed, config=RULE_MAP_CONFIG,
                                            stream="events")] == [refused]
    # The mapping changed since (104003 no longer mapped): every current rule is sent.
    stale = {**base, REPLAY_RULES_COLUMN: ["urn:lla:llaPartnerConversion:999"]}
    assert len(events(stale, config=RULE_MAP_CONFIG, stream="events")) == 2


def test_a_junk_replay_column_is_a_reject_not_a_crash() -> None:
    base = {"conversion_happened_at": NOW_MS, "email": "a@b.co", "kind": "purchase"}
    for junk in ([[1]], [{"a": 1}], "urn:lla:llaPartnerConversion:104003"):
        result = rejection({**base, REPLAY_RULES_COLUMN: junk}, config=RULE_MAP_CONFIG,
                           stream="events")
        assert (result.reason, result.message) == (
            "invalid_value", "column '__linkedin_replay_conversions' (written by "
            "linkedin-conversions-replay) must be a list of rule URNs")


def test_a_basic_iso_date_is_a_date_not_an_epoch() -> None:
    assert to_epoch_ms("20261201") == to_epoch_ms("2026-12-01") == 1_796_083_200_000
