"""Progress of a listing: a callback after each page with items, pages, retries, elapsed."""

from __future__ import annotations

import itertools

import pytest

from asyncsdk import InvalidInputError, MOIClient, RetryPolicy
from asyncsdk._core.paging import AsyncPaginator, ListingProgress, NumberedPaging
from asyncsdk.emulator import Emulator
from asyncsdk.emulator.faults import Fault

from .test_paginator_unit import Listing


@pytest.mark.parametrize("options", [{}, {"prefetch": 2, "concurrency": 3}])
async def test_progress_after_each_page_with_an_injected_clock(options: dict[str, int]) -> None:
    listing = Listing(25)
    ticks = itertools.count(100.0, 0.5)
    retried = iter([7, 7, 8, 9])  # the client's counter: at the start, then after each page
    reports: list[ListingProgress] = []
    paginator: AsyncPaginator[int] = AsyncPaginator(
        listing.numbered,
        NumberedPaging(),
        listing="test",
        page_size=10,
        on_progress=reports.append,
        retries=lambda: next(retried),
        clock=lambda: next(ticks),
        **options,  # type: ignore[arg-type]
    )
    assert await paginator.collect() == listing.items
    assert reports == [
        ListingProgress(items=10, pages=1, retries=0, elapsed=0.5),
        ListingProgress(items=20, pages=2, retries=1, elapsed=1.0),
        ListingProgress(items=25, pages=3, retries=2, elapsed=1.5),
    ]


async def test_progress_counts_what_a_pass_handed_out() -> None:
    listing = Listing(95)
    reports: list[ListingProgress] = []
    paginator = listing.paginator(max_items=25).with_progress(reports.append)
    assert len(await paginator.collect()) == 25
    assert [(r.items, r.pages) for r in reports] == [(10, 1), (20, 2), (25, 3)]
    # Each pass counts from zero; with_progress(None) stops reporting.
    reports.clear()
    await paginator.first()
    assert [(r.items, r.pages) for r in reports] == []  # first() stops inside its page
    paginator.with_progress(None)
    await paginator.collect()
    assert reports == []


def test_a_progress_callback_must_be_callable() -> None:
    with pytest.raises(InvalidInputError, match="on_progress"):
        Listing(1).paginator(on_progress=5)
    with pytest.raises(InvalidInputError, match="on_progress"):
        Listing(1).paginator().with_progress("bar")  # type: ignore[arg-type]


async def test_progress_reports_the_clients_retries_over_sockets() -> None:
    no_wait = RetryPolicy(jitter=lambda: 0.0)
    async with (
        Emulator(tasks=50) as emu,
        MOIClient(emu.url, retry=no_wait, **emu.moi_credentials) as moi,
    ):
        emu.inject(Fault("503", path="/task/list", limit=1))
        reports: list[ListingProgress] = []
        tasks = await moi.tasks.list(page_size=20).with_progress(reports.append).collect()
        assert len(tasks) == 50
        assert [(r.items, r.pages) for r in reports] == [(20, 1), (40, 2), (50, 3)]
        assert reports[-1].retries == 1
        assert all(r.elapsed >= 0 for r in reports)
