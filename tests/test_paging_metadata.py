"""The paginator's checks of paging metadata, and the split of a page into a cheap metadata
read (``peek``) and model building (``parse``), against in-memory listings."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from asyncsdk import PaginationError
from asyncsdk._core.paging import (
    AsyncPaginator,
    CursorPaging,
    NumberedPaging,
    PageRequest,
    PageResult,
)


def numbered(
    items: list[int], *, cap: int, style: NumberedPaging, seen: list[dict[str, Any]]
) -> AsyncPaginator[int]:
    """A listing whose server serves at most ``cap`` items a page, in its own page size."""

    async def fetch(request: PageRequest) -> PageResult[int]:
        params = style.params(request)
        seen.append(params)
        size = min(request.page_size, cap)
        value = params[style.page_param]
        start = value if style.offset else (value - 1) * size
        await asyncio.sleep(0)
        return PageResult(items[start : start + size], total=len(items))

    return AsyncPaginator(fetch, style, listing="capped", page_size=100)


OFFSETS = NumberedPaging(page_param="offset", size_param="limit", offset=True)


@pytest.mark.parametrize("style", [NumberedPaging(), OFFSETS])
async def test_a_capped_page_size_is_followed_in_the_servers_own_size(
    style: NumberedPaging,
) -> None:
    items = list(range(120))
    seen: list[dict[str, Any]] = []
    assert await numbered(items, cap=50, style=style, seen=seen).collect() == items
    expected = [0, 50, 100] if style.offset else [1, 2, 3]
    assert [params[style.page_param] for params in seen] == expected


async def test_a_capped_listing_resumes_in_the_servers_page_size() -> None:
    items = list(range(120))
    style = NumberedPaging(page_param="offset", size_param="limit", offset=True)
    seen: list[dict[str, Any]] = []
    paginator = numbered(items, cap=50, style=style, seen=seen)
    got = []
    async for item in paginator:
        got.append(item)
        if item == 70:
            break
    resumed = numbered(items, cap=50, style=style, seen=seen)
    resumed = AsyncPaginator(
        resumed._fetch, style, listing="capped", page_size=100, resume_from=paginator.resume_token
    )
    assert got + await resumed.collect() == items


async def test_a_total_that_grows_while_listing_is_followed() -> None:
    items = list(range(25))

    async def fetch(request: PageRequest) -> PageResult[int]:
        assert request.page is not None
        if request.page == 2:
            items.extend(range(25, 35))  # rows added at the end meanwhile
        start = (request.page - 1) * request.page_size
        return PageResult(items[start : start + request.page_size], total=len(items))

    paginator: AsyncPaginator[int] = AsyncPaginator(
        fetch, NumberedPaging(), listing="growing", page_size=10
    )
    assert await paginator.collect() == list(range(35))


@pytest.mark.parametrize("items", ["abc", {"a": 1}, 5, None])
async def test_items_that_are_not_a_list_are_an_error(items: Any) -> None:
    async def fetch(request: PageRequest) -> PageResult[int]:
        return PageResult(items, total=3)

    paginator: AsyncPaginator[int] = AsyncPaginator(
        fetch, NumberedPaging(), listing="odd", page_size=10
    )
    with pytest.raises(PaginationError, match="items"):
        await paginator.collect()


async def test_an_empty_page_that_says_more_remain_is_an_error() -> None:
    async def fetch(request: PageRequest) -> PageResult[int]:
        return PageResult([], has_more=True)

    paginator: AsyncPaginator[int] = AsyncPaginator(
        fetch, NumberedPaging(), listing="odd", page_size=10
    )
    with pytest.raises(PaginationError, match="has_more"):
        await paginator.collect()


async def test_a_cursor_that_points_at_its_own_page_is_an_error() -> None:
    calls = []

    async def fetch(request: PageRequest) -> PageResult[int]:
        calls.append(request.cursor)
        return PageResult([1, 2], next_cursor="x", has_more=True)

    paginator: AsyncPaginator[int] = AsyncPaginator(
        fetch, CursorPaging(), listing="self", page_size=2
    )
    with pytest.raises(PaginationError, match="repeats"):
        await paginator.collect()
    assert calls == ["", "x"]


async def test_an_empty_cursor_page_that_says_more_is_stepped_over() -> None:
    pages = {
        "": PageResult([1], next_cursor="a", has_more=True),
        "a": PageResult([], next_cursor="b", has_more=True),
        "b": PageResult([2], next_cursor="", has_more=False),
    }

    async def fetch(request: PageRequest) -> PageResult[int]:
        assert request.cursor is not None
        return pages[request.cursor]

    paginator: AsyncPaginator[int] = AsyncPaginator(
        fetch, CursorPaging(), listing="gaps", page_size=2
    )
    assert await paginator.collect() == [1, 2]


# -- peek and parse ----------------------------------------------------------------------------


class Raw:
    """A cursor listing answering raw dicts; records when each request goes out and when each
    page's items are built."""

    def __init__(self, pages: int) -> None:
        self.pages = pages
        self.events: list[str] = []

    async def fetch(self, request: PageRequest) -> dict[str, Any]:
        number = int(request.cursor or 0)
        self.events.append(f"fetch {number}")
        await asyncio.sleep(0)
        last = number == self.pages - 1
        return {
            "files": [{"n": number * 10 + i} for i in range(10)],
            "cursor": "" if last else str(number + 1),
            "has_more": not last,
        }

    def peek(self, data: dict[str, Any]) -> PageResult[Any]:
        return PageResult(data["files"], next_cursor=data["cursor"], has_more=data["has_more"])

    def parse(self, data: dict[str, Any]) -> PageResult[int]:
        self.events.append(f"parse {data['files'][0]['n'] // 10}")
        return PageResult([f["n"] for f in data["files"]])

    def paginator(self, **options: Any) -> AsyncPaginator[int]:
        return AsyncPaginator(
            self.fetch,
            CursorPaging(),
            peek=self.peek,
            parse=self.parse,
            listing="raw",
            page_size=10,
            **options,
        )


async def test_with_peek_the_next_request_goes_out_before_the_models_are_built() -> None:
    raw = Raw(pages=4)
    assert await raw.paginator(prefetch=1).collect() == list(range(40))
    # Page 1 is requested before page 0's items are built: parsing overlaps the wait.
    assert raw.events.index("fetch 1") < raw.events.index("parse 0")
    assert raw.events.index("fetch 3") < raw.events.index("parse 2")


async def test_with_peek_and_no_prefetch_each_page_is_built_once_in_order() -> None:
    raw = Raw(pages=3)
    assert await raw.paginator().collect() == list(range(30))
    assert [e for e in raw.events if e.startswith("parse")] == ["parse 0", "parse 1", "parse 2"]


async def test_peek_and_parse_that_disagree_are_an_error() -> None:
    raw = Raw(pages=2)
    paginator: AsyncPaginator[int] = AsyncPaginator(
        raw.fetch,
        CursorPaging(),
        peek=raw.peek,
        parse=lambda data: PageResult([1]),
        listing="raw",
        page_size=10,
    )
    with pytest.raises(PaginationError, match="peek"):
        await paginator.collect()
