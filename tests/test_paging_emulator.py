"""Paging over real sockets: cursor listings (connector files) and numbered ones (tasks)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from asyncsdk import InvalidInputError, MOIClient, NotFoundError
from asyncsdk.emulator import Emulator

CONNECTOR = 100001


@pytest.fixture
async def big() -> AsyncIterator[tuple[Emulator, MOIClient]]:
    async with (
        Emulator(files_per_connector=10_000, tasks=2_000) as emu,
        MOIClient(emu.url, **emu.moi_credentials) as moi,
    ):
        yield emu, moi


def requests_to(emu: Emulator, route: str) -> int:
    return emu.stats.by_route[route]


def expected_uris(emu: Emulator, count: int) -> list[str]:
    store = emu.state.moi_connectors
    assert store is not None
    return [store.file(CONNECTOR, i)["uri"] for i in range(count)]


async def test_ten_thousand_files_each_once_in_order(big: tuple[Emulator, MOIClient]) -> None:
    emu, moi = big
    uris = [f.uri async for f in moi.connectors.files(CONNECTOR, page_size=100)]
    assert uris == expected_uris(emu, 10_000)
    assert requests_to(emu, "GET /connectors/files/list") == 100


async def test_prefetch_yields_the_same_listing(big: tuple[Emulator, MOIClient]) -> None:
    emu, moi = big
    uris = [f.uri async for f in moi.connectors.files(CONNECTOR, page_size=500, prefetch=2)]
    assert uris == expected_uris(emu, 10_000)


async def test_max_items_stops_without_extra_requests(big: tuple[Emulator, MOIClient]) -> None:
    emu, moi = big
    files = await moi.connectors.files(CONNECTOR, page_size=100, max_items=250).collect()
    assert len(files) == 250
    assert requests_to(emu, "GET /connectors/files/list") == 3
    tasks = await moi.tasks.list(page_size=100, max_items=150, concurrency=8).collect()
    assert len(tasks) == 150
    assert requests_to(emu, "GET /task/list") == 2


async def test_resuming_mid_way_yields_exactly_the_remainder(
    big: tuple[Emulator, MOIClient],
) -> None:
    emu, moi = big
    listing = moi.connectors.files(CONNECTOR, page_size=100)
    first_part = []
    async for f in listing:
        first_part.append(f.uri)
        if len(first_part) == 4_321:
            break
    token = listing.resume_token
    assert token is not None
    before = requests_to(emu, "GET /connectors/files/list")
    rest = [f.uri async for f in moi.connectors.files(CONNECTOR, page_size=100, resume_from=token)]
    assert first_part + rest == expected_uris(emu, 10_000)
    # The resumed listing starts at the page it stopped in: 57 pages, not 100.
    assert requests_to(emu, "GET /connectors/files/list") - before == 57


async def test_numbered_listing_resumes_too_even_with_another_page_size(
    big: tuple[Emulator, MOIClient],
) -> None:
    _, moi = big
    everything = [t.id async for t in moi.tasks.list(page_size=100, concurrency=4)]
    assert len(everything) == len(set(everything)) == 2_000
    listing = moi.tasks.list(page_size=100)
    seen = []
    async for task in listing:
        seen.append(task.id)
        if len(seen) == 777:
            break
    rest = [t.id async for t in moi.tasks.list(page_size=30, resume_from=listing.resume_token)]
    assert seen + rest == everything


async def test_parallel_pages_arrive_in_order_each_once(big: tuple[Emulator, MOIClient]) -> None:
    emu, moi = big
    sequential = [t.id async for t in moi.tasks.list(page_size=50)]
    parallel = [t.id async for t in moi.tasks.list(page_size=50, concurrency=8)]
    assert parallel == sequential
    assert len(set(parallel)) == 2_000
    assert requests_to(emu, "GET /task/list") == 80


async def test_a_token_is_tied_to_its_listing(big: tuple[Emulator, MOIClient]) -> None:
    _, moi = big
    listing = moi.connectors.files(CONNECTOR, page_size=10)
    await listing.first()
    async for _ in listing:
        break
    with pytest.raises(InvalidInputError, match="different listing"):
        moi.connectors.files(100002, resume_from=listing.resume_token)
    with pytest.raises(InvalidInputError):
        moi.tasks.list(resume_from=listing.resume_token)


async def test_bad_arguments_fail_before_any_request(big: tuple[Emulator, MOIClient]) -> None:
    emu, moi = big
    before = emu.stats.requests
    with pytest.raises(InvalidInputError, match="page_size"):
        moi.tasks.list(page_size=0)
    with pytest.raises(InvalidInputError, match="prefetch"):
        moi.connectors.files(CONNECTOR, prefetch=-1)
    with pytest.raises(InvalidInputError, match="connector_id"):
        moi.connectors.files("abc")
    with pytest.raises(InvalidInputError, match="task_id"):
        moi.tasks.files("")
    with pytest.raises(InvalidInputError, match="order_by"):
        moi.tasks.list(order_by="name")
    assert emu.stats.requests == before


async def test_an_error_mid_listing_carries_a_resume_token(
    emulator: Emulator, moi: MOIClient
) -> None:
    task = await moi.tasks.list().first()
    assert task is not None
    files = moi.tasks.files(task.id, page_size=2)
    got = []
    with pytest.raises(NotFoundError) as info:
        async for f in files:
            got.append(f)
            if len(got) == 3:
                await moi.tasks.delete(task.id)  # the next page will not be found
    assert len(got) == 4  # pages 1 and 2 were handed out in full
    assert info.value.resume_token is not None
    assert info.value.resume_token == files.resume_token


async def test_breaking_out_then_closing_leaves_nothing_running() -> None:
    async with Emulator(files_per_connector=5_000, latency_ms=20) as emu:
        async with MOIClient(emu.url, **emu.moi_credentials) as moi:
            handed_out = 0
            async for _ in moi.connectors.files(CONNECTOR, page_size=50, prefetch=4):
                handed_out += 1
                if handed_out == 60:
                    break
            async for _ in moi.tasks.list(page_size=2, concurrency=8):
                break
        # The client is closed: no fetch of ours may still be pending.
        await asyncio.sleep(0)
        leftovers = [t for t in asyncio.all_tasks() if t.get_name().startswith("asyncsdk")]
        assert leftovers == []
