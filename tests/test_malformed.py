"""Property: whatever a service answers — malformed bodies, wrong types, truncated JSON, odd
statuses — only asyncsdk errors escape, never a bare KeyError, TypeError or ValueError."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncsdk import AsyncSDKError, MaxirClient, MOIClient, OSSConfig, RetryPolicy

from ._threaded_moi import ThreadedMOI

# Keys the SDK looks for, so generated objects often look almost right.
KEYS = [
    "code",
    "msg",
    "message",
    "data",
    "request_id",
    "detail",
    "tasks",
    "task",
    "files",
    "file",
    "connectors",
    "total",
    "total_items",
    "records",
    "page_size",
    "cursor",
    "has_more",
    "id",
    "status",
    "name",
    "valid",
    "jobs",
    "workflows",
    "volumes",
    "items",
    "metrics",
    "values",
    "created_at",
    "type",
    "size",
    "uri",
    "presigned_url",
    "expires_at",
    "file_total",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=25,
)


def _truncate(text: str, cut: float) -> bytes:
    return text.encode()[: max(0, int(len(text) * cut))]


bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    json_values.map(lambda v: json.dumps({"code": "OK", "msg": "OK", "data": v}).encode()),
    json_values.map(lambda v: json.dumps({"code": 0, "data": v}).encode()),
    st.tuples(json_values, st.floats(0, 0.99)).map(
        lambda p: _truncate(json.dumps({"code": "OK", "data": p[0]}), p[1])
    ),
    st.binary(max_size=64),
    st.sampled_from([b"", b"null", b"<html>502</html>", b'{"code":"OK","data":']),
)
statuses = st.sampled_from([200, 200, 200, 200, 201, 204, 400, 401, 404, 409, 422, 429, 500, 503])


class Fuzzed(ThreadedMOI):
    """A server on its own thread: valid MOI login/refresh, the fuzzed answer everywhere else."""

    def __init__(self) -> None:
        super().__init__()
        self.body = b""
        self.status = 200

    async def answer(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=self.body, status=self.status, content_type="application/json")

    def __enter__(self) -> Fuzzed:
        super().__enter__()
        return self


@pytest.fixture(scope="module")
def server() -> Iterator[Fuzzed]:
    with Fuzzed() as fuzzed:
        yield fuzzed


NOW = datetime(2025, 2, 12, tzinfo=UTC)
MOI_CALLS: dict[str, Callable[[MOIClient], Awaitable[Any]]] = {
    "tasks.get": lambda m: m.tasks.get("1"),
    "tasks.list": lambda m: m.tasks.list(page_size=5, concurrency=2).collect(),
    "tasks.files": lambda m: m.tasks.files("1").first(),
    "tasks.file_counts": lambda m: m.tasks.file_counts("1"),
    "tasks.create": lambda m: m.tasks.create(1, "2", ["a/"]),
    "connectors.list": lambda m: m.connectors.list().first(),
    "connectors.files": lambda m: m.connectors.files(1, page_size=3).collect(),
    "connectors.validate": lambda m: m.connectors.validate(config=OSSConfig("e", "i", "s", "b")),
    "jobs.get": lambda m: m.jobs.get("j-1"),
    "jobs.list": lambda m: m.jobs.list().first(),
    "jobs.files": lambda m: m.jobs.files("j-1").first(),
    "workflows.get": lambda m: m.workflows.get("w-1"),
    "workflows.list": lambda m: m.workflows.list().first(),
    "volumes.raw.list": lambda m: m.volumes.raw.list().collect(),
    "volumes.raw.files": lambda m: m.volumes.raw.files("1").collect(),
    "volumes.processed.list": lambda m: m.volumes.processed.list().collect(),
    "volumes.processed.blocks": lambda m: m.volumes.processed.blocks("v", "f").first(),
    "metrics.query": lambda m: m.metrics.query(
        ["PipelineLoadFileCount"], NOW, NOW + timedelta(minutes=5), 60
    ),
}
MAXIR_CALLS: dict[str, Callable[[MaxirClient], Awaitable[Any]]] = {
    "datasources.list": lambda x: x.datasources.list("d-1", page_size=5).collect(),
    "datasources.get": lambda x: x.datasources.get("d-1", "s-1"),
    "datasources.create": lambda x: x.datasources.create("d-1", "a.csv", url="https://e/a.csv"),
    "datasources.presign": lambda x: x.datasources.presign("d-1", "s-1"),
    "datasets.create": lambda x: x.datasets.create("set"),
    "datasets.list": lambda x: x.datasets.list().first(),
    "datasets.get": lambda x: x.datasets.get("d-1"),
    "datasets.status": lambda x: x.datasets.status("d-1"),
}

NO_RETRY = RetryPolicy.disabled()
# The server fixture is shared on purpose: it only replays whatever body the example sets.
FIXTURE_OK = [HealthCheck.function_scoped_fixture]


async def _call_moi(url: str, name: str) -> None:
    async with MOIClient(url, account_name="a", username="u", password="p", retry=NO_RETRY) as m:
        await asyncio.wait_for(MOI_CALLS[name](m), 10)


async def _call_maxir(url: str, name: str) -> None:
    async with MaxirClient(url, api_key="k", user_id="tmm-1", retry=NO_RETRY) as x:
        await asyncio.wait_for(MAXIR_CALLS[name](x), 10)


@settings(max_examples=250, deadline=None, suppress_health_check=FIXTURE_OK)
@given(body=bodies, status=statuses, name=st.sampled_from(sorted(MOI_CALLS)))
def test_moi_answers_only_ever_raise_asyncsdk_errors(
    server: Fuzzed, body: bytes, status: int, name: str
) -> None:
    server.body, server.status = body, status
    with contextlib.suppress(AsyncSDKError):  # anything else fails the test
        asyncio.run(_call_moi(server.url, name))


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURE_OK)
@given(body=bodies, status=statuses, name=st.sampled_from(sorted(MAXIR_CALLS)))
def test_maxir_answers_only_ever_raise_asyncsdk_errors(
    server: Fuzzed, body: bytes, status: int, name: str
) -> None:
    server.body, server.status = body, status
    with contextlib.suppress(AsyncSDKError):  # anything else fails the test
        asyncio.run(_call_maxir(server.url, name))
