"""The exact wire shape of workflows, jobs, volumes and metrics (aioresponses).

Every endpoint: method, path, query and body as sent, and the documented answers (copied from
the public docs into ``tests/data/moi_docs``) parsing unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from attrs import evolve
from yarl import URL

from asyncsdk import (
    FileType,
    InvalidInputError,
    Job,
    JobFileStatus,
    JobStatus,
    MetricName,
    MOIClient,
    NotFoundError,
    ProcessInterval,
    ProcessMode,
    ServerError,
    TaskFileStatus,
    WaitTimeoutError,
    WorkflowConfig,
    WorkflowStatus,
)
from asyncsdk.emulator import MOICredentials
from asyncsdk.moi import SEED_PATHS

from ._mock_http import MockHTTP
from .wire import BASE, jwt, ok

DOCS = Path(__file__).parent / "data" / "moi_docs"
LOGIN = f"{BASE}/auth/login"
BYOA = "/byoa/api/v1"
WF = "a029a904-1e1c-41af-b361-b6578c92a437"
JOB = "0194fb2c-f5c5-7d42-8d09-fdc3d8414777"
RAW = "1889223879880048640"
RAW_FILE = "1889223944229060608"
VOL = "dbcc0d71-31f9-4799-b404-096f9e8e57f9"
PFILE = "0194fd65-e671-7e67-ba34-66967ba0fbf0"


def doc(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((DOCS / f"{name}.json").read_text(encoding="utf-8"))
    return result


def byoa(data: Any = None) -> dict[str, Any]:
    return {"code": "ok", "msg": "ok", "data": data}


def url(path: str) -> re.Pattern[str]:
    """Match ``path`` on the API with any query string."""
    return re.compile(rf"^{re.escape(BASE + path)}(\?.*)?$")


def calls(mock: MockHTTP, method: str, path: str, host: str | None = None) -> list[dict[str, Any]]:
    """Every request sent to ``method path``: its query (sorted pairs), JSON body, headers."""
    out = []
    for (sent_method, sent_url), requests in mock.requests.items():
        if sent_method != method or sent_url.path != path:
            continue
        if host is not None and sent_url.host != host:
            continue
        for request in requests:
            data = request.kwargs.get("data")
            out.append(
                {
                    "query": sorted(URL(sent_url).query.items()),
                    "json": json.loads(data) if data else None,
                    "headers": dict(request.kwargs.get("headers") or {}),
                }
            )
    return out


@pytest.fixture
async def mock() -> AsyncIterator[MockHTTP]:
    with MockHTTP() as m:
        m.post(
            LOGIN,
            payload=ok({"uid": "uid-1"}),
            headers={"Access-Token": jwt(), "Refresh-Token": jwt(lifetime=21600)},
        )
        yield m


@pytest.fixture
async def moi_mocked(mock: MockHTTP) -> AsyncIterator[MOIClient]:
    async with MOIClient(
        BASE, account_name="acct-7", username="admin:accountadmin", password="pw-1"
    ) as client:
        yield client


# -- workflows --------------------------------------------------------------------------------


def graph() -> WorkflowConfig:
    return WorkflowConfig(
        components=({"name": "DocumentSplitter", "init_parameters": {"split_length": 800}},),
        connections=({"sender": "A.documents", "receiver": "B.documents"},),
    )


async def test_workflow_create_sends_the_documented_body_and_returns_none(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    mock.post(url(f"{BYOA}/index_workflow"), payload=byoa(None))
    result = await moi_mocked.workflows.create(  # type: ignore[func-returns-value]
        "wf-3",
        source_volume_ids=[RAW],
        source_volume_names=["b-vol1"],
        target_volume_id="eb42f0a1-ab18-4010-b95c-cd1716dd5e95",
        target_volume_name="a-vol1",
        file_types=[FileType.PDF],
        workflow=graph(),
        process_mode=ProcessMode(interval=ProcessInterval.ONCE, offset=0),
    )
    assert result is None
    [call] = calls(mock, "POST", f"{BYOA}/index_workflow")
    assert call["json"] == {
        "name": "wf-3",
        "source_volume_names": ["b-vol1"],
        "source_volume_ids": [RAW],
        "target_volume_name": "a-vol1",
        "target_volume_id": "eb42f0a1-ab18-4010-b95c-cd1716dd5e95",
        "create_target_volume_name": "",
        "process_mode": {"interval": 0, "offset": 0},
        "file_types": [2],
        "workflow": {
            "components": [{"name": "DocumentSplitter", "init_parameters": {"split_length": 800}}],
            "connections": [{"sender": "A.documents", "receiver": "B.documents"}],
            "edges": [],
            "extra_components": [],
        },
    }
    assert call["headers"]["user-id"] == "acct-7"


async def test_workflow_create_into_a_new_volume_and_resolve_by_name(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    mock.post(url(f"{BYOA}/index_workflow"), payload=byoa(None))
    listing = doc("workflow_list")
    older = {**listing["data"]["workflows"][0], "id": "older", "created_at": 1739000000000}
    listing["data"]["workflows"].append(older)
    listing["data"]["total"] = 2
    mock.get(url(f"{BYOA}/index_workflow"), payload=listing)
    found = await moi_mocked.workflows.create(
        "wf-1",
        # ids may be ints; they are sent as strings (docs/wire/moi.md#d11)
        source_volume_ids=[int(RAW)],
        source_volume_names=["b-vol1"],
        create_target_volume_name="fresh",
        file_types=[2],
        workflow={"components": []},
        priority=100,
        resolve=True,
    )
    [create] = calls(mock, "POST", f"{BYOA}/index_workflow")
    assert create["json"]["source_volume_ids"] == [RAW]
    assert create["json"]["target_volume_id"] == ""
    assert create["json"]["create_target_volume_name"] == "fresh"
    assert create["json"]["priority"] == 100
    assert create["json"]["workflow"] == {"components": []}
    [lookup] = calls(mock, "GET", f"{BYOA}/index_workflow")
    assert ("name_search", "wf-1") in lookup["query"]
    assert found is not None and found.id == WF  # the newest of that name


async def test_workflow_create_resolves_by_the_id_a_newer_answer_carries(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    mock.post(url(f"{BYOA}/index_workflow"), payload=byoa({"id": WF, "name": "wf-1"}))
    row = doc("workflow_list")["data"]["workflows"][0]
    mock.get(url(f"{BYOA}/index_workflow/{WF}"), payload=byoa(row))
    found = await moi_mocked.workflows.create(
        "wf-1",
        source_volume_ids=[RAW],
        source_volume_names=["b-vol1"],
        target_volume_id=VOL,
        file_types=[2],
        workflow=WorkflowConfig(),
        resolve=True,
    )
    assert found is not None and found.id == WF
    # No listing: the id comes from data.id (docs/wire/moi.md#d6).
    assert not calls(mock, "GET", f"{BYOA}/index_workflow")


async def test_workflow_create_is_not_retried_once_sent(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    mock.post(url(f"{BYOA}/index_workflow"), status=500, payload={"detail": "boom"}, repeat=True)
    with pytest.raises(ServerError):
        await moi_mocked.workflows.create(
            "wf",
            source_volume_ids=[RAW],
            source_volume_names=["b"],
            target_volume_id=VOL,
            file_types=[2],
            workflow=WorkflowConfig(),
        )
    assert len(calls(mock, "POST", f"{BYOA}/index_workflow")) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"target_volume_id": None}, "exactly one of target_volume_id"),
        ({"create_target_volume_name": "also"}, "exactly one of target_volume_id"),
        ({"source_volume_names": ["a", "b"]}, "must pair up"),
        ({"source_volume_ids": RAW}, "must be a list of ids"),
        ({"file_types": []}, "at least one FileType"),
        ({"file_types": ["pdf"]}, "file_types must hold integers"),
        ({"workflow": "graph"}, "workflow must be a WorkflowConfig"),
        ({"process_mode": 0}, "process_mode must be a ProcessMode"),
        ({"name": " "}, "name must not be empty"),
    ],
)
async def test_workflow_create_rejects_bad_input_before_sending(
    mock: MockHTTP, moi_mocked: MOIClient, changes: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {
        "name": "wf",
        "source_volume_ids": [RAW],
        "source_volume_names": ["b"],
        "target_volume_id": VOL,
        "file_types": [2],
        "workflow": WorkflowConfig(),
        **changes,
    }
    with pytest.raises(InvalidInputError, match=message):
        await moi_mocked.workflows.create(**arguments)
    assert not calls(mock, "POST", f"{BYOA}/index_workflow")


async def test_workflow_list_pages_by_offset_and_limit(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    item = doc("workflow_list")["data"]["workflows"][0]
    mock.get(
        url(f"{BYOA}/index_workflow"),
        payload=byoa({"total": 3, "workflows": [item, {**item, "id": "w2"}]}),
    )
    mock.get(
        url(f"{BYOA}/index_workflow"),
        payload=byoa({"total": 3, "workflows": [{**item, "id": "w3"}]}),
    )
    found = await moi_mocked.workflows.list(
        name_search="wf",
        status=[WorkflowStatus.COMPLETED],
        file_types=[FileType.PDF],
        descending=False,
        page_size=2,
    ).collect()
    assert [w.id for w in found] == [WF, "w2", "w3"]
    sent = calls(mock, "GET", f"{BYOA}/index_workflow")
    filters = [
        ("file_types", "2"),
        ("name_search", "wf"),
        ("sort_order", "ascend"),
        ("status", "2"),
    ]
    assert sorted(c["query"] for c in sent) == [
        sorted([*filters, ("limit", "2"), ("offset", "0")]),
        sorted([*filters, ("limit", "2"), ("offset", "2")]),
    ]


async def test_documented_workflow_answers_parse(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    mock.get(url(f"{BYOA}/index_workflow"), payload=doc("workflow_list"))
    [listed] = await moi_mocked.workflows.list().collect()
    assert listed.id == WF and listed.name == "wf-1"
    assert listed.job_meta_id == "53d99056-b7b8-4d9e-baf1-3d3bca24d4f3"
    assert listed.source_volume_ids == (RAW,)
    assert listed.file_types == (FileType.PDF,)
    assert listed.status == WorkflowStatus.COMPLETED
    assert listed.created_at == datetime(2025, 2, 12, 16, 21, 27, tzinfo=UTC)  # ms
    assert listed.process_mode == ProcessMode(0, 0)

    detail_id = "ff5d119a-4e94-4968-ac0c-6ef64fcabb6c"
    mock.get(url(f"{BYOA}/index_workflow/{detail_id}"), payload=doc("workflow_get"))
    detail = await moi_mocked.workflows.get(detail_id)
    assert detail.process_mode.interval == 5 and detail.status == WorkflowStatus.RUNNING
    assert detail.workflow is not None and len(detail.workflow.components) == 17
    assert len(detail.workflow.connections) == 21
    assert detail.workflow.edges == ()


async def test_workflow_update_reads_then_puts_the_whole_definition(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    detail_id = "ff5d119a-4e94-4968-ac0c-6ef64fcabb6c"
    path = f"{BYOA}/index_workflow/{detail_id}"
    current = doc("workflow_get")
    current["data"]["moi_workflow"] = [{"description": ""}]  # an unknown key must survive
    mock.get(url(path), payload=current)
    mock.put(url(path), payload=byoa(None))
    await moi_mocked.workflows.update(
        detail_id, name="renamed", process_mode=ProcessMode(interval=9)
    )
    [put] = calls(mock, "PUT", path)
    body = put["json"]
    assert body["name"] == "renamed"
    assert body["process_mode"] == {"interval": 9, "offset": 0}
    assert body["source_volume_ids"] == [RAW] and body["source_volume_names"] == ["b-vol1"]
    assert body["target_volume_id"] == "dbcc0d71-31f9-4799-b404-096f9e8e57f9"
    assert body["workflow"] == current["data"]["workflow"]
    assert body["create_target_volume_name"] == ""
    assert "moi_workflow" not in body and "status" not in body  # only the create fields
    with pytest.raises(InvalidInputError, match="at least one field"):
        await moi_mocked.workflows.update(detail_id)
    with pytest.raises(InvalidInputError, match="change together"):
        await moi_mocked.workflows.update(detail_id, source_volume_ids=[RAW])


async def test_workflow_delete_with_and_without_data(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    path = f"{BYOA}/index_workflow/{WF}"
    mock.delete(url(path), payload=byoa(None), repeat=True)
    await moi_mocked.workflows.delete(WF, delete_data=True)
    await moi_mocked.workflows.delete(WF)
    assert [c["query"] for c in calls(mock, "DELETE", path)] == [[("delete_data", "true")], []]


async def test_a_retried_delete_that_finds_the_workflow_gone_succeeds(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    path = f"{BYOA}/index_workflow/{WF}"
    mock.delete(url(path), status=503, payload={"detail": "busy"})
    mock.delete(url(path), status=404, payload={"detail": "not found"})
    await moi_mocked.workflows.delete(WF)
    assert len(calls(mock, "DELETE", path)) == 2


async def test_ids_are_percent_encoded_in_paths(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    mock.get(url(f"{BYOA}/index_workflow/a%2Fb"), payload=doc("workflow_get"))
    await moi_mocked.workflows.get("a/b")
    [(_, sent_url)] = [key for key in mock.requests if key[0] == "GET"]
    assert sent_url.raw_path == f"{BYOA}/index_workflow/a%2Fb"


async def test_current_path_generation(mock: MockHTTP) -> None:
    async with MOIClient(
        BASE, account_name="a", username="u", password="p", paths="current"
    ) as moi:
        mock.get(url(f"{BYOA}/workflow_meta"), payload=byoa({"total": 0, "workflows": []}))
        mock.get(url(f"{BYOA}/workflow_job"), payload=byoa({"total": 0, "jobs": []}))
        assert await moi.workflows.list().collect() == []
        assert await moi.jobs.list().collect() == []


# -- jobs -------------------------------------------------------------------------------------


async def test_job_list_pages_by_page_num_with_a_workflow_filter(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    answer = doc("job_list")
    mock.get(url(f"{BYOA}/index_workflow_job"), payload=answer)
    jobs = await moi_mocked.jobs.list(workflow_id=WF, page_size=10, max_items=10).collect()
    assert len(jobs) == 10
    [call] = calls(mock, "GET", f"{BYOA}/index_workflow_job")
    # Both page names: the seed-era spec reads page_num, the current service page.
    assert call["query"] == [
        ("page", "1"),
        ("page_num", "1"),
        ("page_size", "10"),
        ("workflow_id", WF),
    ]
    first = jobs[0]
    assert first.id == JOB and first.workflow_name == "wf-2"
    assert first.status == JobStatus.COMPLETED and first.finished
    assert first.start_time == datetime(2025, 2, 12, 17, 20, 15, tzinfo=UTC)
    assert first.workflow is not None and first.workflow.components == ()  # nulls read as empty


async def test_job_list_fetches_later_pages(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    item = doc("job_list")["data"]["jobs"][0]
    mock.get(
        url(f"{BYOA}/index_workflow_job"),
        payload=byoa({"total": 3, "jobs": [item, {**item, "id": "j2"}]}),
    )
    mock.get(
        url(f"{BYOA}/index_workflow_job"),
        payload=byoa({"total": 3, "jobs": [{**item, "id": "j3"}]}),
    )
    jobs = await moi_mocked.jobs.list(page_size=2, name_search="wf").collect()
    assert [j.id for j in jobs] == [JOB, "j2", "j3"]
    pages = sorted(
        dict(c["query"])["page_num"] for c in calls(mock, "GET", f"{BYOA}/index_workflow_job")
    )
    assert pages == ["1", "2"]


async def test_documented_job_detail_parses(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    mock.get(url(f"{BYOA}/index_workflow_job/{JOB}"), payload=doc("job_get"))
    job = await moi_mocked.jobs.get(JOB)
    assert job.workflow_id == "729e7a03-652d-46e0-bdad-b05ec5b80cea"
    assert job.duration == 0 and job.total_count == 0
    assert job.workflow is not None and len(job.workflow.components) == 17


async def test_job_files_page_by_page_num_with_status_filter(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    path = f"{BYOA}/index_workflow_job/{JOB}/files"
    item = doc("job_files")["data"]["files"][0]
    counters = {
        "total": 9,
        "completed": 6,
        "failed": 3,
        "processing": 0,
        "pending": 0,
        "stopped": 0,
    }
    mock.get(
        url(path),
        payload=byoa({"files": [item, {**item, "id": "f2"}], "file_total": 3, **counters}),
    )
    mock.get(
        url(path), payload=byoa({"files": [{**item, "id": "f3"}], "file_total": 3, **counters})
    )
    files = await moi_mocked.jobs.files(
        JOB, status=[JobFileStatus.FAILED, JobFileStatus.STOPPED], page_size=2
    ).collect()
    assert [f.id for f in files] == [item["id"], "f2", "f3"]  # file_total (3) ends the listing
    sent = sorted(c["query"] for c in calls(mock, "GET", path))
    assert sent == [
        [("page_num", "1"), ("page_size", "2"), ("statuses", "3"), ("statuses", "4")],
        [("page_num", "2"), ("page_size", "2"), ("statuses", "3"), ("statuses", "4")],
    ]


async def test_documented_job_files_and_counts_parse(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    path = f"{BYOA}/index_workflow_job/0194f423-c2a7-7cc5-87ce-97fa942ac6ce/files"
    mock.get(url(path), payload=doc("job_files"), repeat=True)
    [file] = await moi_mocked.jobs.files("0194f423-c2a7-7cc5-87ce-97fa942ac6ce").collect()
    assert file.name == "红楼梦(通行本)简体横排.pdf"
    assert file.status == JobFileStatus.COMPLETED and file.error_message == ""
    assert file.end_time == datetime(2025, 2, 11, 8, 37, 53, tzinfo=UTC)
    counts = await moi_mocked.jobs.file_counts("0194f423-c2a7-7cc5-87ce-97fa942ac6ce")
    assert (counts.total, counts.completed, counts.failed, counts.pending) == (1, 1, 0, 0)
    assert counts.file_total is None  # the seed-era answer has no filtered count
    assert calls(mock, "GET", path)[-1]["query"] == [("page_num", "1"), ("page_size", "1")]


async def test_retry_files_sends_the_ids_in_the_body_once(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    path = f"{BYOA}/index_workflow_job/{JOB}/files"
    mock.post(url(path), payload=byoa(None))
    await moi_mocked.jobs.retry_files(JOB, ["f1", "f2"])
    assert calls(mock, "POST", path)[0]["json"] == {"files": ["f1", "f2"]}
    mock.post(url(path), status=502, payload={"detail": "bad gateway"}, repeat=True)
    with pytest.raises(ServerError):
        await moi_mocked.jobs.retry_files(JOB, ["f1"])
    # The failed retry was not repeated (docs/wire/moi.md#d23).
    assert len(calls(mock, "POST", path)) == 2
    with pytest.raises(InvalidInputError):
        await moi_mocked.jobs.retry_files(JOB, [])
    with pytest.raises(InvalidInputError):
        await moi_mocked.jobs.retry_files(JOB, "f1")


async def test_retry_failed_lists_failed_files_and_retries_them(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    path = f"{BYOA}/index_workflow_job/{JOB}/files"
    item = doc("job_files")["data"]["files"][0]
    failed = [{**item, "id": "bad-1", "file_status": 3}, {**item, "id": "bad-2", "file_status": 3}]
    mock.get(url(path), payload=byoa({"files": failed, "file_total": 2, "total": 5}))
    mock.post(url(path), payload=byoa(None))
    assert await moi_mocked.jobs.retry_failed(JOB) == ["bad-1", "bad-2"]
    assert calls(mock, "GET", path)[0]["query"] == [
        ("page_num", "1"),
        ("page_size", "100"),
        ("statuses", "3"),
    ]
    assert calls(mock, "POST", path)[0]["json"] == {"files": ["bad-1", "bad-2"]}


async def test_wait_polls_until_the_job_finishes(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    path = f"{BYOA}/index_workflow_job/{JOB}"
    job = doc("job_get")["data"]
    mock.get(url(path), payload=byoa({**job, "status": 1}))
    mock.get(url(path), payload=byoa({**job, "status": 1}))
    mock.get(url(path), payload=byoa({**job, "status": 3}))
    done = await moi_mocked.jobs.wait(JOB, max_wait=30, interval=0.01, max_interval=0.02)
    assert done.status == JobStatus.FAILED
    assert len(calls(mock, "GET", path)) == 3


async def test_wait_times_out_with_the_last_state(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    path = f"{BYOA}/index_workflow_job/{JOB}"
    job = doc("job_get")["data"]
    mock.get(url(path), payload=byoa({**job, "status": 1, "processed_count": 4}), repeat=True)
    with pytest.raises(WaitTimeoutError) as info:
        await moi_mocked.jobs.wait(JOB, max_wait=0.1, interval=0.02, max_interval=0.02)
    last = info.value.last
    assert isinstance(last, Job)
    assert last.processed_count == 4
    assert last.status == JobStatus.RUNNING
    refused: list[dict[str, Any]] = [
        {"timeout": 0},
        {"interval": 0},
        {"interval": 2, "max_interval": 1},
    ]
    for bad in refused:
        with pytest.raises(InvalidInputError):
            await moi_mocked.jobs.wait(JOB, **bad)


# -- raw volumes ------------------------------------------------------------------------------


async def test_raw_volume_create_and_resolve(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    mock.post(url("/CreateOriginVolume"), payload=ok())
    mock.post(url("/DescribeOriginVolumes"), payload=doc("raw_volume_list"))
    volume = await moi_mocked.volumes.raw.create("b_vol3", resolve=True)
    assert calls(mock, "POST", "/CreateOriginVolume")[0]["json"] == {"name": "b_vol3"}
    assert volume is not None and volume.id == "1889868565396619264"
    assert calls(mock, "POST", "/DescribeOriginVolumes")[0]["json"] is None
    mock.post(
        url("/CreateOriginVolume"),
        status=500,
        payload={"code": "ErrInternal", "msg": "x"},
        repeat=True,
    )
    with pytest.raises(ServerError):
        await moi_mocked.volumes.raw.create("again")
    assert len(calls(mock, "POST", "/CreateOriginVolume")) == 2  # one each: never repeated


async def test_documented_raw_volume_answers_parse(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    mock.post(url("/DescribeOriginVolumes"), payload=doc("raw_volume_list"))
    volumes = await moi_mocked.volumes.raw.list().collect()
    assert [v.name for v in volumes] == ["b-vol1", "b-vol2", "b_vol3", "b_vol6"]
    assert volumes[1].size == 40724742 and volumes[1].file_num == 6
    assert volumes[0].created_at == datetime.fromtimestamp(1739261047, UTC)

    mock.post(url("/DescribeOriginVolume"), payload=doc("raw_volume_files"))
    [file] = await moi_mocked.volumes.raw.files(RAW).collect()
    # docs/wire/moi.md#d26
    assert calls(mock, "POST", "/DescribeOriginVolume")[0]["json"] == {"id": RAW}
    assert file.id == RAW_FILE and file.status == TaskFileStatus.SUCCEEDED
    assert file.path == "/b-vol1/红楼梦(通行本)简体横排.pdf" and file.size == 6787457


async def test_raw_download_fetches_a_link_then_streams_without_credentials(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    link = "https://bucket.oss.example.com/connector_path%2Fb-vol2?Expires=1739440000&Signature=s"
    mock.post(url("/GetOriginVolumeFileLink"), payload=ok({"link": link}))
    # Mocked bodies stay under aiohttp's read buffer (aioresponses cannot pause a stream);
    # large files are streamed from the emulator in test_processing_emulator.py.
    payload = bytes(range(256)) * 400
    mock.get(re.compile(r"^https://bucket\.oss\.example\.com/.*"), body=payload)
    chunks = [c async for c in moi_mocked.volumes.raw.download(RAW, RAW_FILE, chunk_size=16384)]
    assert b"".join(chunks) == payload and max(map(len, chunks)) <= 16384
    [locate] = calls(mock, "POST", "/GetOriginVolumeFileLink")
    assert locate["json"] == {"volume_id": RAW, "file_id": RAW_FILE}
    [fetch] = calls(mock, "GET", "/connector_path/b-vol2", host="bucket.oss.example.com")
    assert not {"Access-Token", "uid", "user-id"} & set(fetch["headers"])
    assert ("Signature", "s") in fetch["query"]


async def test_documented_file_link_parses(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    mock.post(url("/GetOriginVolumeFileLink"), payload=doc("raw_volume_file_link"))
    link = await moi_mocked.volumes.raw.file_link(RAW, "1889578498228068352")
    assert link.startswith("https://moi-dev-test.oss-cn-hangzhou.aliyuncs.com/")


async def test_raw_delete_files(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    mock.post(url("/DeleteOriginVolumeFiles"), payload=ok({}))
    await moi_mocked.volumes.raw.delete_files("1889578498228068352", ["1889698920437940224"])
    assert calls(mock, "POST", "/DeleteOriginVolumeFiles")[0]["json"] == {
        "volume_id": "1889578498228068352",
        "file_ids": ["1889698920437940224"],
    }


# -- processed volumes ------------------------------------------------------------------------


async def test_processed_volume_create_list_get_children_delete(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    collection = f"{BYOA}/explore/volumes"
    mock.post(url(collection), payload=doc("processed_volume_create"))
    volume = await moi_mocked.volumes.processed.create("a_vol4", parent_volume_id="p-1")
    assert calls(mock, "POST", collection)[0]["json"] == {
        "name": "a_vol4",
        "parent_volume_id": "p-1",
    }
    assert volume.id == "fb93a6c1-6d1e-4d68-bb7c-4d84facda670"
    assert volume.created_at == datetime(2025, 2, 13, 11, 44, 36, tzinfo=UTC)

    mock.get(url(collection), payload=doc("processed_volume_list"), repeat=True)
    volumes = await moi_mocked.volumes.processed.list(workflow_using=True).collect()
    assert [v.name for v in volumes] == ["a-vol1", "a_vol4"]
    assert calls(mock, "GET", collection)[0]["query"] == [("workflow_using", "true")]
    assert (await moi_mocked.volumes.processed.get(volume.id)).name == "a_vol4"
    with pytest.raises(NotFoundError):
        await moi_mocked.volumes.processed.get("missing")

    mock.get(url(f"{collection}/{volume.id}"), payload=byoa({"total": 0, "volumes": None}))
    assert await moi_mocked.volumes.processed.children(volume.id).collect() == []
    mock.delete(url(f"{collection}/{volume.id}"), payload=byoa(None))
    await moi_mocked.volumes.processed.delete(volume.id)
    assert len(calls(mock, "DELETE", f"{collection}/{volume.id}")) == 1


async def test_processed_files_page_through_the_body(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    path = f"{BYOA}/explore/volumes/{VOL}/files"
    items = doc("processed_volume_files")["data"]["items"]
    mock.post(url(path), payload=byoa({"total": 3, "items": items[:2]}))
    mock.post(url(path), payload=byoa({"total": 3, "items": items[2:]}))
    files = await moi_mocked.volumes.processed.files(
        VOL,
        types=[FileType.PDF],
        exclude_status=[JobFileStatus.FAILED],
        order_by="created_at",
        descending=False,
        page_size=2,
    ).collect()
    assert [f.id for f in files] == [i["id"] for i in items]
    bodies = sorted((c["json"] for c in calls(mock, "POST", path)), key=lambda b: b["offset"])
    filters = {"types": [2], "exclude_status": [3]}
    sorter = {"sort_by": "created_at", "is_desc": False}
    assert bodies == [
        {"filters": filters, "sorter": sorter, "offset": 0, "limit": 2},
        {"filters": filters, "sorter": sorter, "offset": 2, "limit": 2},
    ]


async def test_documented_processed_files_parse(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    path = f"{BYOA}/explore/volumes/{VOL}/files"
    mock.post(url(path), payload=doc("processed_volume_files"))
    files = await moi_mocked.volumes.processed.files(VOL).collect()
    assert calls(mock, "POST", path)[0]["json"] == {"offset": 0, "limit": 100}
    first = files[0]
    assert first.source_file_id == RAW_FILE and first.status == JobFileStatus.COMPLETED
    assert first.duration == 300 and first.size == 6787457
    assert first.created_at == datetime(2025, 2, 12, 17, 46, 16, tzinfo=UTC)


async def test_processed_file_delete_and_download(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    base = f"{BYOA}/explore/volumes/{VOL}/files/{PFILE}"
    mock.delete(url(base), payload=byoa(None))
    await moi_mocked.volumes.processed.delete_file(VOL, PFILE)
    assert len(calls(mock, "DELETE", base)) == 1
    # The seed era answered JSON here (docs/wire/moi.md#d13): the bytes come through as they are.
    raw_json = json.dumps(doc("processed_file_raws")).encode()
    mock.get(url(f"{base}/raws"), body=raw_json, content_type="application/json")
    body = b"".join(
        [c async for c in moi_mocked.volumes.processed.download(VOL, PFILE, need_embeddings=True)]
    )
    assert json.loads(body) == {"total": 0, "items": []}
    [fetch] = calls(mock, "GET", f"{base}/raws")
    assert fetch["query"] == [("need_embeddings", "true")]
    assert fetch["headers"]["user-id"] == "acct-7"  # the API's own origin: authenticated


async def test_blocks_list_and_delete(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    path = f"{BYOA}/explore/volumes/{VOL}/files/{PFILE}/blocks"
    mock.post(url(path), payload=doc("processed_file_blocks"))
    blocks = await moi_mocked.volumes.processed.blocks(
        VOL, PFILE, types=["text"], search_content="Matrix", max_items=2
    ).collect()
    assert calls(mock, "POST", path)[0]["json"] == {
        "filters": {"types": ["text"], "search_content": "Matrix"},
        "offset": 0,
        "limit": 100,
    }
    assert [b.id for b in blocks] == [
        "000a9605-733f-4335-bc72-ac9aa8351e66",
        "08aaf135-f8ad-446c-9951-03e94777f608",
    ]
    assert blocks[0].content_type == "text" and blocks[0].file_id == PFILE
    assert blocks[0].content is not None and blocks[0].content.startswith("1. 数据接入与整合")

    mock.delete(url(path), status=204)  # Era A
    mock.delete(url(path), payload=byoa(None))  # OA
    await moi_mocked.volumes.processed.delete_blocks(
        VOL, PFILE, ["03e927d3-edbe-426c-835a-0f1e4fcc39b6"]
    )
    await moi_mocked.volumes.processed.delete_blocks(VOL, PFILE, ["b-2"])
    sent = calls(mock, "DELETE", path)
    assert [c["json"] for c in sent] == [
        {"ids": ["03e927d3-edbe-426c-835a-0f1e4fcc39b6"]},
        {"ids": ["b-2"]},
    ]


# -- metrics ----------------------------------------------------------------------------------


async def test_metrics_query_sends_rfc3339_and_parses_the_documented_series(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    mock.post(url("/metric/observice"), payload=doc("metrics"))
    shanghai = timezone(timedelta(hours=8))
    start = datetime(2025, 2, 10, 9, 40, 24, tzinfo=shanghai)
    [series] = await moi_mocked.metrics.query(
        [MetricName.PROCESS_FINISH_JOB_COUNT], start, start + timedelta(minutes=20), 60
    )
    [call] = calls(mock, "POST", "/metric/observice")
    assert call["json"] == {
        "account": "acct-7",
        "start": "2025-02-10T09:40:24+08:00",
        "end": "2025-02-10T10:00:24+08:00",
        "interval": 60,
        "metrics": [{"name": "PipelineProcessFinishJobCount"}],
    }
    assert call["headers"]["Access-Token"]
    assert series.name == "PipelineProcessFinishJobCount"
    assert series.labels == {"user_id": "0194dfaa-3eda-7ea5-b47c-b4f4f5940e97"}
    assert len(series.points) == 20
    assert series.points[0].timestamp == datetime(2025, 2, 10, 1, 41, tzinfo=UTC)
    assert [p.value for p in series.points[3:5]] == [None, 2.0]


async def test_metrics_validates_before_sending(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    now = datetime.now(UTC)
    cases: list[tuple[tuple[Any, ...], str]] = [
        (([], now - timedelta(hours=1), now, 60), "at least one metric"),
        ((["X"], now, now, 60), "start must be before end"),
        ((["X"], now, now - timedelta(hours=1), 60), "start must be before end"),
        ((["X"], now - timedelta(hours=1), now, 0), "interval must be > 0"),
        ((["X"], now - timedelta(hours=1), now, 1.5), "interval must be seconds"),
        ((["X"], datetime(2025, 1, 1), now, 60), "timezone-aware"),
        ((["X"], "2025-01-01T00:00:00Z", now, 60), "start must be a datetime"),
        (([""], now - timedelta(hours=1), now, 60), "non-empty strings"),
    ]
    for args, message in cases:
        with pytest.raises(InvalidInputError, match=message):
            await moi_mocked.metrics.query(*args)
    assert not calls(mock, "POST", "/metric/observice")


async def test_metrics_path_override_and_metrics_url_on_another_host(mock: MockHTTP) -> None:
    credentials: MOICredentials = {"account_name": "acct-7", "username": "u", "password": "p"}
    end = datetime(2025, 2, 10, 2, 0, 24, tzinfo=UTC)
    async with MOIClient(
        BASE, paths=evolve(SEED_PATHS, metrics="/ob/metrics"), **credentials
    ) as moi:
        mock.post(url("/ob/metrics"), payload=doc("metrics"))
        series = await moi.metrics.query(
            "PipelineLoadFileCount", end - timedelta(hours=1), end, timedelta(minutes=1)
        )
        assert len(series) == 1
        assert calls(mock, "POST", "/ob/metrics")[0]["json"]["interval"] == 60
    internal = "http://ob-service.mo-ob/ob/metrics"
    mock.post(
        LOGIN,
        payload=ok({"uid": "uid-2"}),
        headers={"Access-Token": jwt(), "Refresh-Token": jwt(lifetime=21600)},
    )
    async with MOIClient(BASE, metrics_url=internal, **credentials) as moi:
        mock.post(internal, payload=doc("metrics"))
        [series_] = await moi.metrics.query(
            [MetricName.LOAD_FILE_SIZE], end - timedelta(hours=1), end, 60
        )
        assert len(series_.points) == 20
    [call] = calls(mock, "POST", "/ob/metrics", host="ob-service.mo-ob")
    assert not {"Access-Token", "uid", "user-id"} & set(call["headers"])
    assert call["json"]["metrics"] == [{"name": "PipelineLoadFileSize"}]
    with pytest.raises(InvalidInputError):
        MOIClient(BASE, metrics_url="ob-service/ob/metrics", **credentials)
