"""singer-sdk's standard tap tests, run against the local LinkedIn emulator."""

from __future__ import annotations

import typing as t

import pytest
from singer_sdk.testing import get_tap_test_class

from target_linkedin_conversions.emulator import Emulator
from target_linkedin_conversions.tap import TapLinkedInConversions
from tests.conftest import EMULATOR_TOKEN

# The emulator's port is known only once it runs. The SDK's runner keeps this very dict and
# reads it when it syncs, after the class fixture below has pointed it at the emulator; until
# then it names a closed local port, so a mistake can never reach api.linkedin.com.
CONFIG: dict[str, t.Any] = {
    "access_token": EMULATOR_TOKEN,
    "api_base_url": "http://127.0.0.1:9",
}

# Every standard test runs; none is excluded. The schemas declare fields LinkedIn documents but
# the emulator does not seed (budgets, callback times, ownershipType, ...), so the SDK's
# "Fields in transformed catalog but not in records" warning is expected and silenced.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Fields in transformed catalog but not in records:UserWarning"
)

_StandardTests = get_tap_test_class(
    TapLinkedInConversions,
    config=CONFIG,
    parse_env_config=False,
)


class TestTapLinkedInConversions(_StandardTests):  # type: ignore[misc,valid-type]
    """The standard suite: CLI, discovery, one full sync, per-stream and per-attribute checks."""

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def emulator(cls) -> t.Iterator[Emulator]:
        """Started before the class-scoped runner syncs (autouse fixtures of a scope go first)."""
        with Emulator(tokens={EMULATOR_TOKEN}) as emulator:
            CONFIG["api_base_url"] = emulator.url
            yield emulator
