"""How a numbered listing with ``concurrency`` keeps its requests going out: the window slides
with the answers, models are built after the next requests are out, and a caller that stops
pulling holds a bounded number of pages. Every answer here is released by the test itself, so
the order of events is the test's, not the clock's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from asyncsdk._core.paging import AsyncPaginator, NumberedPaging, Page, PageRequest, PageResult

PAGE_SIZE = 2
PAGES = 12


async def run_ready_steps() -> None:
    """Let every step the answers just released run (and the ones those start): a fixed number
    of turns of the event loop, no clock involved."""
    for _ in range(20):
        await asyncio.sleep(0)


class GatedListing:
    """``PAGES`` pages of ``{"id": n}`` items; each request waits until the test answers it.

    Records, for every request, how many pages' models had been built and how many pages the
    caller had asked for when it was sent."""

    def __init__(self) -> None:
        self.items = [{"id": n} for n in range(PAGES * PAGE_SIZE)]
        self.answers: dict[int, asyncio.Future[None]] = {}
        self.asked: list[int] = []
        self.built_when_asked: dict[int, int] = {}
        self.pulls_when_asked: dict[int, int] = {}
        self.built = 0
        self.pulls = 0
        self.asked_event: dict[int, asyncio.Event] = {}

    def _gate(self, page: int) -> asyncio.Future[None]:
        return self.answers.setdefault(page, asyncio.get_running_loop().create_future())

    def answer(self, *pages: int) -> None:
        for page in pages:
            if not self._gate(page).done():
                self._gate(page).set_result(None)

    async def wait_asked(self, page: int) -> None:
        # Bounded only so that a listing that never asks fails the test instead of hanging it.
        async with asyncio.timeout(10):
            await self.asked_event.setdefault(page, asyncio.Event()).wait()

    async def pull(self, pages: AsyncIterator[Page[dict[str, int]]]) -> Page[dict[str, int]]:
        self.pulls += 1
        return await anext(pages)

    async def fetch(self, request: PageRequest) -> list[dict[str, int]]:
        assert request.page is not None
        self.asked.append(request.page)
        self.built_when_asked[request.page] = self.built
        self.pulls_when_asked[request.page] = self.pulls
        self.asked_event.setdefault(request.page, asyncio.Event()).set()
        await self._gate(request.page)
        start = (request.page - 1) * PAGE_SIZE
        return self.items[start : start + PAGE_SIZE]

    def peek(self, raw: list[dict[str, int]]) -> PageResult[Any]:
        return PageResult(raw, total=len(self.items))

    def parse(self, raw: list[dict[str, int]]) -> PageResult[dict[str, int]]:
        self.built += 1
        return PageResult([dict(item) for item in raw], total=len(self.items))

    def paginator(self, concurrency: int) -> AsyncPaginator[dict[str, int]]:
        return AsyncPaginator(
            self.fetch,
            NumberedPaging(),
            parse=self.parse,
            peek=self.peek,
            listing="gated",
            page_size=PAGE_SIZE,
            concurrency=concurrency,
        )

    async def consume(self, paginator: AsyncPaginator[dict[str, int]]) -> list[int]:
        ids: list[int] = []
        pages = paginator.pages()
        while True:
            try:
                page = await self.pull(pages)
            except StopAsyncIteration:
                return ids
            ids += [item["id"] for item in page.items]


async def test_the_next_request_goes_out_when_an_answer_arrives() -> None:
    listing = GatedListing()
    reader = asyncio.create_task(listing.consume(listing.paginator(concurrency=4)))
    listing.answer(1)
    await listing.wait_asked(5)  # pages 2-5 are in flight
    # Page 3 answers before page 2: its place in the window goes to page 6 at once, although
    # the caller is still waiting for page 2.
    listing.answer(3)
    await listing.wait_asked(6)
    assert listing.pulls_when_asked[6] == 2
    assert not listing.answers[2].done()
    listing.answer(*range(2, PAGES + 1))
    assert await reader == [item["id"] for item in listing.items]
    assert sorted(listing.asked) == list(range(1, PAGES + 1))


async def test_a_window_goes_out_before_its_pages_models_are_built() -> None:
    listing = GatedListing()
    reader = asyncio.create_task(listing.consume(listing.paginator(concurrency=4)))
    listing.answer(1)
    await listing.wait_asked(5)
    listing.answer(2, 3, 4, 5)
    await listing.wait_asked(9)
    # Only page 1's models existed when pages 6-9 were asked for: pages 2-5 are built while
    # the next window is in flight, not before it leaves.
    assert [listing.built_when_asked[page] for page in (6, 7, 8, 9)] == [1, 1, 1, 1]
    listing.answer(*range(6, PAGES + 1))
    assert await reader == [item["id"] for item in listing.items]


async def test_a_caller_that_stops_pulling_holds_at_most_twice_the_window() -> None:
    listing = GatedListing()
    pages = listing.paginator(concurrency=3).pages()
    first = asyncio.create_task(listing.pull(pages))
    listing.answer(1)
    await first
    await listing.wait_asked(4)
    # The caller holds page 1 and asks for nothing more; answers keep the window full until
    # six pages (twice the window) are held, and the seventh waits for the caller.
    listing.answer(2, 3, 4)
    await listing.wait_asked(7)
    listing.answer(5, 6, 7)
    await run_ready_steps()
    second = await listing.pull(pages)
    assert second.number == 2
    await listing.wait_asked(8)
    assert [listing.pulls_when_asked[page] for page in range(2, 9)] == [1] * 6 + [2]
    await pages.aclose()


async def test_one_page_at_a_time_stays_in_step_with_the_caller() -> None:
    listing = GatedListing()
    pages = listing.paginator(concurrency=1).pages()
    for page in (1, 2):
        pulled = asyncio.create_task(listing.pull(pages))
        await listing.wait_asked(page)
        listing.answer(page)
        assert (await pulled).number == page
    # Page 3 (sent when page 2 was handed out) is answered before the caller asks for it.
    await listing.wait_asked(3)
    listing.answer(3)
    await run_ready_steps()
    assert (await listing.pull(pages)).number == 3
    await listing.wait_asked(4)
    # Each page handed out sent the next one (the one request ahead a listing always makes);
    # an answer alone sends nothing: page 4 left only when the caller took page 3.
    assert listing.pulls_when_asked == {1: 1, 2: 1, 3: 2, 4: 3}
    await pages.aclose()
