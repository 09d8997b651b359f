"""The request pipeline's cheap paths keep every promise of the slow ones.

Calls without options, connection slots taken without a coroutine, queries handed to aiohttp as
a mapping, outcomes built without ``__init__``: each is checked here against what it replaced.
"""

from __future__ import annotations

import asyncio
import enum
from urllib.parse import parse_qsl

import pytest
from aiohttp import web

from asyncsdk import InvalidInputError, Outcome, fan_out
from asyncsdk._core.session import encode_params, query_params
from asyncsdk._core.slots import Slots

from ._scripted_pipeline import Server, ok, scripted, session


class Colour(enum.Enum):
    RED = "red"


async def test_slots_go_to_waiters_in_arrival_order() -> None:
    slots = Slots(1)
    assert slots.take_now()
    order: list[str] = []

    async def waiter(name: str) -> None:
        await slots.take()
        order.append(name)

    first = asyncio.create_task(waiter("first"))
    await asyncio.sleep(0)
    second = asyncio.create_task(waiter("second"))
    await asyncio.sleep(0)
    assert not slots.take_now()  # one is free only after a release, and waiters come first
    slots.release()
    await first
    assert order == ["first"] and not second.done()
    slots.release()
    await second
    assert order == ["first", "second"]


async def test_a_waiter_cancelled_after_being_handed_a_slot_passes_it_on() -> None:
    slots = Slots(1)
    assert slots.take_now()
    handed = asyncio.create_task(slots.take())
    after = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    slots.release()  # the slot goes to `handed`...
    handed.cancel()  # ...which is cancelled before it runs again
    async with asyncio.timeout(5):  # without passing it on, `after` would wait for ever
        await after
    assert handed.cancelled()
    slots.release()
    assert slots.take_now()  # every slot is accounted for


async def test_a_waiter_cancelled_before_its_turn_leaves_the_queue() -> None:
    slots = Slots(1)
    assert slots.take_now()
    gone = asyncio.create_task(slots.take())
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    slots.release()
    assert slots.take_now()  # the cancelled waiter neither took the slot nor blocks it


def test_the_query_mapping_says_what_the_pairs_say() -> None:
    params = {"a": "x", "gone": None, "flag": True, "off": False, "status": [1, 2], "c": Colour.RED}
    assert query_params(params) == {
        "a": "x",
        "flag": "true",
        "off": "false",
        "status": ["1", "2"],
        "c": "red",
    }
    assert encode_params(params) == [
        ("a", "x"),
        ("flag", "true"),
        ("off", "false"),
        ("status", "1"),
        ("status", "2"),
        ("c", "red"),
    ]
    assert query_params(None) == {} and encode_params({}) == []


async def test_the_query_on_the_wire_repeats_keys_in_order() -> None:
    seen: list[str] = []

    async def record(request: web.Request, server: Server) -> web.StreamResponse:
        seen.append(request.raw_path.partition("?")[2])
        return ok()

    async with scripted(record) as server:
        pipeline = session(server.url)
        try:
            await pipeline.request(
                "GET",
                "/q",
                idempotent=True,
                params={"b": "1 2", "status": (3, 4), "none": None, "on": True},
                options={"extra_query": {"z": "last"}},
            )
        finally:
            await pipeline.aclose()
    assert seen == ["b=1+2&status=3&status=4&on=true&z=last"]


async def test_a_single_parameter_reaches_the_wire_quoted_only_where_it_must() -> None:
    # One plain string parameter (an id) is handed to aiohttp as a finished query string,
    # anything else as a mapping for yarl to quote: the bytes must be what the mapping gives.
    seen: list[str] = []

    async def record(request: web.Request, server: Server) -> web.StreamResponse:
        seen.append(request.raw_path.partition("?")[2])
        return ok()

    values = ["2127225559351033859", "a-b_c.d~e", "", "a b", "a&b=c", "100%", "é/x", "a+b"]
    async with scripted(record) as server:
        pipeline = session(server.url)
        try:
            for value in values:
                await pipeline.request("GET", "/q", idempotent=True, params={"task_id": value})
            await pipeline.request("GET", "/q", idempotent=True, params={"n": 7})
        finally:
            await pipeline.aclose()
    assert seen == [
        "task_id=2127225559351033859",
        "task_id=a-b_c.d~e",
        "task_id=",
        "task_id=a+b",
        "task_id=a%26b%3Dc",
        "task_id=100%25",
        "task_id=%C3%A9/x",
        "task_id=a%2Bb",
        "n=7",
    ]
    assert [dict(parse_qsl(query, keep_blank_values=True)) for query in seen[:-1]] == [
        {"task_id": value} for value in values
    ]


async def test_a_call_without_options_gets_its_views_defaults() -> None:
    async with scripted(lambda request, server: _ok()) as server:
        pipeline = session(server.url)
        view = pipeline.derive(options={"extra_headers": {"x-view": "1"}, "request_id": "rid"})
        try:
            await view.request("GET", "/plain", idempotent=True)
            await view.request("GET", "/plain", idempotent=True, options=None)
        finally:
            await pipeline.aclose()
    assert [(s.headers["x-view"], s.headers["X-Request-ID"]) for s in server.seen] == [
        ("1", "rid"),
        ("1", "rid"),
    ]


async def _ok() -> web.StreamResponse:
    return ok()


def test_a_view_with_a_wrong_retry_is_refused_when_made() -> None:
    pipeline = session("http://127.0.0.1:9")
    with pytest.raises(InvalidInputError, match="retry must be a RetryPolicy"):
        pipeline.derive(options={"retry": "three times"})  # type: ignore[arg-type]


async def test_fan_out_outcomes_are_ordinary_outcomes() -> None:
    async def double(item: int) -> int:
        await asyncio.sleep(0)
        return item * 2

    outcomes = sorted(
        [o async for o in fan_out(double, range(5), concurrency=2)], key=lambda o: o.item
    )
    expected = [Outcome(i, value=i * 2) for i in range(5)]
    assert outcomes == expected
    assert [hash(o) for o in outcomes] == [hash(o) for o in expected]
    assert repr(outcomes[1]) == repr(expected[1])
    with pytest.raises(AttributeError):
        outcomes[0].value = 7  # type: ignore[misc]  # frozen, as ever
