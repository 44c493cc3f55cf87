"""Conversion rules at start-up: resolve names, check every rule, create, update, associate.

LinkedIn judges a rule only event by event, and misleadingly (a rule of another ad account
answers 403 "No ad accounts found"), so every rule the config names is looked up in
`ad_account_id` and checked before the first event is sent. Nothing here sends events.
"""

from __future__ import annotations

import dataclasses
import logging
import typing as t
import unicodedata
from urllib.parse import quote

from target_linkedin_conversions.client import retry_waits
from target_linkedin_conversions.errors import ConfigError, FatalAPIError, RetriableAPIError
from target_linkedin_conversions.settings import (
    ACCOUNT_URN_PREFIX,
    RULE_SETTINGS,
    RULE_URN_PREFIX,
    RuleRef,
    campaign_urn,
    rule_urn,
    window_problem,
)

if t.TYPE_CHECKING:
    from target_linkedin_conversions.client import LinkedInClient
    from target_linkedin_conversions.settings import Settings

LOGGER = logging.getLogger(__name__)

RULES_PATH = "/rest/conversions"
ASSOCIATIONS_PATH = "/rest/campaignConversions"
PAGE_SIZE = 100
ASSOCIATIONS_PER_CALL = 25  # keeps the `ids=List(...)` URL well under Rest.li's ~4,000 chars
CAMPAIGNS_PER_LOOKUP = 50  # ~45 characters per encoded campaign URN in `search=(id:...)`
_WINDOW_FIELDS = ("postClickAttributionWindowSize", "viewThroughAttributionWindowSize")
LISTED_RULES = 20
DRY_RUN_PLACEHOLDER = RULE_URN_PREFIX + "0"
_CREATE_ORDER = ("type", "attributionType", "postClickAttributionWindowSize",
                 "viewThroughAttributionWindowSize", "valueType")
_SETTING_OF = {field: key for key, field in RULE_SETTINGS.items()}


@dataclasses.dataclass(frozen=True)
class ResolvedRules:
    """The outcome of the start-up checks: rule names → URNs, and what was changed."""

    by_name: dict[str, str] = dataclasses.field(default_factory=dict)
    checked: tuple[str, ...] = ()
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    associations_added: int = 0


@dataclasses.dataclass
class _Wanted:
    """One distinct rule the config refers to (maybe from several places) and what it asks."""

    refs: list[RuleRef]
    urn: str | None
    name: str | None
    declared: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    campaigns: list[str] = dataclasses.field(default_factory=list)
    rule: dict[str, t.Any] | None = None
    missing: bool = False  # a name the account does not have (created only if allowed)
    create: bool = False

    @property
    def where(self) -> str:
        """The settings that name this rule, for messages."""
        return ", ".join(dict.fromkeys(ref.setting for ref in self.refs))

    @property
    def label(self) -> str:
        """`104001 'CAPI - Demo request'` once known, else the id or the name as configured."""
        if self.rule is not None:
            return describe(self.rule)
        return repr(self.name) if self.name else _bare(self.urn or "")


class RuleManager:
    """Resolves and checks the configured rules through LinkedIn's REST API, once per run."""

    def __init__(self, client: LinkedInClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.account_urn = settings.ad_account_urn
        self.requests = 0
        self._rules: list[dict[str, t.Any]] = []

    def prepare(self, *, dry_run: bool = False) -> ResolvedRules:
        """Check every rule before anything is sent; create, update and associate as asked.

        All checks first, then writes: LinkedIn cannot delete a rule, so nothing is created,
        updated or associated until everything LinkedIn could still refuse has been checked,
        read-only: each rule (found, usable, not ambiguous, no near-duplicate name to create),
        the declared settings merged over LinkedIn's current ones (a new type must allow the
        rule's current windows), contradictions between places naming the same rule (by id
        or by name), and every campaign to associate (it must exist in `ad_account_id`). All
        problems are raised together as one `ConfigError`. In DRY_RUN only the read-only
        lookups happen.
        """
        wanted = self._wanted(self.settings.rule_refs())
        if not wanted:
            return ResolvedRules()
        if dry_run and not _has_credentials(self.settings):
            return self._unchecked_dry_run(wanted)
        if self.account_urn is None:
            msg = ("ad_account_id is required to check the conversion rules before sending "
                   f"({wanted[0].where}); set it, or set check_rules to false")
            raise ConfigError(msg)

        rules = self._rules = self.find_rules()
        problems: list[str] = []
        for item in wanted:
            self._locate(item, rules)
        wanted = _by_rule(wanted)
        for item in wanted:
            self._check(item, rules, problems)
        campaign_problems = self._check_campaigns(wanted)
        if problems or campaign_problems:
            raise self._failure(problems, rules, campaign_problems)

        created = [self._create(item, dry_run) for item in wanted if item.create]
        updated = [item for item in wanted if self._reconcile(item, dry_run)]
        added = self._associate([item for item in wanted if item.campaigns], dry_run)
        resolved = ResolvedRules(
            by_name={ref.name: self._urn_of(item)
                     for item in wanted for ref in item.refs if ref.name},
            checked=tuple(self._urn_of(item) for item in wanted),
            created=tuple(created),
            updated=tuple(self._urn_of(item) for item in updated),
            associations_added=added,
        )
        LOGGER.info(
            "Conversion rules ready%s: %d checked, %d created, %d updated, %d campaign "
            "associations added (ad account %s: %d rules read; %d requests)",
            " (dry run: nothing changed)" if dry_run else "", len(wanted), len(created),
            len(updated), added, _bare(self.account_urn), len(rules), self.requests)
        return resolved

    def find_rules(self) -> list[dict[str, t.Any]]:
        """Every rule of the ad account, following all start/count pages.

        The next page starts at start + count, not after the rules received: a short page
        (LinkedIn leaves out what the member may not see) must not shift the offsets. A rule
        seen twice is kept once; with `paging.total` unknown (-1) paging ends at an empty
        page or one that brings nothing new.
        """
        account = quote(self.account_urn or "", safe="")
        rules: dict[t.Any, dict[str, t.Any]] = {}
        start = 0
        while True:
            query = f"q=account&account={account}&start={start}&count={PAGE_SIZE}"
            page = _rule_page(self._call("GET", RULES_PATH, query=query))
            before = len(rules)
            for rule in page["elements"]:
                rules.setdefault(rule.get("id"), rule)
            start += page["count"]
            total = page["total"]
            if not page["elements"] or len(rules) == before or 0 <= total <= start:
                return list(rules.values())

    def _wanted(self, refs: list[RuleRef]) -> list[_Wanted]:
        """REFS grouped by rule (id or name); only the ones this run must look up."""
        grouped: dict[tuple[str, str], _Wanted] = {}
        for ref in refs:
            key = ("name", _nfc(ref.name)) if ref.name else ("id", ref.urn or "")
            item = grouped.setdefault(key, _Wanted([], ref.urn, ref.name))
            item.refs.append(ref)
            item.campaigns.extend(c for c in ref.campaigns if c not in item.campaigns)
        wanted = [item for item in grouped.values()
                  if self.settings.check_rules or item.name
                  or any(ref.declared or ref.campaigns for ref in item.refs)]
        skipped = len(grouped) - len(wanted)
        if skipped:
            LOGGER.info("check_rules is false: %d conversion rule(s) given by id are not "
                        "checked before sending", skipped)
        return wanted

    def _locate(self, item: _Wanted, rules: list[dict[str, t.Any]]) -> None:
        """Find ITEM's rule among RULES (by id, or by name compared in NFC); no checks yet."""
        if item.urn is not None:
            found = [rule for rule in rules if rule_urn(rule.get("id", "")) == item.urn]
        else:
            name = _nfc(item.name)
            found = [rule for rule in rules if _nfc(rule.get("name")) == name]
            item.missing = not found
        usable = [rule for rule in found if unusable_reason(rule) is None]
        if len(usable) == 1 or (found and not usable):
            item.rule = (usable or found)[0]

    def _check(self, item: _Wanted, rules: list[dict[str, t.Any]], problems: list[str]) -> None:
        """Append every reason ITEM's rule cannot be used, created or updated as declared."""
        item.declared = _merged_declarations(item, problems)
        if item.missing:
            self._plan_creation(item, problems)
            return
        if item.rule is None and item.urn is not None:
            problems.append(
                f"{item.where}: conversion rule {_bare(item.urn)} is not in ad account "
                f"{_bare(self.account_urn)} (it does not exist or belongs to another "
                "account)")
            return
        if item.rule is None:
            usable = [rule for rule in rules if _nfc(rule.get("name")) == _nfc(item.name)
                      and unusable_reason(rule) is None]
            problems.append(
                f"{item.where}: {len(usable)} usable conversion rules are named "
                f"{item.name!r} ({', '.join(str(r['id']) for r in usable)}); name one by "
                "conversion_rule_id instead")
            return
        reason = unusable_reason(item.rule)
        if reason:
            problems.append(f"{item.where}: conversion rule {item.label} {reason}")
            return
        merged = {**item.rule, **item.declared}
        changes_type = (self.settings.update_rules and "type" in item.declared
                        and item.declared["type"] != item.rule.get("type"))
        for field in _WINDOW_FIELDS:
            if field in item.declared:
                problem = window_problem(item.declared[field], merged.get("type"))
                if problem:
                    problems.append(f"{item.where}: {_SETTING_OF[field]} {problem} (conversion "
                                    f"rule {item.label})")
            elif changes_type:
                # The update sets the type only; LinkedIn checks the whole rule it would make.
                problem = window_problem(item.rule.get(field), merged.get("type"))
                if problem:
                    problems.append(
                        f"{item.where}: conversion rule {item.label} has {_SETTING_OF[field]} "
                        f"{item.rule.get(field)} at LinkedIn, which the declared "
                        f"conversion_rule_type {merged.get('type')} does not allow ({problem}); "
                        f"declare {_SETTING_OF[field]} beside it")
        LOGGER.info("Conversion rule %s (%s) found for %s", item.label, item.rule.get("type"),
                    item.where)

    def _plan_creation(self, item: _Wanted, problems: list[str]) -> None:
        """A name the account does not have: create it if allowed and fully described.

        Never when the account has a rule whose name differs only in case, spaces or dashes:
        a near-duplicate (which LinkedIn cannot delete) is worse than stopping.
        """
        account = _bare(self.account_urn)
        near_miss = self._near_miss(item.name)
        if self.settings.create_missing_rules and near_miss:
            problems.append(
                f"{item.where}: ad account {account} has no conversion rule named "
                f"{item.name!r}{near_miss}; not creating a near-duplicate (LinkedIn cannot "
                "delete rules): give the exact name, or the rule's conversion_rule_id")
            return
        if not self.settings.create_missing_rules:
            problems.append(
                f"{item.where}: ad account {account} has no conversion rule named "
                f"{item.name!r}{near_miss}; create it in Campaign Manager, "
                "or set create_missing_rules (with the rule settings beside the name)")
            return
        missing = [key for key, field in RULE_SETTINGS.items() if field not in item.declared]
        if missing:
            problems.append(
                f"{item.where}: creating conversion rule {item.name!r} needs "
                f"{', '.join(missing)} beside the name")
            return
        item.create = True

    def _near_miss(self, name: str | None) -> str:
        """` (did you mean …?)` for a rule whose name differs only in case, spaces or dashes.

        Rule names often carry an en dash (U+2013) that people retype as a hyphen.
        """
        close = [rule for rule in self._rules if _loose(rule.get("name")) == _loose(name)]
        if not close:
            return ""
        return f" (did you mean {' or '.join(describe(rule) for rule in close)}?)"

    def _create(self, item: _Wanted, dry_run: bool) -> str:
        """Create ITEM's rule once; the caller looked it up by name just before."""
        body = {
            "name": item.name,
            "account": self.account_urn,
            "conversionMethod": "CONVERSIONS_API",
            "type": item.declared["type"],
            "enabled": True,
            **{field: item.declared[field] for field in _CREATE_ORDER[1:]},
        }
        if dry_run:
            LOGGER.info("Dry run: would create conversion rule %r in ad account %s for %s "
                        "(%s); its events are shown with rule id 0", item.name,
                        _bare(self.account_urn), item.where, _fields_text(body))
            return DRY_RUN_PLACEHOLDER
        response = None
        connection = self.client.settings
        attempts = connection.max_attempts
        waits = retry_waits(rng=self.client.rng)  # the client's policy: Retry-After, else jitter
        next(waits)
        waited = 0.0
        for attempt in range(1, attempts + 1):
            try:
                response = self._call("POST", RULES_PATH, body=body, retry=False)
                break
            except RetriableAPIError as exc:
                wait = waits.send(exc)
                last = attempt == attempts or waited + wait > connection.max_retry_seconds
                if not last:
                    LOGGER.warning("Creating conversion rule %r failed (attempt %d of %d); "
                                   "waiting %.1f s, then creating it again unless it exists "
                                   "by then", item.name, attempt, attempts, wait)
                    self.client.sleep(wait)
                    waited += wait
                # LinkedIn may have created it before the answer was lost: look, never repeat
                # a create that may have succeeded.
                again = self._named(item.name)
                if again is not None:
                    item.rule = again
                    break
                if last:
                    raise
        if response is not None:
            entity = _json_or_none(response)
            rule_id = (entity or {}).get("id") or response.headers.get("x-restli-id")
            if not rule_id:
                msg = f"LinkedIn created conversion rule {item.name!r} but returned no id"
                raise FatalAPIError(msg, status=response.status_code)
            item.rule = {**body, "campaigns": [], **(entity or {}), "id": int(rule_id)}
        LOGGER.info("Created conversion rule %s (%s) in ad account %s for %s", item.label,
                    item.rule.get("type"), _bare(self.account_urn), item.where)
        return rule_urn(item.rule["id"])

    def _named(self, name: str | None) -> dict[str, t.Any] | None:
        """The account's rule named NAME now (a fresh lookup), preferring a usable one."""
        found = [rule for rule in self.find_rules() if _nfc(rule.get("name")) == _nfc(name)]
        found.sort(key=lambda rule: unusable_reason(rule) is not None)
        return found[0] if found else None

    def _check_campaigns(self, wanted: list[_Wanted]) -> list[str]:
        """Every campaign still to associate exists in `ad_account_id`; read-only.

        LinkedIn refuses to associate a campaign of another account, but only after a rule
        may have been created. Campaigns already associated with their rule are not looked up.
        """
        where: dict[str, list[str]] = {}
        for item in wanted:
            have = set(item.rule.get("campaigns") or ()) if item.rule else set()
            for ref in item.refs:
                for campaign in ref.campaigns:
                    if campaign not in have and ref.setting not in where.setdefault(campaign, []):
                        where[campaign].append(ref.setting)
        campaigns = list(where)
        found: set[str] = set()
        for start in range(0, len(campaigns), CAMPAIGNS_PER_LOOKUP):
            found |= self._find_campaigns(campaigns[start:start + CAMPAIGNS_PER_LOOKUP])
        return [f"{', '.join(settings)}: campaign {_bare(campaign)} is not in ad account "
                f"{_bare(self.account_urn)} (it does not exist or belongs to another account); "
                "a conversion rule can only be associated with campaigns of its own ad account"
                for campaign, settings in where.items() if campaign not in found]

    def _find_campaigns(self, campaigns: list[str]) -> set[str]:
        """Which of CAMPAIGNS (URNs) the ad account has: one campaign search, all its pages."""
        path = f"/rest/adAccounts/{_bare(self.account_urn)}/adCampaigns"
        values = ",".join(quote(campaign, safe="") for campaign in campaigns)
        query = f"q=search&search=(id:(values:List({values})))"
        found: set[str] = set()
        token = None
        while True:
            response = self._call("GET", path, query=query + (
                f"&pageToken={quote(token, safe='')}" if token else ""))
            body = _json_or_none(response) or {}
            elements = body.get("elements")
            if not isinstance(elements, list) or not all(isinstance(e, dict) for e in elements):
                msg = "LinkedIn answered the campaign search with a body that is not a page"
                raise FatalAPIError(msg, status=response.status_code)
            found.update(campaign_urn(e["id"]) for e in elements
                         if e.get("account", self.account_urn) == self.account_urn
                         and _is_id(e.get("id")))
            next_token = (body.get("metadata") or {}).get("nextPageToken")
            if not next_token or next_token == token:
                return found
            token = str(next_token)

    def _reconcile(self, item: _Wanted, dry_run: bool) -> bool:
        """Warn about declared settings LinkedIn's rule does not have; patch them if asked."""
        if item.rule is None or item.create:
            return False
        changes = {field: value for field, value in item.declared.items()
                   if item.rule.get(field) != value}
        if not changes:
            return False
        differences = "; ".join(
            f"{field} is {item.rule.get(field)!r} at LinkedIn, {value!r} in {_SETTING_OF[field]}"
            for field, value in changes.items())
        if not self.settings.update_rules:
            LOGGER.warning("Conversion rule %s (%s) differs from the config: %s. Set "
                           "update_rules to change the rule.", item.label, item.where,
                           differences)
            return False
        if dry_run:
            LOGGER.warning("Dry run: conversion rule %s (%s) differs from the config: %s; "
                           "would update %s", item.label, item.where, differences,
                           ", ".join(changes))
            return False
        LOGGER.warning("Conversion rule %s (%s) differs from the config: %s; updating %s",
                       item.label, item.where, differences, ", ".join(changes))
        query = "account=" + quote(self.account_urn or "", safe="")
        self._call("POST", f"{RULES_PATH}/{item.rule['id']}", query=query,
                   body={"patch": {"$set": changes}}, restli_method="PARTIAL_UPDATE")
        item.rule.update(changes)
        return True

    def _associate(self, items: list[_Wanted], dry_run: bool) -> int:
        """Associate the configured campaigns with their rules; never removes one."""
        pairs: list[tuple[str, str, _Wanted]] = []
        for item in items:
            conversion = self._urn_of(item)
            have = set(item.rule.get("campaigns") or ()) if item.rule else set()
            new = [c for c in item.campaigns if c not in have]
            LOGGER.info("Conversion rule %s: %d of %d configured campaigns already associated",
                        item.label, len(item.campaigns) - len(new), len(item.campaigns))
            if dry_run and new:
                LOGGER.info("Dry run: would associate campaigns %s with conversion rule %s",
                            ", ".join(_bare(c) for c in new), item.label)
                continue
            pairs.extend((campaign, conversion, item) for campaign in new)
        problems: list[str] = []
        for start in range(0, len(pairs), ASSOCIATIONS_PER_CALL):
            problems += self._put_associations(pairs[start:start + ASSOCIATIONS_PER_CALL])
        if problems:
            raise ConfigError(*problems)
        if pairs:
            LOGGER.info("Associated %d campaign(s) with conversion rules", len(pairs))
        return len(pairs)

    def _put_associations(self, pairs: list[tuple[str, str, _Wanted]]) -> list[str]:
        """One batch PUT; returns a sentence per association LinkedIn refused."""
        keys = {association_key(campaign, conversion): (campaign, conversion, item)
                for campaign, conversion, item in pairs}
        query = "ids=List(" + ",".join(keys) + ")"
        body = {"entities": {key: {"campaign": campaign, "conversion": conversion}
                             for key, (campaign, conversion, _) in keys.items()}}
        response = self._call("PUT", ASSOCIATIONS_PATH, query=query, body=body,
                              restli_method="BATCH_UPDATE")
        refused = (_json_or_none(response) or {}).get("errors") or {}
        problems = []
        for key, error in refused.items():
            campaign, _, item = keys.get(key, ("?", "", None))
            message = error.get("message") if isinstance(error, dict) else error
            where = ", ".join(ref.setting for ref in item.refs if ref.campaigns) if item else key
            problems.append(f"{where}: LinkedIn refused to associate campaign {_bare(campaign)} "
                            f"with conversion rule {item.label if item else '?'}: {message}")
        return problems

    def _failure(self, problems: list[str], rules: list[dict[str, t.Any]],
                 campaign_problems: list[str]) -> ConfigError:
        """PROBLEMS plus the rules that would work, so the fix is one copy-paste away."""
        LOGGER.error("%d conversion rule problem(s); nothing was sent, created or changed",
                     len(problems) + len(campaign_problems))
        if not problems:
            return ConfigError(*campaign_problems)
        usable = [rule for rule in rules if unusable_reason(rule) is None]
        listed = ", ".join(describe(rule) for rule in usable[:LISTED_RULES]) or "none"
        if len(usable) > LISTED_RULES:
            listed += f" and {len(usable) - LISTED_RULES} more"
        return ConfigError(*problems, *campaign_problems, f"usable conversion rules in ad "
                           f"account {_bare(self.account_urn)} (enabled, CONVERSIONS_API): "
                           f"{listed}")

    def _unchecked_dry_run(self, wanted: list[_Wanted]) -> ResolvedRules:
        """A dry run without credentials cannot read rules: say so, and still build events."""
        LOGGER.warning("Dry run without credentials: %d conversion rule(s) are not checked; "
                       "rules given by name are shown with rule id 0", len(wanted))
        return ResolvedRules(by_name={ref.name: DRY_RUN_PLACEHOLDER
                                      for item in wanted for ref in item.refs if ref.name})

    def _urn_of(self, item: _Wanted) -> str:
        if item.rule is not None:
            return rule_urn(item.rule["id"])
        return item.urn or DRY_RUN_PLACEHOLDER

    def _call(self, method: str, path: str, **kwargs: t.Any) -> t.Any:
        """One request through the shared client; an unknown ad account is a config error."""
        self.requests += 1
        try:
            return self.client.request(method, path, **kwargs)
        except FatalAPIError as exc:
            if exc.status != 404 or path != RULES_PATH:
                raise
            msg = f"ad_account_id {_bare(self.account_urn)}: {exc}"
            raise ConfigError(msg) from None


def _rule_page(response: t.Any) -> dict[str, t.Any]:
    """The elements, total and count of one finder page; another shape is a clear error.

    No `elements` (or null) is an empty page only when `paging.total` does not promise rules.
    """
    try:
        page = response.json()
        paging = page.get("paging") or {}
        total = int(paging.get("total", -1))
        count = int(paging.get("count") or PAGE_SIZE)
        elements = page.get("elements")
        if elements is None and total <= 0:
            elements = []
    except (ValueError, AttributeError, TypeError):
        elements = None
    if not isinstance(elements, list) or not all(isinstance(e, dict) for e in elements):
        msg = "LinkedIn answered the conversion-rule finder with a body that is not a page"
        raise FatalAPIError(msg, status=getattr(response, "status_code", None))
    return {"elements": elements, "total": total, "count": count if count > 0 else PAGE_SIZE}


def association_key(campaign: str, conversion: str) -> str:
    """The Rest.li 2.0 compound key of a campaign and rule association.

    The URN values are percent-encoded (`:` → `%3A`); the parentheses, the colons after the
    key names and the comma between the parts stay literal.
    """
    return f"(campaign:{quote(campaign, safe='')},conversion:{quote(conversion, safe='')})"


def unusable_reason(rule: t.Mapping[str, t.Any]) -> str | None:
    """Why events cannot go to RULE; None when they can."""
    if rule.get("conversionMethod") != "CONVERSIONS_API":
        return (f"is not a Conversions API rule (conversionMethod "
                f"{rule.get('conversionMethod')}); events can only go to CONVERSIONS_API rules")
    if rule.get("enabled") is not True:
        return "is disabled (enabled is false); LinkedIn refuses events for it"
    return None


def describe(rule: t.Mapping[str, t.Any]) -> str:
    """`104001 'CAPI - Demo request'`: how messages name a rule."""
    return f"{rule.get('id')} {rule.get('name')!r}"


def _merged_declarations(item: _Wanted, problems: list[str]) -> dict[str, t.Any]:
    """The rule settings declared for ITEM across its places; a contradiction is a problem."""
    merged: dict[str, t.Any] = {}
    source: dict[str, str] = {}
    for ref in item.refs:
        for field, value in ref.declared.items():
            if field in merged and merged[field] != value:
                problems.append(
                    f"{source[field]} and {ref.setting} declare different {_SETTING_OF[field]} "
                    f"for conversion rule {item.label}: {merged[field]!r} and {value!r}")
                continue
            merged[field] = value
            source.setdefault(field, ref.setting)
    return merged


def _by_rule(wanted: list[_Wanted]) -> list[_Wanted]:
    """WANTED with the items that found the same rule (by id in one place, by name in
    another) merged into one, so their declarations are checked against each other and the
    rule is updated and associated once."""
    merged: dict[t.Any, _Wanted] = {}
    result = []
    for item in wanted:
        first = merged.setdefault(item.rule["id"], item) if item.rule is not None else item
        if first is item:
            result.append(item)
            continue
        first.refs.extend(item.refs)
        first.campaigns.extend(c for c in item.campaigns if c not in first.campaigns)
    return result


def _nfc(name: t.Any) -> str:
    """NAME as compared exactly: the same characters however they were composed (NFC)."""
    return unicodedata.normalize("NFC", str(name or ""))


_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"
                                 "\uff0d"), "-")
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))


def _loose(name: t.Any) -> str:
    """NAME compared loosely: NFKC, case-folded, dashes unified, invisible characters
    dropped, runs of spaces collapsed."""
    text = unicodedata.normalize("NFKC", str(name or "")).casefold()
    return " ".join(text.translate(_DASHES).translate(_INVISIBLE).split())


def _is_id(value: t.Any) -> bool:
    """A campaign id as LinkedIn returns it: a number (or its ASCII digits)."""
    return not isinstance(value, bool) and (
        isinstance(value, int) or (isinstance(value, str) and value.isascii()
                                   and value.isdigit()))


def _fields_text(body: t.Mapping[str, t.Any]) -> str:
    return ", ".join(f"{field} {body[field]}" for field in _CREATE_ORDER)


def _has_credentials(settings: Settings) -> bool:
    connection = settings.connection
    return bool(connection.access_token or connection.refresh_token)


def _json_or_none(response: t.Any) -> dict[str, t.Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _bare(urn: str | None) -> str:
    """The number at the end of an account, rule or campaign URN."""
    text = str(urn or "")
    for prefix in (ACCOUNT_URN_PREFIX, RULE_URN_PREFIX):
        text = text.removeprefix(prefix)
    return text.rsplit(":", 1)[-1]
