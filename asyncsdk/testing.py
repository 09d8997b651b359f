"""pytest fixtures for testing your own code against the asyncsdk emulator.

Enable them once, in your top-level ``conftest.py`` (or in one test module)::

    pytest_plugins = ["asyncsdk.testing"]

They are not loaded automatically when asyncsdk is installed: a plugin that registers itself
would run inside every pytest session of every project in that environment, and would need
pytest-asyncio there too. This module needs ``pytest`` and ``pytest-asyncio``; ``import
asyncsdk`` never does.

Fixtures (each test gets its own emulator, on a free port, in the test's event loop):

``asyncsdk_emulator_config``
    The :class:`~asyncsdk.emulator.EmulatorConfig` the emulator starts with. The default is the
    emulator's seeded data with quick state changes (load-task and job files take 0.05 s a
    step, new data sources sync in 0.1 s). Override the fixture in a ``conftest.py`` or a test
    module to change it for many tests.
``moi_emulator``, ``maxir_emulator``
    The running :class:`~asyncsdk.emulator.Emulator`. It serves both services, so the two
    names are the same object: use whichever reads better.
``moi_client``
    A :class:`~asyncsdk.MOIClient`, logged in to the emulator; closed after the test.
``maxir_client``
    A :class:`~asyncsdk.MaxirClient` for the emulator; closed after the test.

For one test, the ``asyncsdk_emulator`` marker changes any configuration field (the nearest
marker wins over a module's or class's)::

    @pytest.mark.asyncsdk_emulator(access_token_ttl=2, faults=[Fault("503", rate=0.1)])
    async def test_survives_a_flaky_service(moi_client, moi_emulator): ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import attrs

try:
    import pytest
    import pytest_asyncio
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "asyncsdk.testing needs pytest and pytest-asyncio: pip install pytest pytest-asyncio"
    ) from exc

from . import MaxirClient, MOIClient
from .emulator import Emulator, EmulatorConfig

__all__ = [
    "asyncsdk_emulator_config",
    "maxir_client",
    "maxir_emulator",
    "moi_client",
    "moi_emulator",
]

#: The marker that changes the emulator's configuration for one test (or module, or class).
MARKER = "asyncsdk_emulator"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker, so ``--strict-markers`` and ``-W error`` accept it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): EmulatorConfig fields for the asyncsdk emulator fixtures",
    )


@pytest.fixture
def asyncsdk_emulator_config() -> EmulatorConfig:
    """The emulator's configuration: seeded data, quick state changes. Override to change."""
    return EmulatorConfig(
        task_file_seconds=0.05,
        job_file_seconds=0.05,
        maxir_sync_seconds=0.1,
    )


def _configured(base: EmulatorConfig, node: pytest.Item) -> EmulatorConfig:
    """``base`` with the options of every ``asyncsdk_emulator`` marker, the nearest last."""
    names = {f.name for f in attrs.fields(EmulatorConfig)}
    options: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers(MARKER))):
        if marker.args:
            raise TypeError(
                f"@pytest.mark.{MARKER} takes keyword arguments only (EmulatorConfig fields), "
                f"got positional {marker.args!r}"
            )
        unknown = sorted(set(marker.kwargs) - names)
        if unknown:
            raise TypeError(
                f"@pytest.mark.{MARKER}: unknown EmulatorConfig field(s) {', '.join(unknown)}"
            )
        options.update(marker.kwargs)
    # A copy, never the fixture's own object: a config shared by several tests stays intact.
    return attrs.evolve(base, **options)


@pytest_asyncio.fixture
async def moi_emulator(
    request: pytest.FixtureRequest, asyncsdk_emulator_config: EmulatorConfig
) -> AsyncIterator[Emulator]:
    """A running emulator of both services (also available as ``maxir_emulator``)."""
    config = _configured(asyncsdk_emulator_config, request.node)
    async with Emulator(config) as emulator:
        yield emulator


@pytest.fixture
def maxir_emulator(moi_emulator: Emulator) -> Emulator:
    """The same emulator as ``moi_emulator``: one emulator serves both services."""
    return moi_emulator


@pytest_asyncio.fixture
async def moi_client(moi_emulator: Emulator) -> AsyncIterator[MOIClient]:
    """A ``MOIClient`` logged in to the emulator, closed after the test."""
    async with MOIClient(moi_emulator.url, **moi_emulator.moi_credentials) as client:
        yield client


@pytest_asyncio.fixture
async def maxir_client(maxir_emulator: Emulator) -> AsyncIterator[MaxirClient]:
    """A ``MaxirClient`` for the emulator, closed after the test."""
    async with MaxirClient(maxir_emulator.url, **maxir_emulator.maxir_credentials) as client:
        yield client
