"""Run counters: the match-key breakdown read off encoded bodies equals the per-event count."""

from __future__ import annotations

from target_linkedin_conversions.client import encode_batch
from target_linkedin_conversions.report import RunStats

EVENTS = [
    {"conversion": "urn:lla:llaPartnerConversion:1", "conversionHappenedAt": 1,
     "user": {"userIds": [{"idType": "SHA256_EMAIL", "idValue": "a" * 64},
                          {"idType": "PLAINTEXT_IP_ADDRESS", "idValue": "192.0.2.1"}],
              "userInfo": {"firstName": "lead", "lastName": "\"userInfo\":"}}},
    {"conversion": "urn:lla:llaPartnerConversion:1", "conversionHappenedAt": 1,
     "user": {"userIds": [], "lead": "urn:li:leadGenFormResponse:1",
              "externalIds": ["SHA256_EMAIL"]}},
]


def test_counting_the_encoded_batch_equals_counting_the_events() -> None:
    by_body, by_event = RunStats(), RunStats()
    by_body.accepted_batch(encode_batch(EVENTS), len(EVENTS))
    by_event.accepted(EVENTS)
    assert by_body.match_keys == by_event.match_keys == {
        "SHA256_EMAIL": 1, "PLAINTEXT_IP_ADDRESS": 1, "userInfo": 1, "lead": 1,
        "externalIds": 1}
    assert by_body.events_accepted == by_event.events_accepted == 2
