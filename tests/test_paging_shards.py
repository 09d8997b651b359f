"""Shards of a listing: serialisable page ranges that together yield the listing once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from asyncsdk import InvalidInputError, MOIClient
from asyncsdk._core.paging import AsyncPaginator, NumberedPaging
from asyncsdk.emulator import Emulator

from .test_paginator_unit import Listing


async def test_shards_together_yield_every_item_once_in_order() -> None:
    listing = Listing(95)
    tokens = await listing.paginator().shards(3)
    assert len(tokens) == 3
    assert len(listing.fetches) == 1  # the first page, for the total
    parts = [await listing.paginator(resume_from=token).collect() for token in tokens]
    assert [len(part) for part in parts] == [40, 30, 25]  # pages 1-4, 5-7, 8-10
    assert [item for part in parts for item in part] == listing.items


async def test_a_shard_requests_only_its_own_pages() -> None:
    listing = Listing(1000)
    tokens = await listing.paginator().shards(4)
    listing.fetches.clear()
    got = await listing.paginator(resume_from=tokens[1], concurrency=8, prefetch=2).collect()
    assert got == listing.items[250:500]
    assert sorted(f.page or 0 for f in listing.fetches) == list(range(26, 51))


async def test_more_shards_than_pages_gives_one_per_page() -> None:
    listing = Listing(25)
    tokens = await listing.paginator().shards(10)
    assert len(tokens) == 3
    parts = [await listing.paginator(resume_from=token).collect() for token in tokens]
    assert parts == [listing.items[:10], listing.items[10:20], listing.items[20:]]


@pytest.mark.parametrize("stop_after", [1, 10, 13, 29])
async def test_a_token_taken_mid_shard_continues_within_the_shard(stop_after: int) -> None:
    listing = Listing(95)
    tokens = await listing.paginator().shards(3)
    worker = listing.paginator(resume_from=tokens[1])
    seen: list[int] = []
    async for item in worker:
        seen.append(item)
        if len(seen) == stop_after:
            break
    token = worker.resume_token
    assert token is not None
    rest = await listing.paginator(resume_from=token).collect()
    assert seen + rest == listing.items[40:70]


async def test_a_finished_shard_has_no_resume_token() -> None:
    listing = Listing(95)
    tokens = await listing.paginator().shards(2)
    pages = [page async for page in listing.paginator(resume_from=tokens[0]).pages()]
    assert [page.number for page in pages] == [1, 2, 3, 4, 5]
    assert pages[-1].resume_token is None


async def test_a_shard_keeps_the_page_size_it_was_cut_with() -> None:
    listing = Listing(95)
    tokens = await listing.paginator(page_size=10).shards(3)
    got = await listing.paginator(page_size=7, resume_from=tokens[1]).collect()
    assert got == listing.items[40:70]
    assert {f.page_size for f in listing.fetches[1:]} == {10}


async def test_the_last_shard_runs_to_the_end_of_the_listing() -> None:
    listing = Listing(95)
    tokens = await listing.paginator().shards(3)
    listing.items.extend(range(95, 120))  # rows added after the split
    last = await listing.paginator(resume_from=tokens[-1]).collect()
    assert last == listing.items[70:]


async def test_shards_of_a_resumed_listing_start_where_it_stands() -> None:
    listing = Listing(95)
    first = listing.paginator()
    async for item in first:
        if item == 22:
            break
    tokens = await listing.paginator(resume_from=first.resume_token).shards(2)
    parts = [await listing.paginator(resume_from=token).collect() for token in tokens]
    assert [item for part in parts for item in part] == listing.items[23:]


async def test_a_shard_token_is_refused_by_another_listing() -> None:
    listing = Listing(95)
    tokens = await listing.paginator().shards(2)
    with pytest.raises(InvalidInputError, match="different listing"):
        AsyncPaginator(
            listing.numbered, NumberedPaging(), listing="other", page_size=10, resume_from=tokens[0]
        )


async def test_a_cursor_listing_cannot_be_split() -> None:
    listing = Listing(95)
    with pytest.raises(InvalidInputError, match="cursor"):
        await listing.paginator("cursor").shards(2)
    assert listing.fetches == []
    (whole,) = await listing.paginator("cursor").shards(1)
    assert await listing.paginator("cursor", resume_from=whole).collect() == listing.items


async def test_a_listing_without_a_total_cannot_be_split() -> None:
    with pytest.raises(InvalidInputError, match="total"):
        await Listing(95, report_total=False).paginator().shards(2)


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2"])
async def test_a_bad_shard_count_is_refused(n: object) -> None:
    with pytest.raises(InvalidInputError, match="shards"):
        await Listing(95).paginator().shards(n)  # type: ignore[arg-type]


async def test_shards_refuse_max_items() -> None:
    with pytest.raises(InvalidInputError, match="max_items"):
        await Listing(95).paginator(max_items=5).shards(2)


@pytest.fixture
async def tasks_emulator() -> AsyncIterator[tuple[Emulator, MOIClient]]:
    async with (
        Emulator(tasks=1_000) as emu,
        MOIClient(emu.url, **emu.moi_credentials) as moi,
    ):
        yield emu, moi


async def test_shards_of_a_real_listing_over_sockets(
    tasks_emulator: tuple[Emulator, MOIClient],
) -> None:
    emu, moi = tasks_emulator
    everything = [task.id for task in await moi.tasks.list(page_size=100).collect()]
    assert len(everything) == 1_000
    before = emu.stats.by_route["GET /task/list"]
    tokens = await moi.tasks.list(page_size=100).shards(3)
    parts = [
        [task.id async for task in moi.tasks.list(resume_from=token, concurrency=4)]
        for token in tokens
    ]
    assert [len(part) for part in parts] == [400, 300, 300]
    assert [task_id for part in parts for task_id in part] == everything
    # One request for the split, then each page once.
    assert emu.stats.by_route["GET /task/list"] - before == 1 + 10
