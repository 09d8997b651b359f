"""The exact wire shape of every connector and load-task call (aioresponses)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from asyncsdk import (
    FileType,
    LoadIntervalType,
    MOIClient,
    OSSConfig,
    S3Config,
    SourceType,
    TaskFileStatus,
    TaskStatus,
)

from ._mock_http import MockHTTP
from .wire import BASE, jwt, ok, sent

S3 = S3Config("s3.example", "AKIA", "s3-secret", "bucket", "us-east-1", session_token="tok")
TASK: dict[str, Any] = {"id": "1889613340219121664", "status": 1}


@pytest.fixture
def mock() -> Iterator[MockHTTP]:
    with MockHTTP() as m:
        m.post(
            f"{BASE}/auth/login",
            payload=ok({"uid": "u-1"}),
            headers={"Access-Token": jwt(), "Refresh-Token": jwt(lifetime=21600)},
        )
        yield m


@pytest.fixture
async def moi_mocked(mock: MockHTTP) -> AsyncIterator[MOIClient]:
    async with MOIClient(BASE, account_name="acct", username="admin", password="pw") as client:
        yield client


def only(mock: MockHTTP, method: str, url: str) -> dict[str, Any]:
    [request] = sent(mock, method, url)
    return request


async def test_connector_create(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    mock.post(f"{BASE}/connectors", payload=ok())
    assert await moi_mocked.connectors.create("s3-1", S3) is None  # type: ignore[func-returns-value]  # the documented None
    body = only(mock, "POST", f"{BASE}/connectors")["json"]
    assert body == {
        "name": "s3-1",
        "source_type": 5,
        "config": {
            "s3": {
                "endpoint": "s3.example",
                "access_key_id": "AKIA",
                "access_key_secret": "s3-secret",
                "bucket_name": "bucket",
                "region": "us-east-1",
                "session_token": "tok",
            }
        },
    }


async def test_connector_validate_by_id_and_by_config(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    url = f"{BASE}/connectors/validate"
    mock.post(url, payload=ok({"valid": True}), repeat=True)
    assert await moi_mocked.connectors.validate(connector_id=100004, source_type=SourceType(4))
    assert await moi_mocked.connectors.validate(config=OSSConfig("e", "i", "s", "b"))
    by_id, by_config = (r["json"] for r in sent(mock, "POST", url))
    assert by_id == {"source_type": 4, "connector_id": 100004}
    assert by_config == {
        "source_type": 4,
        "config": {
            "oss": {
                "endpoint": "e",
                "access_key_id": "i",
                "access_key_secret": "s",
                "bucket_name": "b",
            }
        },
    }


async def test_connector_list_query(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    url = f"{BASE}/connectors/list?is_desc=true&keyword=c1&order_by=created_at&page=1&page_size=20"
    mock.get(url, payload=ok({"connectors": [{"id": 1}], "total": 1}))
    got = await moi_mocked.connectors.list(
        keyword="c1", order_by="created_at", descending=True, page_size=20
    ).collect()
    assert [c.id for c in got] == ["1"]
    assert only(mock, "GET", url)["json"] is None


async def test_connector_update_and_delete(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    mock.put(f"{BASE}/connectors/100005", payload=ok())
    mock.delete(f"{BASE}/connectors/100005", payload=ok())
    await moi_mocked.connectors.update("100005", name="s3-test1", config=S3)
    await moi_mocked.connectors.delete(100005)
    body = only(mock, "PUT", f"{BASE}/connectors/100005")["json"]
    assert body["name"] == "s3-test1"
    assert body["config"]["s3"]["region"] == "us-east-1"
    assert only(mock, "DELETE", f"{BASE}/connectors/100005")["json"] is None


async def test_connector_files_sends_a_query_and_follows_the_cursor(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    listing = f"{BASE}/connectors/files/list?connector_id=100004&file_types=2&file_types=7&limit=2"
    first, second = f"{listing}&cursor=", f"{listing}&cursor=Yz0y"
    mock.get(
        first,
        payload=ok({"files": [{"uri": "a"}, {"uri": "b"}], "cursor": "Yz0y", "has_more": True}),
    )
    mock.get(second, payload=ok({"files": [{"uri": "c"}], "cursor": "", "has_more": False}))
    files = moi_mocked.connectors.files(
        100004, file_types=[FileType.PDF, FileType.CSV], page_size=2
    )
    assert [f.uri async for f in files] == ["a", "b", "c"]
    # Parameters travel in the query string, arrays as repeated keys, never in a GET body
    # (docs/wire/moi.md#d3).
    assert only(mock, "GET", first)["json"] is None
    assert ("cursor", "Yz0y") in only(mock, "GET", second)["params"]


async def test_task_create(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    mock.post(f"{BASE}/task", payload=ok())
    await moi_mocked.tasks.create(
        160002,
        "1888787475678015488",
        ["data_parse/"],
        load_interval_type=LoadIntervalType.HOUR,
        interval=60,
    )
    assert only(mock, "POST", f"{BASE}/task")["json"] == {
        "source_connector_id": 160002,
        "volume_id": "1888787475678015488",
        "source_config": {
            "common_file_task_config": {
                "load_mode_config": {"load_interval_type": 2, "interval": 60},
                "uris": ["data_parse/"],
            }
        },
        "config_type": 1,
    }


async def test_task_list_query_matches_the_seed_example(
    mock: MockHTTP, moi_mocked: MOIClient
) -> None:
    url = (
        f"{BASE}/task/list?status=1&status=2&status=3&status=4&load_interval_types=4"
        "&load_interval_types=3&order_by=end_at&is_desc=false&page=1&page_size=10"
    )
    mock.get(url, payload=ok({"tasks": [TASK], "total": 1}))
    tasks = moi_mocked.tasks.list(
        status=[TaskStatus.RUNNING, TaskStatus.PAUSING, TaskStatus.PAUSED, TaskStatus.FINISHED],
        load_interval_types=[LoadIntervalType.ONCE, LoadIntervalType.MINUTE],
        order_by="end_at",
        descending=False,
        page_size=10,
    )
    assert [t.id async for t in tasks] == [TASK["id"]]
    assert sent(mock, "GET", url)


async def test_task_get_update_and_files(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    task_id = TASK["id"]
    mock.get(f"{BASE}/task/get?task_id={task_id}", payload=ok({"task": TASK}))
    mock.post(f"{BASE}/task/update", payload=ok())
    files_url = f"{BASE}/task/files?task_id={task_id}&status=4&page=1&page_size=50"
    mock.get(files_url, payload=ok({"total": 1, "files": [{"id": "9", "status": 4}]}))
    assert (await moi_mocked.tasks.get(task_id)).status is TaskStatus.RUNNING
    await moi_mocked.tasks.update(
        task_id, load_interval_type=LoadIntervalType.DAY, interval=24, uris=["/DataParse/OBJ"]
    )
    failed = await moi_mocked.tasks.files(
        task_id, status=[TaskFileStatus.FAILED], page_size=50
    ).collect()
    assert [f.status for f in failed] == [TaskFileStatus.FAILED]
    # The seed's update example: load_mode_config and uris at the top level.
    assert only(mock, "POST", f"{BASE}/task/update")["json"] == {
        "task_id": task_id,
        "load_mode_config": {"load_interval_type": 1, "interval": 24},
        "uris": ["/DataParse/OBJ"],
    }


@pytest.mark.parametrize("action", ["delete", "pause", "resume"])
async def test_task_actions_send_the_task_id(
    mock: MockHTTP, moi_mocked: MOIClient, action: str
) -> None:
    mock.post(f"{BASE}/task/{action}", payload=ok())
    await getattr(moi_mocked.tasks, action)("1889613340219121664")
    assert only(mock, "POST", f"{BASE}/task/{action}")["json"] == {"task_id": "1889613340219121664"}


async def test_task_retry(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    mock.post(f"{BASE}/task/retry", payload=ok())
    await moi_mocked.tasks.retry_files("1889074091616481280", ["1889074111245824000"])
    assert only(mock, "POST", f"{BASE}/task/retry")["json"] == {
        "task_id": "1889074091616481280",
        "ids": ["1889074111245824000"],
    }


async def test_file_counts_read_the_listing_counters(mock: MockHTTP, moi_mocked: MOIClient) -> None:
    url = f"{BASE}/task/files?task_id=7&page=1&page_size=1"
    mock.get(url, payload=ok({"total": 3, "total_success": 2, "total_failed": 1, "files": []}))
    counts = await moi_mocked.tasks.file_counts("7")
    assert (counts.total, counts.succeeded, counts.failed) == (3, 2, 1)
