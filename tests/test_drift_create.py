"""Creates that find what they made: ``tasks.create(..., name=, resolve=True)`` and
``tasks.find``, over real sockets, with other tasks created for the same connector and volume
at the same time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from asyncsdk import InvalidInputError, MOIClient
from asyncsdk.emulator import Emulator

CONNECTOR = 100001


@pytest.fixture
async def emu_and_moi() -> AsyncIterator[tuple[Emulator, MOIClient]]:
    async with (
        Emulator(tasks=300, files_per_seeded_task=0, files_per_connector=20) as emu,
        MOIClient(emu.url, **emu.moi_credentials) as client,
    ):
        yield emu, client


def a_volume(emu: Emulator) -> str:
    return next(iter(emu.state.raw_volumes.volumes))


async def test_twenty_creates_by_eight_workers_each_resolve_to_their_own_task(
    emu_and_moi: tuple[Emulator, MOIClient],
) -> None:
    emu, client = emu_and_moi
    volume = a_volume(emu)
    gate = asyncio.Semaphore(8)

    async def create(n: int) -> tuple[str, str, str]:
        async with gate:
            uris = [f"data/f{n % 10:02d}/"]
            task = await client.tasks.create(
                CONNECTOR, volume, uris, name=f"batch-{n:02d}", resolve=True
            )
            assert task is not None
            return task.id, task.name, task.source_config.common_file_task_config.uris[0]

    results = await asyncio.gather(*(create(n) for n in range(20)))
    assert len({task_id for task_id, _, _ in results}) == 20
    for n, (_, name, uri) in enumerate(results):
        assert name == f"batch-{n:02d}"
        assert uri == f"data/f{n % 10:02d}/"


async def test_resolve_needs_a_name(emu_and_moi: tuple[Emulator, MOIClient]) -> None:
    emu, client = emu_and_moi
    with pytest.raises(InvalidInputError, match="resolve=True needs name="):
        await client.tasks.create(CONNECTOR, a_volume(emu), ["data/"], resolve=True)
    # Refused before anything was sent: no task was created.
    assert emu.stats.by_route["POST /task"] == 0


async def test_a_name_given_twice_is_refused_not_guessed(
    emu_and_moi: tuple[Emulator, MOIClient],
) -> None:
    emu, client = emu_and_moi
    await client.tasks.create(CONNECTOR, a_volume(emu), ["data/f01/"], name="twin")
    with pytest.raises(InvalidInputError, match="2 tasks named 'twin'"):
        await client.tasks.create(
            CONNECTOR, a_volume(emu), ["data/f02/"], name="twin", resolve=True
        )


async def test_find_by_name_and_since(emu_and_moi: tuple[Emulator, MOIClient]) -> None:
    emu, client = emu_and_moi
    await client.tasks.create(CONNECTOR, a_volume(emu), ["data/f03/"], name="nightly-7")
    found = await client.tasks.find("nightly-7")
    assert found is not None and found.name == "nightly-7"
    assert await client.tasks.find("nightly-8") is None
    # keyword matches the creator or the volume name, never the task's name.
    assert await client.tasks.list(keyword="nightly-7").collect() == []
    # since= stops the scan at older tasks: one page, newest first, then stop.
    before = emu.stats.by_route["GET /task/list"]
    soon = datetime.now(UTC) - timedelta(minutes=5)
    assert (await client.tasks.find("nightly-7", since=soon)) == found
    assert emu.stats.by_route["GET /task/list"] == before + 1
    with pytest.raises(InvalidInputError, match="since"):
        await client.tasks.find("x", since=datetime(2026, 1, 1))
