"""AsyncPaginator's rules, against in-memory listings whose every fetch is observed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from asyncsdk import InvalidInputError, ServerError
from asyncsdk._core.paging import (
    AsyncPaginator,
    CursorPaging,
    NumberedPaging,
    PageRequest,
    PageResult,
)


class Listing:
    """``n`` items behind numbered or cursor paging; counts fetches and what is in flight."""

    def __init__(
        self,
        n: int,
        *,
        report_total: bool = True,
        fail_on: set[int] | None = None,
        delay: float = 0.0,
        later_pages_delay: float | None = None,
    ) -> None:
        self.items = list(range(n))
        self.report_total = report_total
        self.fail_on = set(fail_on or ())
        self.delay = delay
        self.later_pages_delay = delay if later_pages_delay is None else later_pages_delay
        self.fetches: list[PageRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def _slice(self, start: int, size: int) -> list[int]:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        delay = self.delay if start == 0 else self.later_pages_delay
        try:
            if delay:
                await asyncio.sleep(delay)  # a slow service, so fetches overlap
            else:
                await asyncio.sleep(0)
            return self.items[start : start + size]
        finally:
            self.in_flight -= 1

    async def numbered(self, request: PageRequest) -> PageResult[int]:
        self.fetches.append(request)
        assert request.page is not None
        if request.page in self.fail_on:
            self.fail_on.discard(request.page)
            raise ServerError("boom", status=500, method="GET", path="/list")
        chunk = await self._slice((request.page - 1) * request.page_size, request.page_size)
        return PageResult(chunk, total=len(self.items) if self.report_total else None)

    async def cursor(self, request: PageRequest) -> PageResult[int]:
        self.fetches.append(request)
        start = int(request.cursor or 0)
        page = start // request.page_size + 1
        if page in self.fail_on:
            self.fail_on.discard(page)
            raise ServerError("boom", status=500, method="GET", path="/files")
        chunk = await self._slice(start, request.page_size)
        end = start + len(chunk)
        more = end < len(self.items)
        return PageResult(chunk, next_cursor=str(end) if more else "", has_more=more)

    def paginator(self, style: str = "numbered", **options: object) -> AsyncPaginator[int]:
        fetch: Callable[[PageRequest], object] = (
            self.numbered if style == "numbered" else self.cursor
        )
        paging = NumberedPaging() if style == "numbered" else CursorPaging()
        options.setdefault("page_size", 10)
        return AsyncPaginator(fetch, paging, listing="test", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("style", "options"),
    [
        ("numbered", {}),
        ("numbered", {"prefetch": 2}),
        ("numbered", {"concurrency": 4}),
        ("numbered", {"concurrency": 3, "prefetch": 2}),
        ("cursor", {}),
        ("cursor", {"prefetch": 2}),
    ],
)
async def test_every_item_once_in_order(style: str, options: dict[str, int]) -> None:
    listing = Listing(95)
    assert await listing.paginator(style, **options).collect() == listing.items
    assert len(listing.fetches) == 10


async def test_max_items_fetches_only_the_pages_it_needs() -> None:
    listing = Listing(1000)
    got = await listing.paginator(max_items=25, concurrency=8).collect()
    assert got == list(range(25))
    assert [f.page for f in listing.fetches] == [1, 2, 3]


async def test_first_fetches_one_page() -> None:
    listing = Listing(1000)
    assert await listing.paginator(prefetch=3, concurrency=8).first() == 0
    assert len(listing.fetches) == 1
    assert await Listing(0).paginator().first() is None


async def test_without_a_total_pages_stop_at_the_first_short_one() -> None:
    listing = Listing(35, report_total=False)
    assert await listing.paginator(concurrency=4).collect() == listing.items
    # Speculative pages past the end are cancelled or come back empty; none are yielded.
    assert {f.page for f in listing.fetches} >= {1, 2, 3, 4}


async def test_pages_in_flight_are_bounded_by_concurrency() -> None:
    listing = Listing(500, delay=0.002)
    assert await listing.paginator(concurrency=4, prefetch=3).collect() == listing.items
    assert listing.max_in_flight == 4


async def test_each_page_is_its_own_object_with_a_resume_token() -> None:
    listing = Listing(25)
    pages = [page async for page in listing.paginator().pages()]
    assert [len(p) for p in pages] == [10, 10, 5]
    assert len({id(p) for p in pages}) == 3
    assert [p.number for p in pages] == [1, 2, 3]
    assert pages[-1].resume_token is None
    rest = await listing.paginator(resume_from=pages[0].resume_token).collect()
    assert rest == listing.items[10:]


@pytest.mark.parametrize("style", ["numbered", "cursor"])
@pytest.mark.parametrize("stop_after", [1, 9, 10, 11, 57])
async def test_resume_token_continues_after_the_last_item_handed_out(
    style: str, stop_after: int
) -> None:
    listing = Listing(95)
    paginator = listing.paginator(style)
    seen = []
    async for item in paginator:
        seen.append(item)
        if len(seen) == stop_after:
            break
    token = paginator.resume_token
    assert token is not None
    rest = await listing.paginator(style, resume_from=token).collect()
    assert seen + rest == listing.items


async def test_resume_with_another_page_size_lands_on_the_same_item() -> None:
    listing = Listing(95)
    p = listing.paginator(page_size=10)
    got = []
    async for item in p:
        got.append(item)
        if item == 33:
            break
    rest = await listing.paginator(page_size=7, resume_from=p.resume_token).collect()
    assert rest == listing.items[34:]


async def test_an_exhausted_listing_has_no_resume_token() -> None:
    paginator = Listing(5).paginator()
    await paginator.collect()
    assert paginator.resume_token is None


@pytest.mark.parametrize("style", ["numbered", "cursor"])
async def test_an_error_mid_listing_carries_the_resume_token(style: str) -> None:
    listing = Listing(95, fail_on={4})
    seen: list[int] = []
    with pytest.raises(ServerError) as info:
        async for item in listing.paginator(style):
            seen.append(item)
    assert seen == list(range(30))
    token = info.value.resume_token
    assert token is not None
    assert seen + await listing.paginator(style, resume_from=token).collect() == listing.items


async def test_a_token_from_another_listing_is_refused() -> None:
    listing = Listing(50)
    p = listing.paginator()
    async for _ in p:
        break
    other: AsyncPaginator[Any] = AsyncPaginator(
        listing.numbered, NumberedPaging(), listing="other", page_size=10
    )
    with pytest.raises(InvalidInputError, match="different listing"):
        AsyncPaginator(
            listing.numbered,
            NumberedPaging(),
            listing="other",
            page_size=10,
            resume_from=p.resume_token,
        )
    assert other.resume_token is not None
    with pytest.raises(InvalidInputError, match="not a resume token"):
        listing.paginator(resume_from="garbage!")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"page_size": 0}, "page_size"),
        ({"page_size": -5}, "page_size"),
        ({"max_items": -1}, "max_items"),
        ({"prefetch": -1}, "prefetch"),
        ({"concurrency": 0}, "concurrency"),
    ],
)
def test_bad_options_are_refused_up_front(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        Listing(1).paginator(**options)


def test_cursor_listings_refuse_parallel_pages() -> None:
    with pytest.raises(InvalidInputError, match="prefetch"):
        Listing(1).paginator("cursor", concurrency=2)


async def test_breaking_out_cancels_fetches_in_flight() -> None:
    # Later pages take far longer than the test: only cancellation can end them in time.
    listing = Listing(10_000, later_pages_delay=30)
    paginator = listing.paginator(concurrency=8, prefetch=4)
    async for item in paginator:
        if item == 3:
            # The next pages were asked for before page 1 was handed out.
            ahead = listing.in_flight
            break
    # The abandoned generator is closed by the event loop on its next turns, which cancels
    # the fetches. Wait for that (bounded).
    for _ in range(100):
        if listing.in_flight == 0:
            break
        await asyncio.sleep(0.01)
    assert ahead > 0  # fetches had started...
    assert listing.in_flight == 0  # ...and were cancelled, not left to run for 30 s
    fetched = len(listing.fetches)
    await asyncio.sleep(0.1)
    assert len(listing.fetches) == fetched


@pytest.mark.parametrize("style", ["numbered", "cursor"])
async def test_first_leaves_the_resume_token_of_the_running_pass_alone(style: str) -> None:
    listing = Listing(95)
    paginator = listing.paginator(style)
    seen = []
    async for item in paginator:
        seen.append(item)
        if len(seen) == 25:
            break
    assert await paginator.first() == 0
    rest = await listing.paginator(style, resume_from=paginator.resume_token).collect()
    assert seen + rest == listing.items


async def test_two_passes_over_one_paginator_keep_their_own_positions() -> None:
    listing = Listing(95)
    paginator = listing.paginator()
    outer = aiter(paginator)
    inner = paginator.pages()
    for _ in range(15):
        await anext(outer)
    first_page = await anext(inner)
    assert len(first_page) == 10
    # The paginator's own token follows the last pass started; each iterator keeps its own.
    assert paginator.resume_token == inner.resume_token == first_page.resume_token
    rest = await listing.paginator(resume_from=outer.resume_token).collect()
    assert rest == listing.items[15:]
    await outer.aclose()
    await inner.aclose()


async def test_a_resumed_paginator_starts_every_pass_at_its_token() -> None:
    listing = Listing(95)
    first = listing.paginator()
    async for item in first:
        if item == 41:
            break
    resumed = listing.paginator(resume_from=first.resume_token)
    assert await resumed.first() == 42
    assert await resumed.collect() == listing.items[42:]
    assert await resumed.collect() == listing.items[42:]
