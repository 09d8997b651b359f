"""The drift-aware numbered paginator against an in-memory listing whose rows the test moves
between page requests, one case at a time (what the emulator's random churn mixes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from asyncsdk import PaginationError
from asyncsdk._core.paging import AsyncPaginator, NumberedPaging, PageRequest, PageResult


class Rows:
    """A sorted listing of ints served by page number; ``before[n]`` runs before request n."""

    def __init__(self, count: int) -> None:
        self.rows = list(range(0, count * 10, 10))
        self.requests = 0
        self.before: dict[int, Callable[[list[int]], None]] = {}

    async def fetch(self, request: PageRequest) -> PageResult[int]:
        self.requests += 1
        change = self.before.get(self.requests)
        if change is not None:
            change(self.rows)
        assert request.page is not None
        start = (request.page - 1) * request.page_size
        return PageResult(self.rows[start : start + request.page_size], total=len(self.rows))

    def paginator(self, **options: Any) -> AsyncPaginator[int]:
        return AsyncPaginator(
            self.fetch,
            NumberedPaging(),
            listing="rows",
            page_size=10,
            key=lambda row: row,
            **options,
        )


async def test_nothing_moves_nothing_extra() -> None:
    rows = Rows(50)
    paginator = rows.paginator(concurrency=4)
    assert [r async for r in paginator] == list(range(0, 500, 10))
    assert rows.requests == 5
    assert paginator.drift_requests == 0


async def test_a_row_deleted_before_the_position_slides_back_and_is_not_skipped() -> None:
    rows = Rows(50)
    rows.before[3] = lambda r: r.remove(50)  # before page 3: a row of page 1 is deleted
    paginator = rows.paginator()
    got = [r async for r in paginator]
    assert sorted(got) == list(range(0, 500, 10))  # 200 slid onto page 2, not skipped
    assert len(got) == len(set(got))
    # Page 2 fetched again to find the place, page 3 kept: one extra request.
    assert paginator.drift_requests == 1


async def test_a_row_inserted_before_the_position_is_found_in_the_page_without_a_request() -> None:
    rows = Rows(50)
    rows.before[3] = lambda r: r.insert(0, -10)
    paginator = rows.paginator()
    got = [r async for r in paginator]
    assert got == [r for r in range(0, 500, 10)]  # 190 not repeated; -10 came too late
    assert paginator.drift_requests == 0
    assert rows.requests == 6  # one more page: the listing grew


async def test_deleted_anchors_fall_back_to_older_ones() -> None:
    rows = Rows(50)

    # Before page 3: the last three rows handed out are deleted.
    def delete_anchors(r: list[int]) -> None:
        for x in (170, 180, 190):
            r.remove(x)

    rows.before[3] = delete_anchors
    got = [r async for r in rows.paginator()]
    lasting = [r for r in range(0, 500, 10) if r not in (170, 180, 190)]
    assert [r for r in got if r in lasting] == lasting
    assert len(got) == len(set(got))


async def test_a_resume_from_a_token_finds_its_rows_after_inserts_and_deletes() -> None:
    rows = Rows(50)
    it = aiter(rows.paginator())
    got = [await anext(it) for _ in range(25)]
    token = it.resume_token
    # While the job was down: 5 rows inserted before its position, 2 deleted after it.
    rows.rows[0:0] = [-50, -40, -30, -20, -10]
    rows.rows.remove(300)
    rows.rows.remove(310)
    got += [r async for r in rows.paginator(resume_from=token)]
    assert got == [r for r in range(0, 500, 10) if r not in (300, 310)]


async def test_when_no_anchor_is_left_the_error_carries_a_token() -> None:
    rows = Rows(50)
    rows.before[3] = lambda r: r.__delitem__(slice(0, 20))  # the first 20 rows deleted
    with pytest.raises(PaginationError, match="position cannot be found") as info:
        [r async for r in rows.paginator()]
    assert info.value.resume_token is not None


async def test_without_a_key_the_old_behaviour_stays() -> None:
    rows = Rows(50)
    rows.before[3] = lambda r: r.remove(50)
    paginator: AsyncPaginator[int] = AsyncPaginator(
        rows.fetch, NumberedPaging(), listing="rows", page_size=10, key=None
    )
    got = [r async for r in paginator]
    assert 200 not in got  # the documented skip, with drift tracking off
    assert paginator.drift_requests == 0


@pytest.mark.parametrize(("prefetch", "concurrency"), [(2, 1), (0, 3), (1, 4)])
async def test_prefetch_and_concurrency_keep_the_guarantee(prefetch: int, concurrency: int) -> None:
    rows = Rows(50)
    rows.before[3] = lambda r: r.remove(50)
    rows.before[5] = lambda r: r.insert(3, 25)
    paginator = rows.paginator(prefetch=prefetch, concurrency=concurrency)
    got = [r async for r in paginator]
    assert len(got) == len(set(got))
    assert set(range(0, 500, 10)) <= set(got)


async def test_max_items_and_pages_after_a_relocation() -> None:
    rows = Rows(50)
    rows.before[3] = lambda r: r.remove(50)
    pages = [page async for page in rows.paginator(max_items=35).pages()]
    got = [r for page in pages for r in page.items]
    assert got == list(range(0, 350, 10))  # 50 was handed out before it was deleted
    # The page found again hands out only what slid back over the boundary.
    assert [len(page.items) for page in pages] == [10, 10, 1, 10, 4]
