"""Seeded ad accounts, campaign groups, campaigns, creatives and extra rules (owned by the
discovery/rules endpoints work; a no-op until that lands)."""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from target_linkedin_conversions.emulator.world import World


def seed_ads(world: World) -> None:
    """Add the realistic ad-account structure to WORLD."""
