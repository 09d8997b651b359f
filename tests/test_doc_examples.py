"""The response examples of the MOI docs (yangj1211/moc-docs, data_connect_api.md, the era of
our source documents) parse into the models unchanged, through the real envelope decoder."""

from __future__ import annotations

import json
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

from asyncsdk import Connector, ConnectorFile, FileType, SourceType, Task, TaskFile
from asyncsdk._core.convert import structure
from asyncsdk._core.session import Response
from asyncsdk.moi._envelope import MOIEnvelope
from asyncsdk.moi.models import LoadIntervalType, TaskFileStatus, TaskStatus

CONNECTOR_LIST = """{
    "code": "OK",
    "msg": "OK",
    "data": {
        "connectors": [
            {
                "id": 100004,
                "source_type": 4,
                "name": "oss-test1",
                "status": "active",
                "created_at": 1738919558,
                "updated_at": 1738919558,
                "username": "admin",
                "related_task_ids": [
                    1889223922712281088
                ],
                "config": {
                    "oss": {
                        "endpoint": "oss-cn-hangzhou.aliyuncs.com",
                        "access_key_id": "admin",
                        "access_key_secret": "Admin123",
                        "bucket_name": "moc-test-data"
                    }
                }
            }
        ],
        "total": 1
    }
}"""

CONNECTOR_FILES = """{
    "code": "OK",
    "msg": "OK",
    "data": {
        "files": [
            {
                "uri": "红楼梦(通行本)简体横排.pdf",
                "filename": "红楼梦(通行本)简体横排.pdf",
                "size": 6787457,
                "type": 2
            },
            {
                "uri": "file1",
                "filename": "file1",
                "size": 0,
                "type": 10
            }
        ]
    }
}"""

TASK_LIST = """{
    "code": "OK",
    "msg": "OK",
    "data": {
        "tasks": [
            {
                "id": "1889223922712281088",
                "source_connector_id": 100004,
                "source_connector_type": 4,
                "volume_id": "1889223879880048640",
                "volume_name": "b-vol1",
                "name": "",
                "status": 4,
                "creator": "admin",
                "source_config": {
                    "common_file_task_config": {
                        "uris": [
                            "红楼梦(通行本)简体横排.pdf"
                        ],
                        "load_mode_config": {
                            "load_interval_type": 4,
                            "interval": 0
                        }
                    }
                },
                "start_at": 1739261063,
                "end_at": 1739261640,
                "created_at": 1739261057,
                "updated_at": 1739261640
            }
        ],
        "total": 1
    }
}"""

TASK_FILES = """{
    "code": "OK",
    "msg": "OK",
    "data": {
        "total": 1,
        "total_success": 1,
        "total_failed": 0,
        "files": [
            {
                "id": "1889613341347389440",
                "name": "红楼梦(通行本)简体横排.pdf",
                "type": 2,
                "status": 5,
                "size": 6787457,
                "update_time": 1739353902,
                "other_metadata": "",
                "reason": "",
                "user": "admin",
                "start_time": 1739353902,
                "end_time": 0,
                "path": "/b-vol2/红楼梦(通行本)简体横排.pdf"
            }
        ]
    }
}"""


def data(body: str) -> Any:
    headers = CIMultiDictProxy(CIMultiDict({"X-Request-Id": "r"}))
    return MOIEnvelope().unwrap(Response("GET", "/x", 200, headers, body.encode()))


def test_connector_list_example() -> None:
    [connector] = structure(data(CONNECTOR_LIST)["connectors"], list[Connector])
    assert connector.id == "100004"
    assert connector.source_type is SourceType.OSS
    assert connector.related_task_ids == ("1889223922712281088",)
    assert connector.config.oss is not None
    assert connector.config.oss.bucket_name == "moc-test-data"
    assert connector.created_at is not None and connector.created_at.year == 2025
    assert "Admin123" not in repr(connector)


def test_connector_list_in_the_seed_and_later_shapes() -> None:
    # The seed sends related_task_ids null; Era C lifts the config object to the top level.
    doc = json.loads(CONNECTOR_LIST)["data"]["connectors"][0]
    seed = {**doc, "related_task_ids": None}
    assert structure(seed, Connector).related_task_ids == ()
    era_c = {k: v for k, v in doc.items() if k != "config"} | {"oss": doc["config"]["oss"]}
    assert structure(era_c, Connector).config == structure(doc, Connector).config


def test_connector_files_example() -> None:
    files = structure(data(CONNECTOR_FILES)["files"], list[ConnectorFile])
    assert [f.type for f in files] == [FileType.PDF, FileType.DIRECTORY]
    assert files[0].size == 6787457


def test_task_list_example() -> None:
    [task] = structure(data(TASK_LIST)["tasks"], list[Task])
    assert task.id == "1889223922712281088"
    assert task.source_connector_id == "100004"
    assert task.status is TaskStatus.FINISHED
    mode = task.source_config.common_file_task_config.load_mode_config
    assert mode.load_interval_type is LoadIntervalType.ONCE
    assert task.created_at is not None and task.created_at.timestamp() == 1739261057


def test_task_files_example() -> None:
    payload = data(TASK_FILES)
    [file] = structure(payload["files"], list[TaskFile])
    assert file.status is TaskFileStatus.SUCCEEDED
    assert file.end_time is None  # 0 while unfinished
    assert file.path == "/b-vol2/红楼梦(通行本)简体横排.pdf"
    assert (payload["total_success"], payload["total_failed"]) == (1, 0)
