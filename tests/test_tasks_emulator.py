"""Load tasks and connectors against the emulator: the round trips and the task state machine."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from asyncsdk import (
    ConflictError,
    FileType,
    InvalidInputError,
    LoadIntervalType,
    MOIClient,
    NotFoundError,
    OSSConfig,
    S3Config,
    TaskFileStatus,
    TaskStatus,
    WaitTimeoutError,
)
from asyncsdk.emulator import Emulator
from asyncsdk.emulator._state import Generation

OSS = OSSConfig(
    endpoint="oss-cn-hangzhou.aliyuncs.com",
    access_key_id="LTAI-test",
    access_key_secret="never-print-me",
    bucket_name="moc-test-data",
)


@pytest.fixture
async def fast(api: Generation) -> AsyncIterator[tuple[Emulator, MOIClient]]:
    # Quick file steps and a high failure rate, so every path of the state machine shows; in
    # each API generation (the current one answers /task/get with the task itself, its
    # status named and its times as strings).
    async with (
        Emulator(task_file_seconds=0.05, task_file_failure_rate=0.3, seed=7, api=api) as emu,
        MOIClient(emu.url, paths=api, **emu.moi_credentials) as moi,
    ):
        yield emu, moi


def a_volume(emu: Emulator) -> str:
    return next(iter(emu.state.raw_volumes.volumes))


async def test_connector_round_trip(moi: MOIClient) -> None:
    created = await moi.connectors.create("ingest-oss", OSS, resolve=True)
    assert created is not None
    assert created.name == "ingest-oss"
    assert created.config.oss == OSS
    assert "never-print-me" not in repr(created)
    assert await moi.connectors.validate(connector_id=created.id)
    assert await moi.connectors.validate(config=OSS)
    broken = OSSConfig("invalid.example", "id", "secret", "bucket")
    assert not await moi.connectors.validate(config=broken)
    with pytest.raises(ConflictError):
        await moi.connectors.create("ingest-oss", OSS)
    await moi.connectors.update(created.id, name="ingest-renamed")
    assert await moi.connectors.find("ingest-renamed") is not None
    await moi.connectors.delete(created.id)
    assert await moi.connectors.find("ingest-renamed") is None
    with pytest.raises(NotFoundError):
        await moi.connectors.delete(created.id)


async def test_connector_files_filter_by_type_and_directory(moi: MOIClient) -> None:
    pdfs = await moi.connectors.files(100001, file_types=[FileType.PDF]).collect()
    assert pdfs and all(f.type is FileType.PDF for f in pdfs)
    folders = await moi.connectors.files(100001, dir="data/").collect()
    assert folders and all(f.type is FileType.DIRECTORY for f in folders)


async def test_connector_config_is_checked_before_sending(
    emulator: Emulator, moi: MOIClient
) -> None:
    before = emulator.stats.requests
    with pytest.raises(InvalidInputError, match="bucket_name"):
        await moi.connectors.create("x", OSSConfig("e", "id", "secret", ""))
    with pytest.raises(InvalidInputError, match="region"):
        await moi.connectors.create("x", S3Config("e", "id", "secret", "b", region=" "))
    with pytest.raises(InvalidInputError, match="exactly one"):
        await moi.connectors.validate()
    assert emulator.stats.requests == before


async def test_a_once_task_loads_its_files_and_finishes(fast: tuple[Emulator, MOIClient]) -> None:
    emu, moi = fast
    volume = a_volume(emu)
    task = await moi.tasks.create(100001, volume, ["data/f03/"], name="f03", resolve=True)
    assert task is not None
    assert task.status is TaskStatus.RUNNING
    assert task.source_config.common_file_task_config.uris == ("data/f03/",)
    done = await moi.tasks.wait(task.id, max_wait=20, interval=0.05)
    assert done.status is TaskStatus.FINISHED
    counts = await moi.tasks.file_counts(task.id)
    assert counts.total == 20  # 200 files over 10 folders
    assert counts.succeeded + counts.failed == counts.total
    assert counts.failed > 0  # with a 30% failure rate and a fixed seed
    # Succeeded files landed in the raw volume, under /<volume name>/<file name>.
    loaded = emu.state.raw_volumes.files[volume]
    assert len(loaded) == counts.succeeded


async def test_retrying_failed_files_completes_the_task(fast: tuple[Emulator, MOIClient]) -> None:
    emu, moi = fast
    task = await moi.tasks.create(100001, a_volume(emu), ["data/f05/"], name="f05", resolve=True)
    assert task is not None
    await moi.tasks.wait(task.id, max_wait=20, interval=0.05)
    failed = await moi.tasks.files(task.id, status=[TaskFileStatus.FAILED]).collect()
    assert failed and all(f.reason for f in failed)
    assert sorted(await moi.tasks.retry_failed(task.id)) == sorted(f.id for f in failed)
    retrying = await moi.tasks.files(task.id, status=[TaskFileStatus.RETRYING]).collect()
    assert {f.id for f in retrying} == {f.id for f in failed}
    await moi.tasks.wait(task.id, max_wait=20, interval=0.05)
    assert (await moi.tasks.file_counts(task.id)).failed == 0


async def test_pause_and_resume(fast: tuple[Emulator, MOIClient]) -> None:
    emu, moi = fast
    task = await moi.tasks.create(
        100002,
        a_volume(emu),
        ["data/"],
        load_interval_type=LoadIntervalType.HOUR,
        interval=60,
        name="hourly",
        resolve=True,
    )
    assert task is not None
    await moi.tasks.pause(task.id)
    assert (await moi.tasks.get(task.id)).status in (TaskStatus.PAUSING, TaskStatus.PAUSED)
    paused = await moi.tasks.wait(task.id, until=[TaskStatus.PAUSED], max_wait=10, interval=0.05)
    assert paused.status is TaskStatus.PAUSED
    await moi.tasks.resume(task.id)
    assert (await moi.tasks.get(task.id)).status is TaskStatus.RUNNING
    # A periodic task never finishes: waiting for it runs out of time, with its last state.
    with pytest.raises(WaitTimeoutError) as info:
        await moi.tasks.wait(task.id, max_wait=0.3, interval=0.05)
    assert info.value.last.status is TaskStatus.RUNNING  # type: ignore[attr-defined]


async def test_list_filters_and_order(emulator: Emulator, moi: MOIClient) -> None:
    paused = await moi.tasks.list(status=[TaskStatus.PAUSED]).collect()
    assert paused and all(t.status is TaskStatus.PAUSED for t in paused)
    hourly = await moi.tasks.list(load_interval_types=[LoadIntervalType.HOUR]).collect()
    assert hourly and all(
        t.source_config.common_file_task_config.load_mode_config.load_interval_type
        is LoadIntervalType.HOUR
        for t in hourly
    )
    newest_first = await moi.tasks.list(order_by="created_at", descending=True).collect()
    stamps = [t.created_at for t in newest_first]
    assert stamps == sorted(stamps, reverse=True)  # type: ignore[type-var]
    assert len(newest_first) == emulator.config.tasks


async def test_update_get_delete(fast: tuple[Emulator, MOIClient]) -> None:
    _, moi = fast
    task = await moi.tasks.list().first()
    assert task is not None
    await moi.tasks.update(
        task.id, load_interval_type=LoadIntervalType.DAY, interval=24, uris=["data/f09/"]
    )
    updated = await moi.tasks.get(task.id)
    config = updated.source_config.common_file_task_config
    assert config.uris == ("data/f09/",)
    assert config.load_mode_config.load_interval_type is LoadIntervalType.DAY
    assert config.load_mode_config.interval == 24
    await moi.tasks.delete(task.id)
    with pytest.raises(NotFoundError):
        await moi.tasks.get(task.id)


async def test_task_input_is_checked_before_sending(emulator: Emulator, moi: MOIClient) -> None:
    before = emulator.stats.requests
    with pytest.raises(InvalidInputError, match="uris"):
        await moi.tasks.create(100001, "1", [])
    with pytest.raises(InvalidInputError, match="uris"):
        await moi.tasks.create(100001, "1", "data/")
    with pytest.raises(InvalidInputError, match="interval"):
        await moi.tasks.create(100001, "1", ["a"], interval=-1)
    with pytest.raises(InvalidInputError, match="volume_id"):
        await moi.tasks.create(100001, "  ", ["a"])
    with pytest.raises(InvalidInputError, match="task_id"):
        await moi.tasks.get("")
    with pytest.raises(InvalidInputError, match="file_ids"):
        await moi.tasks.retry_files("1", [])
    with pytest.raises(InvalidInputError, match="status"):
        moi.tasks.list(status=1)  # type: ignore[arg-type]
    assert emulator.stats.requests == before
