"""The resource layer, against a scripted server: ids are exactly one path segment, every public
argument is checked before anything is sent, the call options reach the wire, and the names and
sort arguments that match across services land on each endpoint's own wire names."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from asyncsdk import (
    AsyncPaginator,
    Dataset,
    InvalidInputError,
    JobFileStatus,
    MaxirClient,
    MOIClient,
    NotFoundError,
    RetryPolicy,
    S3Config,
    TaskStatus,
)
from asyncsdk._core.download import Download

from ._scripted_resources import Script, scripted

S3 = S3Config("s3.example", "AKIA", "s3-secret", "bucket", "us-east-1")
USER = "tmm-user-1"
BYOA = "/byoa/api/v1"
#: Ids that would leave their path segment, or that no service issues.
ESCAPING = ["..", ".", "", "  ", "a\nb", "a\x00b", "\u2028"]


@pytest.fixture
async def moi_server() -> AsyncIterator[tuple[Script, MOIClient]]:
    async with (
        scripted("moi") as script,
        MOIClient(script.url, account_name="acct", username="admin", password="pw") as client,
    ):
        yield script, client


@pytest.fixture
async def mx_server() -> AsyncIterator[tuple[Script, MaxirClient]]:
    async with (
        scripted("maxir") as script,
        MaxirClient(script.url, api_key="pd-key-0123456789", user_id=USER) as client,
    ):
        yield script, client


async def run(made: Any) -> Any:
    """Drive whatever a resource method returned: await a coroutine, collect a listing, read a
    download."""
    if inspect.isawaitable(made):
        return await made
    if isinstance(made, AsyncPaginator):
        return await made.collect()
    if isinstance(made, Download):
        return [chunk async for chunk in made]
    raise AssertionError(f"unexpected {made!r}")


async def refused(script: Script, argument: str, call: Callable[[], Any]) -> None:
    """``call`` raises InvalidInputError naming ``argument``, and nothing reaches the server."""
    with pytest.raises(InvalidInputError, match=argument):
        await run(call())
    assert script.calls() == []


# -- ids are one path segment ---------------------------------------------------------------

MOI_PATH_CALLS: list[tuple[str, str, Callable[[MOIClient, str], Any]]] = [
    ("jobs.get", "job_id", lambda m, i: m.jobs.get(i)),
    ("jobs.files", "job_id", lambda m, i: m.jobs.files(i)),
    ("jobs.file_counts", "job_id", lambda m, i: m.jobs.file_counts(i)),
    ("jobs.retry_files", "job_id", lambda m, i: m.jobs.retry_files(i, ["f"])),
    ("jobs.wait", "job_id", lambda m, i: m.jobs.wait(i)),
    ("workflows.get", "workflow_id", lambda m, i: m.workflows.get(i)),
    ("workflows.update", "workflow_id", lambda m, i: m.workflows.update(i, name="n")),
    ("workflows.delete", "workflow_id", lambda m, i: m.workflows.delete(i)),
    ("processed.children", "volume_id", lambda m, i: m.volumes.processed.children(i)),
    ("processed.delete", "volume_id", lambda m, i: m.volumes.processed.delete(i)),
    ("processed.files", "volume_id", lambda m, i: m.volumes.processed.files(i)),
    ("processed.delete_file v", "volume_id", lambda m, i: m.volumes.processed.delete_file(i, "f")),
    ("processed.delete_file", "file_id", lambda m, i: m.volumes.processed.delete_file("v", i)),
    ("processed.download", "file_id", lambda m, i: m.volumes.processed.download("v", i)),
    ("processed.blocks", "file_id", lambda m, i: m.volumes.processed.blocks("v", i)),
    (
        "processed.delete_blocks",
        "file_id",
        lambda m, i: m.volumes.processed.delete_blocks("v", i, ["b"]),
    ),
    ("connectors.delete", "connector_id", lambda m, i: m.connectors.delete(i)),
    ("connectors.update", "connector_id", lambda m, i: m.connectors.update(i, name="n")),
]

MAXIR_PATH_CALLS: list[tuple[str, str, Callable[[MaxirClient, str], Any]]] = [
    ("datasets.get", "dataset_id", lambda x, i: x.datasets.get(i)),
    ("datasets.status", "dataset_id", lambda x, i: x.datasets.status(i)),
    ("datasets.wait", "dataset_id", lambda x, i: x.datasets.wait(i)),
    ("datasets.update", "dataset_id", lambda x, i: x.datasets.update(i, name="n")),
    ("datasets.delete", "dataset_id", lambda x, i: x.datasets.delete(i)),
    (
        "datasources.create",
        "dataset_id",
        lambda x, i: x.datasources.create(i, "a.csv", url="https://h/a.csv"),
    ),
    ("datasources.list", "dataset_id", lambda x, i: x.datasources.list(i)),
    ("datasources.get", "datasource_id", lambda x, i: x.datasources.get("d", i)),
    ("datasources.delete", "datasource_id", lambda x, i: x.datasources.delete("d", i)),
    ("datasources.delete d", "dataset_id", lambda x, i: x.datasources.delete(i, "s")),
    ("datasources.presign", "datasource_id", lambda x, i: x.datasources.presign("d", i)),
    ("datasources.download", "datasource_id", lambda x, i: x.datasources.download("d", i)),
    ("datasources.wait", "datasource_id", lambda x, i: x.datasources.wait("d", i)),
]


@pytest.mark.parametrize(
    ("argument", "call"),
    [pytest.param(arg, call, id=name) for name, arg, call in MOI_PATH_CALLS],
)
async def test_moi_ids_that_escape_their_segment_are_refused_before_sending(
    moi_server: tuple[Script, MOIClient], argument: str, call: Callable[[MOIClient, str], Any]
) -> None:
    script, moi = moi_server
    for bad in ESCAPING:
        await refused(script, argument, functools.partial(call, moi, bad))


@pytest.mark.parametrize(
    ("argument", "call"),
    [pytest.param(arg, call, id=name) for name, arg, call in MAXIR_PATH_CALLS],
)
async def test_maxir_ids_that_escape_their_segment_are_refused_before_sending(
    mx_server: tuple[Script, MaxirClient], argument: str, call: Callable[[MaxirClient, str], Any]
) -> None:
    script, mx = mx_server
    for bad in ESCAPING:
        await refused(script, argument, functools.partial(call, mx, bad))


async def test_the_reported_escapes_send_nothing(
    moi_server: tuple[Script, MOIClient], mx_server: tuple[Script, MaxirClient]
) -> None:
    # The two cases the issue reproduced: DELETE .../volumes/vol-1/ and DELETE /v2/team/.
    moi_script, moi = moi_server
    mx_script, mx = mx_server
    with pytest.raises(InvalidInputError, match="file_id"):
        await moi.volumes.processed.delete_file("vol-1", "..")
    with pytest.raises(InvalidInputError, match="dataset_id"):
        await mx.datasets.delete("..")
    assert moi_script.calls() == [] and mx_script.calls() == []


async def test_an_id_is_exactly_one_encoded_segment(
    moi_server: tuple[Script, MOIClient], mx_server: tuple[Script, MaxirClient]
) -> None:
    moi_script, moi = moi_server
    mx_script, mx = mx_server
    await moi.volumes.processed.delete_file("v/1", "../f")
    await mx.datasets.delete("a/..%2F")
    [delete] = moi_script.calls()
    assert (delete.method, delete.raw_path) == (
        "DELETE",
        f"{BYOA}/explore/volumes/v%2F1/files/..%2Ff",
    )
    [mx_delete] = mx_script.calls()
    assert (mx_delete.method, mx_delete.raw_path) == ("DELETE", "/v2/team/datasets/a%2F..%252F")
    assert mx_delete.body == {"user_id": USER}


# -- request shapes ---------------------------------------------------------------------------


async def test_maxir_puts_user_id_in_the_query_of_gets_and_the_body_of_the_rest(
    mx_server: tuple[Script, MaxirClient],
) -> None:
    script, mx = mx_server
    script.answer("POST", "/v2/team/datasets", {"code": 0, "data": {"id": "dset-9"}})
    listing = {"records": [], "total_items": 0, "page_number": 1, "page_size": 100}
    script.answer("GET", "/v2/team/datasets/d1/datasources", {"code": 0, "data": listing})
    created = await mx.datasets.create("Q3", trace_id="t-1")
    await mx.datasources.list("d1", status=["synched"], user_id="tmm-other").collect()
    await mx.datasets.delete("d1")
    create, listed, delete = script.calls()
    assert created == Dataset("dset-9", "Q3", None)
    assert (create.method, create.raw_path, create.query) == ("POST", "/v2/team/datasets", [])
    assert create.body == {"name": "Q3", "user_id": USER}
    assert create.headers["x-pd-external-trace-id"] == "t-1"
    assert listed.query == [
        ("status", "synched"),
        ("user_id", "tmm-other"),
        ("page_number", "1"),
        ("page_size", "100"),
    ]
    assert listed.body is None and "x-pd-external-trace-id" not in listed.headers
    assert (delete.method, delete.query, delete.body) == ("DELETE", [], {"user_id": USER})


async def test_one_sort_pair_lands_on_each_endpoints_wire_names(
    moi_server: tuple[Script, MOIClient],
) -> None:
    script, moi = moi_server
    await moi.tasks.list(order_by="created_at", descending=True).collect()
    await moi.connectors.list(order_by="name", descending=False).collect()
    await moi.jobs.list(order_by="created_at", descending=False).collect()
    await moi.workflows.list(order_by="name", descending=True).collect()
    await moi.volumes.processed.files("v", order_by="file_name", descending=False).collect()
    tasks, connectors, jobs, workflows, files = script.calls()
    assert ("order_by", "created_at") in tasks.query and ("is_desc", "true") in tasks.query
    assert ("order_by", "name") in connectors.query and ("is_desc", "false") in connectors.query
    assert ("sort_field", "created_at") in jobs.query and ("sort_order", "ascend") in jobs.query
    assert ("sort_field", "name") in workflows.query
    assert ("sort_order", "descend") in workflows.query
    assert files.body["sorter"] == {"sort_by": "file_name", "is_desc": False}


async def test_file_listings_filter_with_status_on_both_resources(
    moi_server: tuple[Script, MOIClient],
) -> None:
    script, moi = moi_server
    await moi.tasks.files("t1", status=[3]).collect()
    await moi.jobs.files("j1", status=[JobFileStatus.FAILED]).collect()
    task_files, job_files = script.calls()
    assert ("status", "3") in task_files.query
    assert job_files.raw_path == f"{BYOA}/index_workflow_job/j1/files"
    assert ("statuses", str(int(JobFileStatus.FAILED))) in job_files.query


async def test_retries_return_the_ids_sent_on_both_resources(
    moi_server: tuple[Script, MOIClient],
) -> None:
    script, moi = moi_server
    assert await moi.tasks.retry_files("t1", ["f1", "f2"]) == ["f1", "f2"]
    assert await moi.jobs.retry_files("j1", ["f3"]) == ["f3"]
    assert await moi.tasks.retry_failed("t1") == []
    assert await moi.jobs.retry_failed("j1") == []
    task_retry, job_retry, *_ = script.calls()
    assert task_retry.body == {"task_id": "t1", "ids": ["f1", "f2"]}
    assert (job_retry.method, job_retry.body) == ("POST", {"files": ["f3"]})


async def test_resolve_true_returns_the_model_or_raises_not_found(
    moi_server: tuple[Script, MOIClient],
) -> None:
    script, moi = moi_server
    assert await moi.volumes.raw.create("landing") is None  # type: ignore[func-returns-value]  # the documented None
    with pytest.raises(NotFoundError, match="landing"):
        await moi.volumes.raw.create("landing", resolve=True)
    volumes = {"volumes": [{"id": "rv-1", "name": "landing"}]}
    script.answer("POST", "/DescribeOriginVolumes", {"code": "OK", "data": volumes})
    volume = await moi.volumes.raw.create("landing", resolve=True)
    assert volume.id == "rv-1"


# -- call options reach the wire ----------------------------------------------------------------


async def test_call_options_reach_every_request_of_both_services(
    moi_server: tuple[Script, MOIClient], mx_server: tuple[Script, MaxirClient]
) -> None:
    moi_script, moi = moi_server
    mx_script, mx = mx_server
    task = {"code": "OK", "data": {"task": {"id": "t1", "status": 1}}}
    moi_script.answer("GET", "/task/get", task)

    def page(seen: Any) -> dict[str, Any]:
        number = dict(seen.query)["page"]
        return {"code": "OK", "data": {"tasks": [{"id": f"t{number}"}], "total": 2}}

    moi_script.answer("GET", "/task/list", page)
    options: dict[str, Any] = {
        "extra_headers": {"x-debug": "1"},
        "extra_query": {"beta": "on"},
        "request_id": "req-42",
        "timeout": 5,
        "retry": RetryPolicy.disabled(),
    }
    await moi.tasks.get("t1", **options)
    await moi.tasks.list(page_size=1, **options).collect()
    await mx.datasets.delete("d1", **options)
    for call in [*moi_script.calls(), *mx_script.calls()]:
        assert call.headers["x-debug"] == "1"
        assert call.headers["X-Request-ID"] == "req-42"
        assert ("beta", "on") in call.query
    assert len(moi_script.calls()) == 3  # the get and both pages


async def test_extra_body_reaches_a_post(moi_server: tuple[Script, MOIClient]) -> None:
    script, moi = moi_server
    await moi.tasks.pause("t1", extra_body={"force": True})
    [pause] = script.calls()
    assert pause.body == {"task_id": "t1", "force": True}


# -- every public argument is checked -----------------------------------------------------------

# The calls are wrong on purpose: the client is typed Any so the type checker lets them through.
MOI_CARELESS: list[tuple[str, str, Callable[[Any], Any]]] = [
    (
        "load_interval_type None",
        "load_interval_type",
        lambda m: m.tasks.create(1, "v", ["a"], load_interval_type=None),
    ),
    ("until a string", "until", lambda m: m.tasks.wait("t", until="FINISHED")),
    ("until empty", "until", lambda m: m.tasks.wait("t", until=[])),
    ("until ints", "until", lambda m: m.tasks.wait("t", until=[3])),
    ("max_wait inf", "max_wait", lambda m: m.tasks.wait("t", max_wait=float("inf"))),
    ("max_wait negative", "max_wait", lambda m: m.jobs.wait("j", max_wait=-1)),
    ("interval zero", "interval", lambda m: m.jobs.wait("j", interval=0)),
    ("max_interval small", "max_interval", lambda m: m.tasks.wait("t", interval=5, max_interval=1)),
    ("superscript id", "connector_id", lambda m: m.connectors.files("²")),
    ("arabic digits", "connector_id", lambda m: m.connectors.delete("١٢")),
    ("superscript create", "connector_id", lambda m: m.tasks.create("²", "v", ["a"])),
    ("descending a string", "descending", lambda m: m.tasks.list(descending="false")),
    ("order_by a number", "order_by", lambda m: m.jobs.list(order_by=5)),
    ("order_by unknown", "order_by", lambda m: m.tasks.list(order_by="name")),
    ("keyword a number", "keyword", lambda m: m.tasks.list(keyword=5)),
    ("resolve a string", "resolve", lambda m: m.connectors.create("c", S3, resolve="yes")),
    ("batch_size zero", "batch_size", lambda m: m.tasks.retry_failed("t", batch_size=0)),
    ("delete_data a string", "delete_data", lambda m: m.workflows.delete("w", delete_data="yes")),
    ("workflow_using int", "workflow_using", lambda m: m.volumes.processed.list(workflow_using=1)),
    ("timeout a string", "timeout", lambda m: m.tasks.get("t", timeout="5")),
    ("timeout inf", "timeout", lambda m: m.tasks.get("t", timeout=float("inf"))),
    ("retry an int", "retry", lambda m: m.jobs.get("j", retry=3)),
    ("unknown option", "timeot", lambda m: m.tasks.get("t", timeot=5)),
    ("paging on unpaged", "page_size", lambda m: m.volumes.raw.list(page_size=10)),
    ("concurrency zero", "concurrency", lambda m: m.jobs.files("j", concurrency=0)),
    ("cursor concurrency", "concurrency", lambda m: m.connectors.files(1, concurrency=2)),
    (
        "chunk_size zero",
        "chunk_size",
        lambda m: m.volumes.processed.download("v", "f", chunk_size=0),
    ),
    (
        "source_type text",
        "source_type",
        lambda m: m.connectors.validate(connector_id=1, source_type="s3"),
    ),
]

MAXIR_CARELESS: list[tuple[str, str, Callable[[Any], Any]]] = [
    ("max_wait negative", "max_wait", lambda x: x.datasources.wait("d", "s", max_wait=-1)),
    ("interval a string", "interval", lambda x: x.datasets.wait("d", interval="1")),
    (
        "grace nan",
        "invalid_grace",
        lambda x: x.datasources.wait("d", "s", invalid_grace=float("nan")),
    ),
    ("trace id newline", "trace_id", lambda x: x.datasets.get("d", trace_id="a\nb")),
    ("user id empty", "user_id", lambda x: x.datasets.list(user_id=" ")),
    ("extra_query list", "extra_query", lambda x: x.datasets.get("d", extra_query=[("a", 1)])),
]


@pytest.mark.parametrize(
    ("argument", "call"), [pytest.param(arg, call, id=name) for name, arg, call in MOI_CARELESS]
)
async def test_moi_careless_arguments_are_refused_by_name(
    moi_server: tuple[Script, MOIClient], argument: str, call: Callable[[MOIClient], Any]
) -> None:
    script, moi = moi_server
    await refused(script, argument, lambda: call(moi))


@pytest.mark.parametrize(
    ("argument", "call"), [pytest.param(arg, call, id=name) for name, arg, call in MAXIR_CARELESS]
)
async def test_maxir_careless_arguments_are_refused_by_name(
    mx_server: tuple[Script, MaxirClient], argument: str, call: Callable[[MaxirClient], Any]
) -> None:
    script, mx = mx_server
    await refused(script, argument, lambda: call(mx))


async def test_wait_accepts_a_set_of_statuses(moi_server: tuple[Script, MOIClient]) -> None:
    script, moi = moi_server
    paused = {"code": "OK", "data": {"task": {"id": "t1", "status": int(TaskStatus.PAUSED)}}}
    script.answer("GET", "/task/get", paused)
    task = await moi.tasks.wait("t1", until={TaskStatus.PAUSED, TaskStatus.FINISHED})
    assert task.status is TaskStatus.PAUSED
