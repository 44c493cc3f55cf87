"""Run counters: the match-key breakdown of accepted events, from the bits the mapping sets."""

from __future__ import annotations

from target_linkedin_conversions.mapping import match_keys_of
from target_linkedin_conversions.report import RunStats

USERS = [
    {"userIds": [{"idType": "SHA256_EMAIL", "idValue": "a" * 64},
                 {"idType": "SHA256_EMAIL", "idValue": "b" * 64},
                 {"idType": "PLAINTEXT_IP_ADDRESS", "idValue": "192.0.2.1"}],
     "userInfo": {"firstName": "lead", "lastName": "\"userInfo\":"}},
    {"userIds": [], "lead": "urn:li:leadGenFormResponse:1", "externalIds": ["SHA256_EMAIL"]},
    {"userIds": [{"idType": "GOOGLE_AID", "idValue": "x"}]},
]


def test_accepted_events_are_counted_once_per_match_key_they_carry() -> None:
    stats = RunStats()
    bits = [match_keys_of(user) for user in USERS]
    stats.accepted(4, {bits[0]: 2, bits[1]: 1, bits[2]: 1})
    assert stats.events_accepted == 4
    assert stats.match_keys == {"SHA256_EMAIL": 2, "PLAINTEXT_IP_ADDRESS": 2, "userInfo": 2,
                                "lead": 1, "externalIds": 1, "GOOGLE_AID": 1}
