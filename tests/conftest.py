"""Shared fixtures: the local LinkedIn emulator every HTTP-level test runs against."""

from __future__ import annotations

import typing as t

import pytest

from target_linkedin_conversions.emulator import Emulator

EMULATOR_TOKEN = "test-token"
EMULATOR_REFRESH_TOKEN = "test-refresh-token"
EMULATOR_CLIENT_ID = "test-client"
EMULATOR_CLIENT_SECRET = "test-secret"


@pytest.fixture
def linkedin_emulator() -> t.Iterator[Emulator]:
    """A started emulator with the seeded sample world, stopped after the test."""
    emulator = Emulator(
        tokens={EMULATOR_TOKEN},
        refresh_tokens={EMULATOR_REFRESH_TOKEN},
        client_id=EMULATOR_CLIENT_ID,
        client_secret=EMULATOR_CLIENT_SECRET,
    )
    with emulator:
        yield emulator
