from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from asyncsdk import MOIClient
from asyncsdk.emulator import Emulator
from asyncsdk.emulator._state import Generation

# Suite-wide: no secret in any log line, error text or client repr (see tests/_canary.py); and
# the fixtures asyncsdk ships for its users' tests (moi_client, moi_emulator, ...), used here too.
pytest_plugins = ["tests._canary", "asyncsdk.testing"]


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator() as emu:
        yield emu


@pytest.fixture
async def moi(emulator: Emulator) -> AsyncIterator[MOIClient]:
    async with MOIClient(emulator.url, **emulator.moi_credentials) as client:
        yield client


@pytest.fixture(params=["seed", "current"])
def api(request: pytest.FixtureRequest) -> Generation:
    """The MOI API generation an emulator speaks (``Emulator(api=...)``) and a client targets
    (``MOIClient(paths=...)``); a test taking it runs once for each."""
    generation: Generation = request.param
    return generation
