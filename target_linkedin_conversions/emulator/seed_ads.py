"""Seeded ad accounts, campaign groups, campaigns, creatives and extra conversion rules.

Everything is derived from fixed tables and a fixed random seed, so every emulator instance holds
the same objects and tests can name ids. The sizes are chosen to force paging: 340 campaigns and
340 creatives in the sample account (default pageSize 100) and 125 rules there (count=100).

Ids (all numeric):
- accounts: 512345678 (sample, BILLING_ADMIN), 598765432 (partner, CAMPAIGN_MANAGER),
  507654321 (CANCELED, ACCOUNT_MANAGER), 519876543 (test, VIEWER), 533333333 (no role);
- campaign groups 610000001..610000014, campaigns 3N0000001.. per account (N = 1..5 in the order
  above), creatives 710000001.. in campaign order, rules 105001..105120 in the sample account.
"""

from __future__ import annotations

import random
import typing as t

if t.TYPE_CHECKING:
    from target_linkedin_conversions.emulator.world import World

MEMBER_URN = "urn:li:person:qZ4xT0mE1u"
SAMPLE_ACCOUNT_ID = 512345678
PARTNER_ACCOUNT_ID = 598765432
CANCELED_ACCOUNT_ID = 507654321
TEST_ACCOUNT_ID = 519876543
FOREIGN_ACCOUNT_ID = 533333333

_SEED = 20260901
_BASE_MS = 1_740_787_200_000  # 2025-03-01T00:00:00Z
_DAY_MS = 86_400_000

# id, name, currency, status, test, role of the member (None: the member has no access)
_ACCOUNTS: tuple[tuple[int, str, str, str, bool, str | None], ...] = (
    (SAMPLE_ACCOUNT_ID, "Acme Analytics", "EUR", "ACTIVE", False, "ACCOUNT_BILLING_ADMIN"),
    (PARTNER_ACCOUNT_ID, "Acme Partner Program", "EUR", "ACTIVE", False, "CAMPAIGN_MANAGER"),
    (CANCELED_ACCOUNT_ID, "Acme Analytics (legacy USD)", "USD", "CANCELED", False,
     "ACCOUNT_MANAGER"),
    (TEST_ACCOUNT_ID, "Acme Analytics - API test account", "EUR", "ACTIVE", True, "VIEWER"),
    (FOREIGN_ACCOUNT_ID, "Globex Corporation", "USD", "ACTIVE", False, None),
)

# account id → campaign-group statuses (in id order)
_GROUPS: dict[int, tuple[str, ...]] = {
    SAMPLE_ACCOUNT_ID: ("ACTIVE", "ACTIVE", "PAUSED", "ARCHIVED", "DRAFT", "CANCELED"),
    PARTNER_ACCOUNT_ID: ("ACTIVE", "PAUSED", "ARCHIVED"),
    CANCELED_ACCOUNT_ID: ("CANCELED", "ARCHIVED"),
    TEST_ACCOUNT_ID: ("ACTIVE",),
    FOREIGN_ACCOUNT_ID: ("ACTIVE", "PAUSED"),
}

_STATUS_CYCLE = ("ACTIVE", "ACTIVE", "PAUSED", "ACTIVE", "ARCHIVED", "COMPLETED", "ACTIVE",
                 "PAUSED", "CANCELED", "DRAFT")
_ENDED_CYCLE = ("COMPLETED", "ARCHIVED", "CANCELED")

# account id → (first campaign id, number of campaigns, status cycle)
_CAMPAIGNS: dict[int, tuple[int, int, tuple[str, ...]]] = {
    SAMPLE_ACCOUNT_ID: (310_000_001, 340, _STATUS_CYCLE),
    PARTNER_ACCOUNT_ID: (320_000_001, 90, _STATUS_CYCLE),
    CANCELED_ACCOUNT_ID: (330_000_001, 24, _ENDED_CYCLE),
    TEST_ACCOUNT_ID: (340_000_001, 6, _STATUS_CYCLE),
    FOREIGN_ACCOUNT_ID: (350_000_001, 5, _STATUS_CYCLE),
}

_SERVING = {
    "ACTIVE": ["RUNNABLE"],
    "PAUSED": ["CAMPAIGN_STATUS_HOLD"],
    "DRAFT": ["CAMPAIGN_STATUS_HOLD"],
    "ARCHIVED": ["CAMPAIGN_STATUS_HOLD"],
    "COMPLETED": ["CAMPAIGN_END_DATE_HOLD"],
    "CANCELED": ["STOPPED"],
}

_OBJECTIVES = ("WEBSITE_CONVERSION", "LEAD_GENERATION", "WEBSITE_VISIT", "BRAND_AWARENESS",
               "ENGAGEMENT", "VIDEO_VIEW")
_CAMPAIGN_TYPES = ("SPONSORED_UPDATES", "SPONSORED_UPDATES", "TEXT_AD", "SPONSORED_INMAILS",
                   "DYNAMIC")
_PRODUCTS = ("Data Cloud", "Dashboards", "Forecasting", "Pipelines", "Notebooks", "Alerts")
_AUDIENCES = ("DACH IT leaders", "US data teams", "UK finance", "Nordics SMB", "Retargeting",
              "Lookalike EU", "CFO ABM list")

_RULE_FIRST_ID = 105_001
_RULE_COUNT = 120
_RULE_TYPES = ("PURCHASE", "LEAD", "QUALIFIED_LEAD", "SIGN_UP", "ADD_TO_CART", "BOOK_APPOINTMENT",
               "REQUEST_QUOTE", "START_TRIAL", "SUBMIT_APPLICATION", "DOWNLOAD", "CONTACT", "OTHER")
_LONG_WINDOW_TYPES = frozenset({"SUBMIT_APPLICATION", "PURCHASE", "ADD_TO_CART", "QUALIFIED_LEAD",
                                "LEAD"})
_SEEDED_ASSOCIATIONS = ((105_001, (310_000_001, 310_000_002, 310_000_004)),
                        (105_002, (310_000_001,)))


def account_urn(account_id: int) -> str:
    """The sponsoredAccount URN that every child entity carries."""
    return f"urn:li:sponsoredAccount:{account_id}"


def _stamps(created: int, modified: int) -> dict[str, t.Any]:
    """LinkedIn's changeAuditStamps block of the ad entities."""
    return {"created": {"time": created}, "lastModified": {"time": modified}}


def seed_ads(world: World) -> None:
    """Add the realistic ad-account structure and the extra rules to WORLD (deterministic)."""
    rng = random.Random(_SEED)  # noqa: S311 - reproducible fake data, not security
    with world.lock:
        _seed_accounts(world)
        groups = _seed_groups(world, rng)
        _seed_campaigns(world, rng, groups)
        _seed_creatives(world)
        _seed_rules(world, rng)
        _seed_associations(world)


def _seed_accounts(world: World) -> None:
    """Accounts and the member's roles; fields the core seed already set are kept as they are."""
    for index, (account_id, name, currency, status, test, role) in enumerate(_ACCOUNTS):
        created = _BASE_MS - (400 - 30 * index) * _DAY_MS
        entity = {
            "id": account_id,
            "name": name,
            "currency": currency,
            "status": status,
            "type": "BUSINESS",
            "test": test,
            "reference": f"urn:li:organization:{10001 + 2 * index}",
            "servingStatuses": ["RUNNABLE"] if status == "ACTIVE" else ["STOPPED"],
            "notifiedOnCampaignOptimization": False,
            "notifiedOnCreativeApproval": True,
            "notifiedOnCreativeRejection": True,
            "notifiedOnEndOfCampaign": False,
            "notifiedOnNewFeaturesEnabled": False,
            "changeAuditStamps": _stamps(created, created + 120 * _DAY_MS),
        }
        world.ad_accounts[account_id] = {**entity, **world.ad_accounts.get(account_id, {})}
        if role is not None:
            world.ad_account_users.append({
                "account": account_urn(account_id),
                "user": MEMBER_URN,
                "role": role,
                "campaignContact": role == "ACCOUNT_BILLING_ADMIN",
                "changeAuditStamps": _stamps(created, created),
            })


def _seed_groups(world: World, rng: random.Random) -> dict[int, list[int]]:
    """Campaign groups per account; returns account id → group ids for the campaigns."""
    groups: dict[int, list[int]] = {}
    group_id = 610_000_000
    for account_id, statuses in _GROUPS.items():
        for status in statuses:
            group_id += 1
            start = _BASE_MS + rng.randrange(0, 300) * _DAY_MS
            world.campaign_groups[group_id] = {
                "id": group_id,
                "name": f"{rng.choice(_PRODUCTS)} FY26 - {status.title()} group",
                "account": account_urn(account_id),
                "status": status,
                "runSchedule": {"start": start},
                "test": world.ad_accounts[account_id]["test"],
                "backfilled": False,
                "servingStatuses": _SERVING.get(status, ["STOPPED"]),
                "changeAuditStamps": _stamps(start - _DAY_MS, start + 10 * _DAY_MS),
            }
            groups.setdefault(account_id, []).append(group_id)
    return groups


def _seed_campaigns(world: World, rng: random.Random, groups: dict[int, list[int]]) -> None:
    """Campaigns with statuses from a fixed cycle, so counts per status are exact."""
    for account_id, (first_id, count, cycle) in _CAMPAIGNS.items():
        account = world.ad_accounts[account_id]
        for offset in range(count):
            status = cycle[offset % len(cycle)]
            group_id = groups[account_id][offset % len(groups[account_id])]
            world.campaigns[first_id + offset] = _campaign(
                rng, first_id + offset, account, group_id, status
            )


def _campaign(rng: random.Random, campaign_id: int, account: dict[str, t.Any], group_id: int,
              status: str) -> dict[str, t.Any]:
    """One campaign entity in LinkedIn's shape."""
    start = _BASE_MS + rng.randrange(0, 420) * _DAY_MS
    objective = rng.choice(_OBJECTIVES)
    schedule: dict[str, int] = {"start": start}
    if status == "COMPLETED":
        schedule["end"] = start + rng.randrange(14, 60) * _DAY_MS
    cost_type = "CPC" if objective in ("WEBSITE_CONVERSION", "WEBSITE_VISIT") else "CPM"
    return {
        "id": campaign_id,
        "name": f"{rng.choice(_PRODUCTS)} - {rng.choice(_AUDIENCES)} - {campaign_id % 10000:04d}",
        "account": account_urn(account["id"]),
        "campaignGroup": f"urn:li:sponsoredCampaignGroup:{group_id}",
        "status": status,
        "type": rng.choice(_CAMPAIGN_TYPES),
        "objectiveType": objective,
        "optimizationTargetType": "MAX_CONVERSION" if cost_type == "CPC" else "MAX_REACH",
        "costType": cost_type,
        "dailyBudget": {"amount": str(rng.choice((25, 50, 80, 150))),
                        "currencyCode": account["currency"]},
        "locale": {"country": "US", "language": "en"},
        "runSchedule": schedule,
        "test": account["test"],
        "servingStatuses": _SERVING[status],
        "changeAuditStamps": _stamps(start - 2 * _DAY_MS, start + rng.randrange(0, 60) * _DAY_MS),
    }


def _seed_creatives(world: World) -> None:
    """Campaign number k (1-based within its account) gets k % 3 creatives."""
    creative_id = 710_000_000
    for first_id, count, _cycle in _CAMPAIGNS.values():
        for offset in range(count):
            campaign = world.campaigns[first_id + offset]
            for index in range((offset + 1) % 3):
                creative_id += 1
                world.creatives[creative_id] = _creative(creative_id, campaign, index)


def _creative(creative_id: int, campaign: dict[str, t.Any], index: int) -> dict[str, t.Any]:
    """One creative in the versioned API's shape (its id is an URN)."""
    status = campaign["status"]
    intended = {"COMPLETED": "ACTIVE"}.get(status, status)
    if intended == "ACTIVE" and index > 0:
        intended = "PAUSED"
    created = campaign["changeAuditStamps"]["created"]["time"] + _DAY_MS
    return {
        "id": f"urn:li:sponsoredCreative:{creative_id}",
        "account": campaign["account"],
        "campaign": f"urn:li:sponsoredCampaign:{campaign['id']}",
        "intendedStatus": intended,
        "isServing": intended == "ACTIVE" and status == "ACTIVE",
        "isTest": campaign["test"],
        "content": {"reference": f"urn:li:share:{7_100_000_000_000 + creative_id}"},
        "servingHoldReasons": [] if status == "ACTIVE" else ["CAMPAIGN_STOPPED"],
        "createdAt": created,
        "createdBy": MEMBER_URN,
        "lastModifiedAt": created + 3 * _DAY_MS,
        "lastModifiedBy": MEMBER_URN,
    }


def _seed_rules(world: World, rng: random.Random) -> None:
    """Rules 105001..105120: every 10th an Insight Tag rule, else every 7th disabled."""
    for number in range(1, _RULE_COUNT + 1):
        rule_id = _RULE_FIRST_ID + number - 1
        world.rules[rule_id] = _rule(rng, rule_id, number)


def _rule(rng: random.Random, rule_id: int, number: int) -> dict[str, t.Any]:
    """One seeded rule in the full read shape (same keys as the core's rules)."""
    rule_type = _RULE_TYPES[number % len(_RULE_TYPES)]
    method = "CONVERSIONS_API"
    name = f"Warehouse - {rule_type.replace('_', ' ').capitalize()} {number:03d}"
    if number % 10 == 0:
        method = ("INSIGHT_TAG_JAVASCRIPT_EVENT" if number % 20 == 0
                  else "INSIGHT_TAG_URL_MATCH_RULES")
        rule_type = "KEY_PAGE_VIEW"
        name = f"Website - Key page {number:03d}"
    long_window = rule_type in _LONG_WINDOW_TYPES and number % 4 == 0
    created = _BASE_MS + rng.randrange(0, 420) * _DAY_MS
    rule: dict[str, t.Any] = {
        "id": rule_id,
        "name": name,
        "account": account_urn(SAMPLE_ACCOUNT_ID),
        "conversionMethod": method,
        "enabled": method != "CONVERSIONS_API" or number % 7 != 0,
        "type": rule_type,
        "attributionType": "LAST_TOUCH_BY_CONVERSION" if number % 3 == 0
        else "LAST_TOUCH_BY_CAMPAIGN",
        "postClickAttributionWindowSize": 365 if long_window else (30, 90, 7)[number % 3],
        "viewThroughAttributionWindowSize": (7, 1, 30)[number % 3],
        "valueType": ("DYNAMIC", "FIXED", "NO_VALUE")[number % 3],
        "campaigns": [],
        "created": created,
        "lastModified": created + rng.randrange(0, 60) * _DAY_MS,
    }
    if rule["valueType"] == "FIXED":
        rule["value"] = {"currencyCode": "EUR", "amount": "50.00"}
    if method == "INSIGHT_TAG_URL_MATCH_RULES":
        rule["urlRules"] = [{"type": "STARTS_WITH",
                             "matchValue": f"https://acme.example/page-{number:03d}"}]
    return rule


def _seed_associations(world: World) -> None:
    """A few campaign associations on seeded rules, mirrored in the rules' `campaigns` lists."""
    for rule_id, campaign_ids in _SEEDED_ASSOCIATIONS:
        rule = world.rules[rule_id]
        conversion = f"urn:lla:llaPartnerConversion:{rule_id}"
        for campaign_id in campaign_ids:
            campaign = f"urn:li:sponsoredCampaign:{campaign_id}"
            world.campaign_conversions[(campaign, conversion)] = {
                "campaign": campaign, "conversion": conversion, "associatedAt": rule["created"],
            }
            rule["campaigns"].append(campaign)
