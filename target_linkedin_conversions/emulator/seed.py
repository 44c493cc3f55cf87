# ruff: noqa: RUF001 - LinkedIn rule names use an en dash; these are the exact seeded names.
"""The default world: active API versions, the sample ad accounts and their conversion rules.

The ids and names here are the ones the sample job and the tests refer to; change them only
together with those.
"""

from __future__ import annotations

import typing as t

from target_linkedin_conversions.emulator import seed_ads
from target_linkedin_conversions.emulator.world import World

SAMPLE_ACCOUNT_ID = 512345678
PARTNER_ACCOUNT_ID = 598765432

# 202512 never existed; versions up to 202511 are sunset in the emulated present.
ACTIVE_VERSIONS = frozenset(f"2026{month:02d}" for month in range(1, 12))

_CREATED_MS = 1_767_312_000_000  # 2026-01-02T00:00:00Z, a fixed and plausible creation time

_RULES: tuple[tuple[int, int, str, str, bool, str], ...] = (
    (104001, SAMPLE_ACCOUNT_ID, "CAPI – Demo request", "LEAD", True, "CONVERSIONS_API"),
    (104002, SAMPLE_ACCOUNT_ID, "CAPI – Purchase", "PURCHASE", True, "CONVERSIONS_API"),
    (104003, SAMPLE_ACCOUNT_ID, "CAPI – Sign-up", "SIGN_UP", True, "CONVERSIONS_API"),
    (104010, SAMPLE_ACCOUNT_ID, "CAPI – Old webinar", "LEAD", False, "CONVERSIONS_API"),
    (104020, SAMPLE_ACCOUNT_ID, "Website – Pricing page", "KEY_PAGE_VIEW", True,
     "INSIGHT_TAG_URL_MATCH_RULES"),
    (204001, PARTNER_ACCOUNT_ID, "CAPI – Partner lead", "LEAD", True, "CONVERSIONS_API"),
)


def account_urn(account_id: int) -> str:
    """The sponsoredAccount URN LinkedIn uses to reference an ad account."""
    return f"urn:li:sponsoredAccount:{account_id}"


def make_rule(rule_id: int, account_id: int, name: str, rule_type: str, *, enabled: bool = True,
              method: str = "CONVERSIONS_API") -> dict[str, t.Any]:
    """A conversion rule in the full shape LinkedIn returns on reads."""
    rule: dict[str, t.Any] = {
        "id": rule_id,
        "name": name,
        "account": account_urn(account_id),
        "conversionMethod": method,
        "enabled": enabled,
        "type": rule_type,
        "attributionType": "LAST_TOUCH_BY_CAMPAIGN",
        "postClickAttributionWindowSize": 30,
        "viewThroughAttributionWindowSize": 7,
        "valueType": "DYNAMIC",
        "campaigns": [],
        "created": _CREATED_MS,
        "lastModified": _CREATED_MS,
    }
    if method == "INSIGHT_TAG_URL_MATCH_RULES":
        rule["urlRules"] = [{"type": "STARTS_WITH", "matchValue": "https://acme.example/pricing"}]
    return rule


def _seed_accounts(world: World) -> None:
    """The two ad accounts the seeded rules live in (seed_ads may enrich or replace them)."""
    for account_id, name in ((SAMPLE_ACCOUNT_ID, "Acme Analytics"),
                             (PARTNER_ACCOUNT_ID, "Acme Partner Program")):
        world.ad_accounts[account_id] = {
            "id": account_id,
            "name": name,
            "currency": "EUR",
            "status": "ACTIVE",
            "type": "BUSINESS",
            "test": False,
            "reference": "urn:li:organization:10001",
        }


def default_world(tokens: t.Iterable[str] | None = None, *,
                  refresh_tokens: t.Iterable[str] | None = None,
                  client_id: str | None = None, client_secret: str | None = None) -> World:
    """A world with the sample accounts and rules, then the ad structure from seed_ads."""
    world = World(
        valid_tokens=set(tokens or ()),
        refresh_tokens=set(refresh_tokens or ()),
        active_versions=set(ACTIVE_VERSIONS),
    )
    if client_id is not None:
        world.client_id = client_id
    if client_secret is not None:
        world.client_secret = client_secret

    _seed_accounts(world)
    for rule_id, account_id, name, rule_type, enabled, method in _RULES:
        world.rules[rule_id] = make_rule(rule_id, account_id, name, rule_type, enabled=enabled,
                                         method=method)

    seed_ads.seed_ads(world)
    return world
