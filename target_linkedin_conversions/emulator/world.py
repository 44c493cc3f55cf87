"""The emulator's in-memory LinkedIn: tokens, ad objects, rules and what was accepted.

Every endpoint module reads and writes this one object under `world.lock`.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import typing as t


@dataclasses.dataclass
class World:
    """State shared by all endpoints of one emulator instance.

    Shapes follow LinkedIn's JSON so handlers can return entities as stored:
    - `rules[id]`: {"id", "name", "account": "urn:li:sponsoredAccount:N", "conversionMethod",
      "enabled", "type", "attributionType", "postClickAttributionWindowSize",
      "viewThroughAttributionWindowSize", "valueType", "campaigns": [...], "created",
      "lastModified"}
    - `ad_accounts[id]`: {"id", "name", "currency", "status", "type", "test", "reference"}
    - `campaign_groups[id]`, `campaigns[id]`, `creatives[id]`: LinkedIn entity dicts, each with
      an "account" URN.
    - `campaign_conversions`: (campaign URN, conversion URN) → {"campaign", "conversion",
      "associatedAt"}
    - `ad_account_users`: {"user", "account", "role"} rows for the authenticated member.
    - `accepted_events`: {"seq", "index", "receivedAt", "version", "event"} records, one per
      accepted event, in order; `seq` numbers the accepted conversionEvents requests from 1.
    - `rejected_event_ids`: eventId → message of a schema error that fails the whole request;
      `failed_event_ids`: eventId → (status, message) of an element that fails inside a 200.
    - `clock`: epoch seconds, injectable so tests can pin "now" for the 90-day window.
    """

    valid_tokens: set[str] = dataclasses.field(default_factory=set)
    refresh_tokens: set[str] = dataclasses.field(default_factory=set)
    client_id: str = "emulator-client"
    client_secret: str = "emulator-secret"  # noqa: S105 - a fake credential of the fake server
    active_versions: set[str] = dataclasses.field(default_factory=set)
    rules: dict[int, dict[str, t.Any]] = dataclasses.field(default_factory=dict)
    ad_accounts: dict[int, dict[str, t.Any]] = dataclasses.field(default_factory=dict)
    campaign_groups: dict[int, dict[str, t.Any]] = dataclasses.field(default_factory=dict)
    campaigns: dict[int, dict[str, t.Any]] = dataclasses.field(default_factory=dict)
    creatives: dict[int, dict[str, t.Any]] = dataclasses.field(default_factory=dict)
    campaign_conversions: dict[tuple[str, str], dict[str, t.Any]] = dataclasses.field(
        default_factory=dict
    )
    ad_account_users: list[dict[str, t.Any]] = dataclasses.field(default_factory=list)
    accepted_events: list[dict[str, t.Any]] = dataclasses.field(default_factory=list)
    expired_tokens: set[str] = dataclasses.field(default_factory=set)
    clock: t.Callable[[], float] = time.time
    event_seq: int = 0
    seen_event_keys: set[tuple[str, str]] = dataclasses.field(default_factory=set)
    duplicate_event_ids: int = 0
    rejected_event_ids: dict[str, str] = dataclasses.field(default_factory=dict)
    failed_event_ids: dict[str, tuple[int, str]] = dataclasses.field(default_factory=dict)
    lock: threading.RLock = dataclasses.field(default_factory=threading.RLock)
    next_id: int = 900_000_000

    def new_id(self) -> int:
        """A fresh numeric id for created entities."""
        with self.lock:
            self.next_id += 1
            return self.next_id

    def now_ms(self) -> int:
        """The emulator's current time in epoch milliseconds."""
        return int(self.clock() * 1000)
