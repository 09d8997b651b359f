"""Property: whatever paging metadata a server sends (cursor, has_more, total, page items), a
listing raises only asyncsdk errors, and never makes more than ``pages + 1`` requests.

The scripted server answers each page by its cursor or page number, so a cycle in the script
is a real cycle on the wire: a client that follows it loops until the server's request limit,
and the bound fails.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncsdk import AsyncSDKError, MOIClient, RetryPolicy
from asyncsdk._core.paging import _RELOCATE_PAGES, _STUCK_LIMIT

from ._scripted_paging import Reply, ScriptedMOI, by_param

FILES = "/connectors/files/list"
TASKS = "/task/list"
KEYS = ["", "A", "B", "C"]
MISSING = object()

odd = st.sampled_from(["", "false", "true", "25", 0, 1, -1, 2.5, True, False, [], {}, ["A"]])
cursors = st.sampled_from(KEYS) | st.none() | odd | st.text(max_size=3)
has_mores = st.none() | st.booleans() | odd
totals = st.none() | st.integers(-2, 20) | odd
numbers = st.integers(0, 5)
items: st.SearchStrategy[Any] = st.lists(numbers, max_size=4) | st.sampled_from(
    [None, {}, "x", 5, [None], [1, "a"]]
)


def field(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A metadata field's value, or the field left out."""
    return st.just(MISSING) | values


def page(key: str, entries: Any, **meta: Any) -> dict[str, Any]:
    if isinstance(entries, list):
        entries = [
            {"uri": f"s3://b/{n}", "id": str(n)} if isinstance(n, int) else n for n in entries
        ]
    doc = {key: entries}
    doc.update({name: value for name, value in meta.items() if value is not MISSING})
    return doc


cursor_pages = st.lists(
    st.builds(
        lambda entries, cursor, has_more, total: page(
            "files", entries, cursor=cursor, has_more=has_more, total=total
        ),
        items,
        field(cursors),
        field(has_mores),
        field(totals),
    ),
    min_size=1,
    max_size=len(KEYS),
)
numbered_pages = st.lists(
    st.builds(lambda entries, total: page("tasks", entries, total=total), items, field(totals)),
    min_size=1,
    max_size=5,
)
# What the server answers past the scripted pages: the last page again (it ignores the page
# number), an empty page, or an error.
beyond = st.sampled_from(["repeat", "empty", "missing"])


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedMOI]:
    with ScriptedMOI(limit=100) as scripted:
        yield scripted


async def _list(url: str, call: str, prefetch: int, drift: list[int] | None = None) -> None:
    async with MOIClient(
        url, account_name="a", username="u", password="p", retry=RetryPolicy.disabled()
    ) as moi:
        if call == "files":
            listing: Any = moi.connectors.files(1, page_size=3, prefetch=prefetch)
        else:
            listing = moi.tasks.list(page_size=3, prefetch=prefetch)
        try:
            await asyncio.wait_for(listing.collect(), 10)
        finally:
            if drift is not None:
                drift.append(listing.drift_requests)


FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE_OK)
@given(pages=cursor_pages, prefetch=st.integers(0, 2))
def test_cursor_metadata_only_raises_asyncsdk_errors_within_pages_plus_one_requests(
    server: ScriptedMOI, pages: list[dict[str, Any]], prefetch: int
) -> None:
    server.reset()
    server.script(FILES, by_param("cursor", dict(zip(KEYS, pages, strict=False))))
    with contextlib.suppress(AsyncSDKError):  # anything else fails the test
        asyncio.run(_list(server.url, "files", prefetch))
    assert server.request_count <= len(pages) + 1


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE_OK)
@given(pages=numbered_pages, after=beyond, prefetch=st.integers(0, 2))
def test_numbered_metadata_only_raises_asyncsdk_errors_within_pages_plus_one_requests(
    server: ScriptedMOI, pages: list[dict[str, Any]], after: str, prefetch: int
) -> None:
    def answer(query: dict[str, str]) -> Any:
        number = int(query["page"])
        if number <= len(pages):
            return pages[number - 1]
        if after == "repeat":
            return pages[-1]
        if after == "empty":
            return {"tasks": []}
        return Reply(404, {"code": "ErrNotFound", "msg": "no such page"})

    server.reset()
    server.script(TASKS, answer)
    drift: list[int] = []
    with contextlib.suppress(AsyncSDKError):  # anything else fails the test
        asyncio.run(_list(server.url, "tasks", prefetch, drift))
    # A total that changes between pages reads as rows moving: the pass looks for its place
    # again (drift_requests), a bounded number of times.
    # At most _STUCK_LIMIT relocations in a row hand out nothing new; each costs at most
    # _RELOCATE_PAGES requests and the page dropped.
    assert drift[0] <= (_STUCK_LIMIT + 3 * len(pages)) * (_RELOCATE_PAGES + 1)
    assert server.request_count <= len(pages) + 1 + drift[0]
