"""Today's MOI wire: the generation the vendor's own clients speak, next to the seed-era one.

Two kinds of peer:

- a **scripted server** (below) that speaks only the vendor's shapes: ``GET /task/get`` answers
  with the task itself (string status and times, extra fields), and the job listing reads one
  page parameter and ignores every other query parameter, as the FastAPI service does. Each
  test states the exact bytes it serves;
- the **emulator** in each generation (the ``api`` fixture), strict about parameters.

Auth: ``moi-key`` only, as today's service (the scripted server has no login at all).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from asyncsdk import (
    BadRequestError,
    JobStatus,
    LoadResult,
    MOIClient,
    TaskStatus,
    VolumePath,
)
from asyncsdk.emulator import Emulator
from asyncsdk.emulator._state import Generation
from asyncsdk.moi.paths import resolve_paths

KEY = "scripted-moi-key"
TASK_ID = "1951493029432578048"
JOBS_PATH = "/byoa/api/v1/workflow_job"

# The current /task/get answer, byte for byte: the task itself as data, its status a name,
# its times strings, and the fields the vendor's Go model adds.
TASK_BODY = (
    b'{"code":"OK","msg":"OK","request_id":"srv-1","data":{"id":"1951493029432578048",'
    b'"source_connector_id":100001,"source_connector_type":"5","volume_id":"vol-9",'
    b'"volume_name":"landing","volume_path":{"id_list":["db-1","vol-9"],'
    b'"name_list":["db","landing"]},"name":"nightly","creator":"admin","status":"running",'
    b'"source_config":{"common_file_task_config":{"load_mode_config":'
    b'{"load_interval_type":4,"interval":0},"uris":["data/"]}},'
    b'"start_at":"2025-07-25T10:00:00+08:00","created_at":"2025-07-25T09:59:58Z",'
    b'"updated_at":"2025-07-25T10:00:02Z","connector_name":"s3-in",'
    b'"source_files":[["a.pdf"]],"load_results":[{"lines":12}]}}'
)

# Five jobs; triggerTaskID comes as a string or a number.
JOBS = [
    {
        "id": f"0198a3f0-0000-7000-8000-00000000000{n}",
        "workflow_id": "wf-1",
        "status": 2 if n < 4 else 1,
        "start_time": f"2025-07-25 10:0{n}:00.000000+0000",
        "end_time": None if n == 4 else f"2025-07-25 10:0{n}:30.000000+0000",
        "description": {"triggerTaskID": TASK_ID if n % 2 else int(TASK_ID)},
    }
    for n in range(5)
]


class Scripted:
    """A MOI that reads only ``page_param`` for job pages, and logs what it was sent."""

    def __init__(self, page_param: str) -> None:
        self.page_param = page_param
        self.queries: list[dict[str, str]] = []

    def authorised(self, request: web.Request) -> bool:
        return request.headers.get("moi-key") == KEY

    async def task(self, request: web.Request) -> web.Response:
        if not self.authorised(request):
            return web.Response(status=401, body=b'{"code":"ErrUnauthorized","msg":"no"}')
        assert request.query["task_id"] == TASK_ID
        return web.Response(body=TASK_BODY, content_type="application/json")

    async def jobs(self, request: web.Request) -> web.Response:
        if not self.authorised(request):
            return web.Response(status=401, body=b'{"code":"ErrUnauthorized","msg":"no"}')
        self.queries.append(dict(request.query))
        page = int(request.query.get(self.page_param, "1"))  # anything else is ignored
        size = int(request.query.get("page_size", "20"))
        chosen = JOBS[(page - 1) * size : page * size]
        body = {"code": "ok", "msg": "ok", "data": {"total": len(JOBS), "jobs": chosen}}
        return web.Response(
            body=json.dumps(body, separators=(",", ":")).encode(),
            content_type="application/json",
        )


@pytest.fixture
async def scripted(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Scripted, str]]:
    server = Scripted(getattr(request, "param", "page"))
    app = web.Application()
    app.router.add_get("/task/get", server.task)
    app.router.add_get(JOBS_PATH, server.jobs)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield server, f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def client(url: str) -> MOIClient:
    return MOIClient(url, api_key=KEY, paths="current")


async def test_the_flat_task_answer_is_read_exactly(scripted: tuple[Scripted, str]) -> None:
    _, url = scripted
    async with client(url) as moi:
        task = await moi.tasks.get(TASK_ID)
    assert task.id == TASK_ID
    assert task.status is TaskStatus.RUNNING
    assert task.volume_id == "vol-9" and task.source_connector_id == "100001"
    assert (
        task.created_at is not None and task.created_at.isoformat() == "2025-07-25T09:59:58+00:00"
    )
    assert task.start_at is not None and task.start_at.utcoffset() is not None
    assert task.start_at.isoformat() == "2025-07-25T10:00:00+08:00"
    assert task.end_at is None
    assert task.volume_path == VolumePath(id_list=("db-1", "vol-9"), name_list=("db", "landing"))
    assert task.load_results == (LoadResult(lines=12),)


@pytest.mark.parametrize("scripted", ["page", "page_num"], indirect=True)
async def test_jobs_are_listed_each_once_whichever_page_name_is_read(
    scripted: tuple[Scripted, str],
) -> None:
    server, url = scripted
    async with client(url) as moi:
        jobs = await moi.jobs.list(page_size=2).collect()
    assert [j.id for j in jobs] == [j["id"] for j in JOBS]
    assert len(server.queries) == 3  # pages of 2, 2 and 1: no page asked twice
    assert {j.description.trigger_task_id for j in jobs if j.description} == {TASK_ID}
    assert jobs[4].end_time is None and jobs[4].status is JobStatus.RUNNING


async def test_the_vendor_filters_are_sent(scripted: tuple[Scripted, str]) -> None:
    server, url = scripted
    async with client(url) as moi:
        await moi.jobs.list(
            workflow_id="wf-1", status=JobStatus.COMPLETED, source_file_id="f-7", page_size=5
        ).collect()
    assert server.queries[0] == {
        "page": "1",
        "page_num": "1",
        "page_size": "5",
        "status": "completed",
        "source_file_id": "f-7",
        "workflow_id": "wf-1",
    }


# -- the emulator in each generation ----------------------------------------------------------


@pytest.fixture
async def emu(api: Generation) -> AsyncIterator[Emulator]:
    async with Emulator(api=api, workflow_jobs=12) as emulator:
        yield emulator


async def raw_get(
    emu: Emulator, path: str, headers: dict[str, str], **query: str
) -> tuple[int, dict[str, Any], str]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(emu.url + path, params=query, headers=headers) as r,
    ):
        return r.status, await r.json(), r.headers["X-Request-Id"]


async def test_an_api_key_is_accepted_in_each_generation(emu: Emulator) -> None:
    jobs = resolve_paths(emu.api).jobs
    page = "page" if emu.api == "current" else "page_num"
    headers = {"moi-key": emu.api_key, "X-Request-ID": "req-42"}
    status, body, echoed = await raw_get(emu, jobs, headers, **{page: "2", "page_size": "5"})
    assert (status, body["code"], body["data"]["total"], len(body["data"]["jobs"])) == (
        200,
        "ok",
        12,
        5,
    )
    assert echoed == "req-42"
    status, body, echoed = await raw_get(emu, "/task/list", headers)
    assert status == 200 and echoed == "req-42"
    assert body.get("request_id") == ("req-42" if emu.api == "current" else None)
    assert emu.stats.logins == 0
    assert [r.auth for r in emu.requests] == ["api_key", "api_key"]
    assert [r.request_id for r in emu.requests] == ["req-42", "req-42"]

    status, body, _ = await raw_get(emu, "/task/list", {"moi-key": "wrong"})
    assert (status, body["code"]) == (401, "ErrUnauthorized")


async def test_an_api_key_client_makes_one_request_per_call_in_each_generation(
    emu: Emulator,
) -> None:
    async with MOIClient(emu.url, api_key=emu.api_key, paths=emu.api) as moi:
        before = len(emu.requests)
        task = await moi.tasks.list(page_size=100).first()
        assert task is not None and len(emu.requests) == before + 1
        assert (await moi.tasks.get(task.id)).id == task.id
        assert len(emu.requests) == before + 2
        jobs = await moi.jobs.list(page_size=100).collect()
        assert len(jobs) == 12 and len(emu.requests) == before + 3
    assert emu.stats.logins == 0 and emu.stats.refreshes == 0
    assert {r.auth for r in emu.requests} == {"api_key"}


async def test_the_login_flow_works_in_each_generation(emu: Emulator) -> None:
    async with MOIClient(emu.url, paths=emu.api, **emu.moi_credentials) as moi:
        jobs = await moi.jobs.list(page_size=5).collect()
        task = await moi.tasks.list().first()
        assert task is not None
        assert (await moi.tasks.get(task.id)).id == task.id
    assert len({j.id for j in jobs}) == 12
    assert emu.stats.logins == 1


async def test_unknown_parameters_are_refused_by_name(emu: Emulator) -> None:
    headers = {"moi-key": emu.api_key}
    status, body, _ = await raw_get(emu, "/task/list", headers, pagesize="5")
    assert status == 400 and "'pagesize'" in body["msg"]
    jobs = resolve_paths(emu.api).jobs
    status, body, _ = await raw_get(emu, jobs, headers, workflowid="x")
    assert status == 400 and "'workflowid'" in body["detail"]
    # The other generation's page name alone would be ignored by the service: refused.
    other = "page_num" if emu.api == "current" else "page"
    status, body, _ = await raw_get(emu, jobs, headers, **{other: "2"})
    assert status == 400 and repr(other) in body["detail"]


async def test_job_filters_are_honoured_or_refused(emu: Emulator) -> None:
    processing = emu.state.processing
    assert processing is not None
    job = next(iter(processing.jobs.values()))
    source_file_id = processing.files[job["file_ids"][0]]["source_file_id"]
    async with MOIClient(emu.url, paths=emu.api, **emu.moi_credentials) as moi:
        listing = moi.jobs.list(source_file_id=source_file_id, status=JobStatus.COMPLETED)
        if emu.api == "seed":
            # The seed-era service has neither filter; a real one would ignore them silently.
            with pytest.raises(BadRequestError, match=r"source_file_id|status"):
                await listing.collect()
            return
        assert [j.id for j in await listing.collect()] == [job["id"]]
        assert await moi.jobs.list(status=JobStatus.RUNNING).collect() == []


async def test_a_lenient_emulator_ignores_what_it_does_not_know() -> None:
    async with Emulator(strict=False) as lenient:
        status, body, _ = await raw_get(
            lenient, "/task/list", {"moi-key": lenient.api_key}, pagesize="5"
        )
        assert status == 200 and body["data"]["total"] == lenient.config.tasks


async def test_unknown_nested_fields_are_refused_by_their_path(emu: Emulator) -> None:
    volume_id = next(iter(emu.state.raw_volumes.volumes))
    body = {
        "source_connector_id": 100001,
        "volume_id": volume_id,
        "source_config": {
            "common_file_task_config": {
                "load_mode_config": {"load_interval_type": 4, "interval": 0, "every": 5},
                "uris": ["data/"],
            }
        },
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{emu.url}/task", json=body, headers={"moi-key": emu.api_key}) as r,
    ):
        assert r.status == 400
        assert "'load_mode_config.every'" in (await r.json())["msg"]
    assert emu.state.moi_tasks is not None and len(emu.state.moi_tasks.tasks) == 20
