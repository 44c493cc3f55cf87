"""JSON schemas of the companion tap's streams, in LinkedIn's field names.

Conventions, so a loader sees one type per meaning across streams:
- numeric ids (`id`, `account_id`, `campaign_id`, `conversion_rule_id`) are integers, also where
  LinkedIn itself answers with an URN (a creative's id);
- references to other entities stay LinkedIn URNs, as strings (`account`, `campaignGroup`, ...),
  so they can be pasted into LinkedIn's API and into this project's target config as they are;
- LinkedIn's epoch-millisecond timestamps are date-time strings (converted in `post_process`).
"""

from __future__ import annotations

from singer_sdk import typing as th

_URN_LIST = th.ArrayType(th.StringType)

_AUDIT_STAMPS = th.ObjectType(
    th.Property("created", th.ObjectType(th.Property("time", th.DateTimeType))),
    th.Property("lastModified", th.ObjectType(th.Property("time", th.DateTimeType))),
)

_RUN_SCHEDULE = th.ObjectType(
    th.Property("start", th.DateTimeType),
    th.Property("end", th.DateTimeType),
)

_MONEY = th.ObjectType(
    th.Property("amount", th.StringType, description="Decimal amount, as LinkedIn sends it."),
    th.Property("currencyCode", th.StringType),
)

_ACCOUNT_ID = th.Property(
    "account_id", th.IntegerType, required=True, description="Numeric id of the ad account."
)

AD_ACCOUNT_USERS = th.PropertiesList(
    _ACCOUNT_ID,
    th.Property("account", th.StringType, required=True, description="urn:li:sponsoredAccount:N"),
    th.Property("user", th.StringType, required=True, description="The member's person URN."),
    th.Property(
        "role",
        th.StringType,
        description="ACCOUNT_BILLING_ADMIN, ACCOUNT_MANAGER, CAMPAIGN_MANAGER, CREATIVE_MANAGER or "
        "VIEWER. A VIEWER cannot create rules or send conversions for the account.",
    ),
    th.Property("campaignContact", th.BooleanType),
    th.Property("changeAuditStamps", _AUDIT_STAMPS),
).to_dict()

AD_ACCOUNTS = th.PropertiesList(
    th.Property("id", th.IntegerType, required=True, description="The target's `ad_account_id`."),
    th.Property("name", th.StringType),
    th.Property("currency", th.StringType),
    th.Property("status", th.StringType),
    th.Property("type", th.StringType),
    th.Property("test", th.BooleanType),
    th.Property("reference", th.StringType, description="Organization or person URN."),
    th.Property("servingStatuses", th.ArrayType(th.StringType)),
    th.Property("notifiedOnCampaignOptimization", th.BooleanType),
    th.Property("notifiedOnCreativeApproval", th.BooleanType),
    th.Property("notifiedOnCreativeRejection", th.BooleanType),
    th.Property("notifiedOnEndOfCampaign", th.BooleanType),
    th.Property("notifiedOnNewFeaturesEnabled", th.BooleanType),
    th.Property("changeAuditStamps", _AUDIT_STAMPS),
).to_dict()

CAMPAIGN_GROUPS = th.PropertiesList(
    th.Property("id", th.IntegerType, required=True),
    _ACCOUNT_ID,
    th.Property("account", th.StringType),
    th.Property("name", th.StringType),
    th.Property("status", th.StringType),
    th.Property("runSchedule", _RUN_SCHEDULE),
    th.Property("totalBudget", _MONEY),
    th.Property("test", th.BooleanType),
    th.Property("backfilled", th.BooleanType),
    th.Property("servingStatuses", th.ArrayType(th.StringType)),
    th.Property("changeAuditStamps", _AUDIT_STAMPS),
).to_dict()

CAMPAIGNS = th.PropertiesList(
    th.Property("id", th.IntegerType, required=True),
    _ACCOUNT_ID,
    th.Property("account", th.StringType),
    th.Property("campaignGroup", th.StringType, description="urn:li:sponsoredCampaignGroup:N"),
    th.Property("name", th.StringType),
    th.Property("status", th.StringType),
    th.Property("type", th.StringType),
    th.Property("objectiveType", th.StringType),
    th.Property("optimizationTargetType", th.StringType),
    th.Property("costType", th.StringType),
    th.Property("format", th.StringType),
    th.Property("dailyBudget", _MONEY),
    th.Property("totalBudget", _MONEY),
    th.Property("unitCost", _MONEY),
    th.Property(
        "locale",
        th.ObjectType(
            th.Property("country", th.StringType),
            th.Property("language", th.StringType),
        ),
    ),
    th.Property("runSchedule", _RUN_SCHEDULE),
    th.Property("test", th.BooleanType),
    th.Property("offsiteDeliveryEnabled", th.BooleanType),
    th.Property("audienceExpansionEnabled", th.BooleanType),
    th.Property("servingStatuses", th.ArrayType(th.StringType)),
    th.Property("changeAuditStamps", _AUDIT_STAMPS),
).to_dict()

CREATIVES = th.PropertiesList(
    th.Property("id", th.IntegerType, required=True, description="Numeric tail of `urn`."),
    th.Property("urn", th.StringType, description="urn:li:sponsoredCreative:N, LinkedIn's id."),
    _ACCOUNT_ID,
    th.Property("account", th.StringType),
    th.Property("campaign", th.StringType, description="urn:li:sponsoredCampaign:N"),
    th.Property("name", th.StringType),
    th.Property("intendedStatus", th.StringType),
    th.Property("isServing", th.BooleanType),
    th.Property("isTest", th.BooleanType),
    th.Property("servingHoldReasons", th.ArrayType(th.StringType)),
    th.Property(
        "content",
        th.ObjectType(th.Property("reference", th.StringType)),
        description="What the ad shows; usually a reference to a post.",
    ),
    th.Property("createdAt", th.DateTimeType),
    th.Property("createdBy", th.StringType),
    th.Property("lastModifiedAt", th.DateTimeType),
    th.Property("lastModifiedBy", th.StringType),
).to_dict()

CONVERSION_RULES = th.PropertiesList(
    th.Property("id", th.IntegerType, required=True, description="The target's "
                "`conversion_rule_id`."),
    _ACCOUNT_ID,
    th.Property("account", th.StringType),
    th.Property("name", th.StringType),
    th.Property(
        "conversionMethod",
        th.StringType,
        description="Only CONVERSIONS_API rules accept events from the target.",
    ),
    th.Property("enabled", th.BooleanType, description="false: events to the rule are refused."),
    th.Property("type", th.StringType),
    th.Property("attributionType", th.StringType),
    th.Property("postClickAttributionWindowSize", th.IntegerType, description="Days."),
    th.Property("viewThroughAttributionWindowSize", th.IntegerType, description="Days."),
    th.Property("valueType", th.StringType),
    th.Property("value", _MONEY),
    th.Property("ownershipType", th.StringType),
    th.Property("campaigns", _URN_LIST, description="Associated campaign URNs."),
    th.Property(
        "associatedCampaigns",
        th.ArrayType(th.ObjectType(
            th.Property("campaign", th.StringType),
            th.Property("conversion", th.StringType),
            th.Property("associatedAt", th.DateTimeType),
        )),
    ),
    th.Property(
        "urlRules",
        th.ArrayType(th.ObjectType(
            th.Property("type", th.StringType),
            th.Property("matchValue", th.StringType),
        )),
    ),
    th.Property("imagePixelTag", th.StringType),
    th.Property("lastCallbackAt", th.DateTimeType),
    th.Property("latestFirstPartyCallbackAt", th.DateTimeType),
    th.Property("created", th.DateTimeType),
    th.Property("lastModified", th.DateTimeType),
).to_dict()

CAMPAIGN_CONVERSIONS = th.PropertiesList(
    th.Property("campaign_id", th.IntegerType, required=True),
    th.Property("conversion_rule_id", th.IntegerType, required=True),
    _ACCOUNT_ID,
    th.Property("campaign", th.StringType, description="urn:li:sponsoredCampaign:N"),
    th.Property("conversion", th.StringType, description="urn:lla:llaPartnerConversion:N"),
    th.Property("associatedAt", th.DateTimeType),
).to_dict()
