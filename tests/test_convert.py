from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from asyncsdk import DecodeError
from asyncsdk._core.convert import dumps, loads, parse_timestamp, structure, structurer
from asyncsdk.moi.models import Connector, FileType, Task, TaskFile, TaskFileStatus

UTC = UTC


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1739261057, datetime(2025, 2, 11, 8, 4, 17, tzinfo=UTC)),  # Go service: epoch seconds
        (1739331516123, datetime(2025, 2, 12, 3, 38, 36, 123000, tzinfo=UTC)),  # BYOA: millis
        ("1739261057", datetime(2025, 2, 11, 8, 4, 17, tzinfo=UTC)),
        # login_at: RFC 3339 with nanoseconds (truncated to microseconds)
        ("2025-02-12T03:38:36.566638078Z", datetime(2025, 2, 12, 3, 38, 36, 566638, tzinfo=UTC)),
        # BYOA jobs: +0000 without a colon
        ("2025-02-12T17:20:15.000000+0000", datetime(2025, 2, 12, 17, 20, 15, tzinfo=UTC)),
        # processed volumes: naive ISO, taken as UTC
        ("2025-02-13T11:44:36", datetime(2025, 2, 13, 11, 44, 36, tzinfo=UTC)),
        (
            "2025-02-10T03:08:24+08:00",
            datetime(2025, 2, 10, 3, 8, 24, tzinfo=timezone(timedelta(hours=8))),
        ),
        ("2024-11-13T14:15:22.123Z", datetime(2024, 11, 13, 14, 15, 22, 123000, tzinfo=UTC)),
    ],
)
def test_every_documented_timestamp_form_parses(raw: object, expected: datetime) -> None:
    assert parse_timestamp(raw) == expected


@pytest.mark.parametrize("bad", ["yesterday", "2025-13-45T00:00:00", [], {}, True])
def test_bad_timestamps_are_errors(bad: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        parse_timestamp(bad)


def test_big_int_ids_stay_exact_and_become_strings() -> None:
    # 1888896244014280705 > 2**53: a float round trip would change it.
    doc = loads(b'{"id": 1888896244014280705, "related_task_ids": [1889223922712281088]}')
    connector = structure(doc, Connector)
    assert connector.id == "1888896244014280705"
    assert connector.related_task_ids == ("1889223922712281088",)


def test_null_lists_read_as_empty() -> None:
    assert structure({"id": 1, "related_task_ids": None}, Connector).related_task_ids == ()


def test_unknown_enum_values_are_kept() -> None:
    item = structure({"id": "1", "type": 99, "status": "5"}, TaskFile)
    assert item.type == 99
    assert item.type.name == "UNKNOWN_99"
    assert isinstance(item.type, FileType)
    assert item.status is TaskFileStatus.SUCCEEDED


def test_unknown_fields_are_ignored() -> None:
    assert structure({"id": "7", "brand_new_field": {"x": 1}}, TaskFile).id == "7"


def test_zero_end_time_means_not_finished() -> None:
    assert structure({"id": "1", "end_time": 0}, TaskFile).end_time is None


@pytest.mark.parametrize("unset", [0, "0", "", None])
def test_every_optional_time_reads_an_unset_time_as_none(unset: object) -> None:
    # The current service writes an unfinished task's end as "0" (which used to be read as
    # 1970 everywhere but a task's start and end); the generated hooks read 0 inline.
    assert structure({"id": "1", "end_time": unset}, TaskFile).end_time is None
    task = structure({"id": "1", "end_at": unset, "created_at": unset}, Task)
    assert task.end_at is None
    assert task.created_at is None


@pytest.mark.parametrize(
    "bad",
    [
        {"id": {}},
        {"id": "1", "size": [1]},
        {"id": "1", "type": {}},
        {"id": "1", "start_time": "garbage"},
        {"id": "1", "size": True},
        [],
        None,
        {"name": "no id"},
    ],
)
def test_wrong_shapes_raise_decode_error(bad: object) -> None:
    with pytest.raises(DecodeError):
        structure(bad, TaskFile)


def test_dumps_is_compact_and_keeps_unicode() -> None:
    assert dumps({"name": "数据", "n": 1}) == '{"name":"数据","n":1}'.encode()


def test_a_structurer_reads_as_structure_does_and_names_the_model_on_a_mismatch() -> None:
    good = {"id": "7", "name": "n", "status": 4, "created_at": 1739261057}
    read_task = structurer(Task)
    assert read_task(good) == structure(good, Task)
    # The seed era's {"task": {...}} wrapper goes through Task's own hook, as in structure().
    assert read_task({"task": good}) == structure(good, Task)
    for bad in ({"name": "no id"}, ["not", "an", "object"], {"id": "7", "created_at": []}):
        with pytest.raises(DecodeError, match=r"^response does not match Task: "):
            read_task(bad)
