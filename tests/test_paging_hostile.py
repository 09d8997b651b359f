"""Listings whose server pages badly: cycles, ignored page numbers, mistyped metadata, capped
page sizes. Each answer is scripted exactly; the client talks to it over a real socket.

Every case ends in a clear :class:`PaginationError` carrying the resume token of the last good
page, or in the whole listing, exactly once: never duplicates, an endless loop or a silent
truncation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from asyncsdk import AsyncSDKError, MOIClient, PaginationError, RetryPolicy

from ._scripted_paging import ScriptedMOI, by_param

FILES = "/connectors/files/list"
TASKS = "/task/list"


def file(n: int) -> dict[str, Any]:
    return {"uri": f"s3://bucket/{n}.csv", "filename": f"{n}.csv"}


def files(*numbers: int) -> list[dict[str, Any]]:
    return [file(n) for n in numbers]


def tasks(*numbers: int) -> list[dict[str, Any]]:
    return [{"id": str(n)} for n in numbers]


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedMOI]:
    with ScriptedMOI() as scripted:
        yield scripted


@pytest.fixture
async def moi_scripted(server: ScriptedMOI) -> AsyncIterator[MOIClient]:
    server.reset()
    async with MOIClient(
        server.url, account_name="a", username="u", password="p", retry=RetryPolicy.disabled()
    ) as client:
        yield client


async def drain(listing: AsyncIterator[Any], seen: list[Any]) -> None:
    async for item in listing:
        seen.append(item)


def uris(found: list[Any]) -> list[str]:
    return [f["uri"] if isinstance(f, dict) else f.uri for f in found]


# -- cursor listings ---------------------------------------------------------------------------


async def test_a_cursor_that_comes_back_is_an_error_not_a_loop(
    server: ScriptedMOI, moi_scripted: MOIClient
) -> None:
    pages = {
        "": {"files": files(0, 1), "cursor": "A", "has_more": True},
        "A": {"files": files(2, 3), "cursor": "B", "has_more": True},
        "B": {"files": files(4, 5), "cursor": "A", "has_more": True},  # A -> B -> A
    }
    server.script(FILES, by_param("cursor", pages))
    seen: list[Any] = []
    with pytest.raises(PaginationError, match="repeats") as info:
        await drain(aiter(moi_scripted.connectors.files(1, page_size=2)), seen)
    assert uris(seen) == uris([file(n) for n in range(4)])
    assert [q.get("cursor", "") for q in server.queries(FILES)] == ["", "A", "B"]
    # The token continues after the last good page: once the server is fixed, nothing is lost.
    pages["B"] = {"files": files(4, 5), "cursor": "", "has_more": False}
    token = info.value.resume_token
    rest = await moi_scripted.connectors.files(1, page_size=2, resume_from=token).collect()
    assert uris(seen + rest) == uris(files(0, 1, 2, 3, 4, 5))


@pytest.mark.parametrize("cursor", [5, 0.5, {"id": "A"}, ["A"], True])
async def test_a_cursor_that_is_not_a_string_is_an_error_not_a_restart(
    server: ScriptedMOI, moi_scripted: MOIClient, cursor: object
) -> None:
    server.script(
        FILES, by_param("cursor", {"": {"files": files(0, 1), "cursor": cursor, "has_more": True}})
    )
    with pytest.raises(PaginationError, match="cursor must be a string") as info:
        await moi_scripted.connectors.files(1, page_size=2).collect()
    assert len(server.queries(FILES)) == 1
    assert info.value.resume_token is not None


@pytest.mark.parametrize("has_more", ["false", "true", 0, 1, [], {}])
async def test_has_more_of_the_wrong_type_is_an_error(
    server: ScriptedMOI, moi_scripted: MOIClient, has_more: object
) -> None:
    pages = {
        "": {"files": files(0, 1), "cursor": "A", "has_more": has_more},
        "A": {"files": files(2), "cursor": "", "has_more": False},
    }
    server.script(FILES, by_param("cursor", pages))
    with pytest.raises(PaginationError, match="has_more"):
        await moi_scripted.connectors.files(1, page_size=2).collect()
    assert len(server.queries(FILES)) == 1


# -- numbered listings -------------------------------------------------------------------------


@pytest.mark.parametrize("total", [None, 9, 1000])
async def test_a_server_that_ignores_the_page_number_is_an_error_not_a_loop(
    server: ScriptedMOI, moi_scripted: MOIClient, total: int | None
) -> None:
    same: dict[str, Any] = {"tasks": tasks(1, 2, 3)}
    if total is not None:
        same["total"] = total
    server.script(TASKS, lambda _query: same)
    seen: list[Any] = []
    with pytest.raises(PaginationError, match="ignore the page number") as info:
        await drain(aiter(moi_scripted.tasks.list(page_size=3)), seen)
    assert [t.id for t in seen] == ["1", "2", "3"]
    assert [q["page"] for q in server.queries(TASKS)] == ["1", "2"]
    # The token of the last good page asks for page 2 again, after checking that its last
    # items still end page 1 (the token carries their keys).
    server.reset()
    server.script(
        TASKS, by_param("page", {"1": {"tasks": tasks(1, 2, 3)}, "2": {"tasks": tasks(4)}})
    )
    rest = await moi_scripted.tasks.list(page_size=3, resume_from=info.value.resume_token).collect()
    assert [t.id for t in rest] == ["4"]
    assert [q["page"] for q in server.queries(TASKS)] == ["1", "2"]


@pytest.mark.parametrize("total", ["25", 2.5, True, -1, [3], {"n": 3}])
async def test_a_total_of_the_wrong_type_is_an_error(
    server: ScriptedMOI, moi_scripted: MOIClient, total: object
) -> None:
    server.script(TASKS, by_param("page", {"1": {"tasks": tasks(1, 2, 3), "total": total}}))
    with pytest.raises(PaginationError, match="total"):
        await moi_scripted.tasks.list(page_size=3).collect()


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_total_wins_over_a_short_page_from_a_server_that_caps_the_page_size(
    server: ScriptedMOI, moi_scripted: MOIClient, concurrency: int
) -> None:
    # Asked for 100 a page, the server serves 50: page N of its size, total 120.
    pages = {
        "1": {"tasks": tasks(*range(0, 50)), "total": 120},
        "2": {"tasks": tasks(*range(50, 100)), "total": 120},
        "3": {"tasks": tasks(*range(100, 120)), "total": 120},
    }
    server.script(TASKS, by_param("page", pages))
    got = await moi_scripted.tasks.list(page_size=100, concurrency=concurrency).collect()
    assert [t.id for t in got] == [str(n) for n in range(120)]
    queries = server.queries(TASKS)
    assert sorted(q["page"] for q in queries) == ["1", "2", "3"]
    assert {q["page_size"] for q in queries} == {"100"}


async def test_an_empty_page_before_the_total_is_an_error_not_the_end(
    server: ScriptedMOI, moi_scripted: MOIClient
) -> None:
    pages = {
        "1": {"tasks": tasks(1, 2, 3), "total": 9},
        "2": {"tasks": [], "total": 9},
    }
    server.script(TASKS, by_param("page", pages))
    seen: list[Any] = []
    with pytest.raises(PaginationError, match="empty although the total") as info:
        await drain(aiter(moi_scripted.tasks.list(page_size=3)), seen)
    assert [t.id for t in seen] == ["1", "2", "3"]
    assert len(server.queries(TASKS)) == 2
    pages["2"] = {"tasks": tasks(4, 5, 6), "total": 9}
    pages["3"] = {"tasks": tasks(7, 8, 9), "total": 9}
    rest = await moi_scripted.tasks.list(page_size=3, resume_from=info.value.resume_token).collect()
    assert [t.id for t in seen + rest] == [str(n) for n in range(1, 10)]


async def test_a_pagination_error_is_an_asyncsdk_error_with_the_resume_hint(
    server: ScriptedMOI, moi_scripted: MOIClient
) -> None:
    server.script(TASKS, lambda _query: {"tasks": tasks(1, 2, 3)})
    with pytest.raises(AsyncSDKError) as info:
        await moi_scripted.tasks.list(page_size=3).collect()
    assert isinstance(info.value, PaginationError)
    assert str(info.value).startswith("GET /task/list: page 2 repeats page 1")
    assert "error.resume_token" in str(info.value)
