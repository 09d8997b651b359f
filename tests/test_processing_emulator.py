"""Workflows, jobs, volumes and metrics against the emulator, over real sockets.

Job timing is driven two ways: fast real time (``job_file_seconds`` of a few milliseconds) where
a test waits for a job like a user would, and the emulator's own clock
(``state.processing.advance(now)``) where a test looks at the states in between, so nothing
depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import itertools
import json
import time
import tracemalloc
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from asyncsdk import (
    BadRequestError,
    ConflictError,
    FileType,
    JobFileStatus,
    JobStatus,
    MetricName,
    MOIClient,
    NotFoundError,
    ProcessedVolume,
    ProcessInterval,
    ProcessMode,
    RawVolume,
    TaskFileStatus,
    WaitTimeoutError,
    Workflow,
    WorkflowConfig,
    WorkflowStatus,
)
from asyncsdk.emulator import Emulator
from asyncsdk.emulator._blobs import pattern
from asyncsdk.emulator._processing import ProcessingStore
from asyncsdk.emulator._state import Generation
from asyncsdk.moi.paths import resolve_paths

DOCS = Path(__file__).parent / "data" / "moi_docs"
PIPELINE = WorkflowConfig(
    components=({"name": "DocumentSplitter", "init_parameters": {"split_length": 800}},),
    connections=(
        {"sender": "FileRouterComponent.application/pdf", "receiver": "MagicPDFToDocument.sources"},
    ),
)


def store(emu: Emulator) -> ProcessingStore:
    assert emu.state.processing is not None
    return emu.state.processing


def add_files(
    emu: Emulator, volume: RawVolume, count: int, *, file_type: int = 2, size: int = 10_000
) -> list[dict[str, Any]]:
    """Files in a raw volume, as a load task leaves them (status 5, succeeded)."""
    now = int(time.time())
    extension = {2: "pdf", 1: "txt", 6: "md"}.get(file_type, "bin")
    files = []
    for n in range(count):
        name = f"doc-{len(emu.state.raw_volumes.files[volume.id]):04d}.{extension}"
        files.append(
            emu.state.raw_volumes.add_file(
                volume.id,
                {
                    "id": emu.state.snowflake(),
                    "name": name,
                    "type": file_type,
                    "status": 5,
                    "size": size + n,
                    "update_time": now,
                    "other_metadata": "",
                    "reason": "",
                    "user": "admin",
                    "start_time": now - 2,
                    "end_time": now,
                    "path": f"/{volume.name}/{name}",
                },
            )
        )
    return files


async def setup_volumes(moi_fast: MOIClient, name: str) -> tuple[RawVolume, ProcessedVolume]:
    raw = await moi_fast.volumes.raw.create(f"{name}-raw", resolve=True)
    assert raw is not None
    target = await moi_fast.volumes.processed.create(f"{name}-out")
    return raw, target


async def create_workflow(
    moi_fast: MOIClient,
    name: str,
    raw: RawVolume,
    target: ProcessedVolume,
    *,
    interval: int = ProcessInterval.ONCE,
    file_types: tuple[FileType, ...] = (FileType.PDF,),
) -> Workflow:
    workflow = await moi_fast.workflows.create(
        name,
        source_volume_ids=[raw.id],
        source_volume_names=[raw.name],
        target_volume_id=target.id,
        target_volume_name=target.name,
        file_types=file_types,
        workflow=PIPELINE,
        process_mode=ProcessMode(interval=interval),
        resolve=True,
    )
    assert workflow is not None
    return workflow


async def eventually(check: Any, timeout: float = 10.0) -> None:
    """Poll ``check()`` (sync) until true, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@pytest.fixture
async def fast(api: Generation) -> AsyncIterator[Emulator]:
    """Jobs finish in milliseconds; nothing is seeded but the raw and processed volumes. Each
    test runs against both API generations."""
    async with Emulator(job_file_seconds=0.005, workflow_jobs=0, api=api) as emu:
        yield emu


@pytest.fixture
async def moi_fast(fast: Emulator) -> AsyncIterator[MOIClient]:
    async with MOIClient(fast.url, paths=fast.api, **fast.moi_credentials) as client:
        yield client


# -- workflows --------------------------------------------------------------------------------


async def test_workflow_create_get_update_delete(fast: Emulator, moi_fast: MOIClient) -> None:
    raw, target = await setup_volumes(moi_fast, "wf")
    add_files(fast, raw, 3)
    workflow = await create_workflow(moi_fast, "contracts", raw, target)
    assert workflow.source_volume_ids == (raw.id,)
    assert workflow.target_volume_id == target.id and workflow.file_types == (FileType.PDF,)
    assert workflow.created_at is not None
    assert abs(workflow.created_at.timestamp() - time.time()) < 60  # epoch ms read correctly

    detail = await moi_fast.workflows.get(workflow.id)
    assert detail.workflow == PIPELINE  # the graph is stored and echoed back

    await moi_fast.workflows.update(
        workflow.id, name="contracts-v2", process_mode=ProcessMode(interval=ProcessInterval.HOUR_1)
    )
    updated = await moi_fast.workflows.get(workflow.id)
    assert (updated.name, updated.process_mode.interval) == ("contracts-v2", 4)
    assert updated.workflow == PIPELINE and updated.source_volume_ids == (raw.id,)

    job = await moi_fast.jobs.list(workflow_id=workflow.id).first()
    assert job is not None
    await moi_fast.jobs.wait(job.id, max_wait=10, interval=0.01, max_interval=0.05)
    assert len(await moi_fast.volumes.processed.files(target.id).collect()) == 3
    await moi_fast.workflows.delete(workflow.id, delete_data=True)
    with pytest.raises(NotFoundError):
        await moi_fast.workflows.get(workflow.id)
    assert await moi_fast.volumes.processed.files(target.id).collect() == []  # its data went too


async def test_workflow_into_a_new_target_volume(fast: Emulator, moi_fast: MOIClient) -> None:
    raw = await moi_fast.volumes.raw.create("nv-raw", resolve=True)
    assert raw is not None
    workflow = await moi_fast.workflows.create(
        "new-target",
        source_volume_ids=[raw.id],
        source_volume_names=[raw.name],
        create_target_volume_name="made-by-workflow",
        file_types=[FileType.PDF],
        workflow=PIPELINE,
        resolve=True,
    )
    assert workflow is not None and workflow.target_volume_name == "made-by-workflow"
    volume = await moi_fast.volumes.processed.get(workflow.target_volume_id)
    assert volume.name == "made-by-workflow"
    using = await moi_fast.volumes.processed.list(workflow_using=True).collect()
    assert [v.id for v in using] == [volume.id]


async def test_workflow_listing_pages_through_the_paginator(
    fast: Emulator, moi_fast: MOIClient
) -> None:
    raw, target = await setup_volumes(moi_fast, "pages")
    for n in range(5):
        await create_workflow(moi_fast, f"paged-{n}", raw, target, interval=ProcessInterval.DAY_1)
    await create_workflow(moi_fast, "other", raw, target, interval=ProcessInterval.DAY_1)
    pages = [
        page async for page in moi_fast.workflows.list(name_search="paged-", page_size=2).pages()
    ]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert pages[0].total == 5
    names = [w.name for p in pages for w in p.items]
    assert names == [f"paged-{n}" for n in (4, 3, 2, 1, 0)]  # newest first
    oldest_first = await moi_fast.workflows.list(
        name_search="paged-", descending=False, page_size=2, concurrency=3
    ).collect()
    assert [w.name for w in oldest_first] == [f"paged-{n}" for n in range(5)]
    running = await moi_fast.workflows.list(status=[WorkflowStatus.RUNNING], page_size=4).collect()
    assert len(running) == 6  # periodic workflows keep running


async def test_workflow_errors_come_back_typed(fast: Emulator, moi_fast: MOIClient) -> None:
    raw, target = await setup_volumes(moi_fast, "err")
    await create_workflow(moi_fast, "taken", raw, target, interval=ProcessInterval.DAY_1)
    with pytest.raises(ConflictError):
        await create_workflow(moi_fast, "taken", raw, target)
    with pytest.raises(NotFoundError, match="target volume"):
        await moi_fast.workflows.create(
            "x",
            source_volume_ids=[raw.id],
            source_volume_names=[raw.name],
            target_volume_id="no-such-volume",
            file_types=[2],
            workflow=PIPELINE,
        )
    with pytest.raises(BadRequestError):
        await moi_fast.workflows.list(order_by="colour").collect()


# -- jobs -------------------------------------------------------------------------------------


async def test_a_job_moves_through_its_states_on_the_emulators_clock() -> None:
    async with (
        Emulator(job_file_seconds=60, job_parallelism=2, workflow_jobs=0) as emu,
        MOIClient(emu.url, **emu.moi_credentials) as moi,
    ):
        raw, target = await setup_volumes(moi, "clock")
        add_files(emu, raw, 5)
        workflow = await create_workflow(moi, "clocked", raw, target)
        job = await moi.jobs.list(workflow_id=workflow.id).first()
        assert job is not None and job.status == JobStatus.RUNNING
        assert (job.total_count, job.processed_count, job.end_time) == (5, 0, None)
        counts = await moi.jobs.file_counts(job.id)
        assert (counts.processing, counts.pending, counts.completed) == (2, 3, 0)

        store(emu).advance(time.time() + 61)  # the first two files are done
        counts = await moi.jobs.file_counts(job.id)
        assert (counts.completed, counts.processing, counts.pending) == (2, 2, 1)
        processing = await moi.jobs.files(job.id, status=[JobFileStatus.PROCESSING]).collect()
        assert len(processing) == 2 and all(f.start_time and not f.end_time for f in processing)

        store(emu).advance(time.time() + 181)
        job = await moi.jobs.get(job.id)
        assert job.status == JobStatus.COMPLETED and job.finished
        assert (job.processed_count, job.total_count) == (5, 5)
        assert job.end_time is not None and job.start_time is not None
        assert job.workflow == PIPELINE  # get fills in the graph
        assert (await moi.workflows.get(workflow.id)).status == WorkflowStatus.COMPLETED


async def test_wait_returns_the_finished_job(fast: Emulator, moi_fast: MOIClient) -> None:
    raw, target = await setup_volumes(moi_fast, "wait")
    add_files(fast, raw, 6)
    add_files(fast, raw, 2, file_type=1)  # not a PDF: not part of the job
    workflow = await create_workflow(moi_fast, "waited", raw, target)
    job = await moi_fast.jobs.list(workflow_id=workflow.id).first()
    assert job is not None
    done = await moi_fast.jobs.wait(job.id, max_wait=10, interval=0.01, max_interval=0.05)
    assert done.status == JobStatus.COMPLETED
    assert (done.processed_count, done.total_count) == (6, 6)


async def test_wait_times_out_with_the_last_state_and_can_be_cancelled() -> None:
    async with (
        Emulator(job_file_seconds=600, workflow_jobs=0) as emu,
        MOIClient(emu.url, **emu.moi_credentials) as moi,
    ):
        raw, target = await setup_volumes(moi, "slow")
        add_files(emu, raw, 1)
        workflow = await create_workflow(moi, "slow", raw, target)
        job = await moi.jobs.list(workflow_id=workflow.id).first()
        assert job is not None
        with pytest.raises(WaitTimeoutError) as info:
            await moi.jobs.wait(job.id, max_wait=0.2, interval=0.02, max_interval=0.05)
        assert isinstance(info.value.last, type(job))
        assert info.value.last.status == JobStatus.RUNNING

        route = "GET /byoa/api/v1/index_workflow_job/{job_id}"
        before = emu.stats.by_route[route]
        waiter = asyncio.create_task(
            moi.jobs.wait(job.id, max_wait=None, interval=0.01, max_interval=0.01)
        )
        await eventually(lambda: emu.stats.by_route[route] >= before + 2)  # it is polling
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter


async def test_failed_files_are_retried_until_the_job_completes() -> None:
    async with (
        Emulator(job_file_seconds=0.005, job_file_failure_rate=1.0, workflow_jobs=0) as emu,
        MOIClient(emu.url, **emu.moi_credentials) as moi,
    ):
        raw, target = await setup_volumes(moi, "retry")
        add_files(emu, raw, 4)
        workflow = await create_workflow(moi, "flaky", raw, target)
        job = await moi.jobs.list(workflow_id=workflow.id).first()
        assert job is not None
        job = await moi.jobs.wait(job.id, max_wait=10, interval=0.01, max_interval=0.05)
        assert job.status == JobStatus.FAILED
        failed = await moi.jobs.files(job.id, status=[JobFileStatus.FAILED]).collect()
        assert len(failed) == 4 and all(f.error_message for f in failed)
        assert (await moi.jobs.file_counts(job.id)).failed == 4

        with pytest.raises(NotFoundError):
            await moi.jobs.retry_files(job.id, ["not-a-file-of-this-job"])
        emu.config.job_file_failure_rate = 0.0  # the cause is fixed; retries now succeed
        await moi.jobs.retry_files(job.id, [failed[0].id])
        job = await moi.jobs.wait(job.id, max_wait=10, interval=0.01, max_interval=0.05)
        counts = await moi.jobs.file_counts(job.id)
        assert (counts.completed, counts.failed) == (1, 3)

        retried = await moi.jobs.retry_failed(job.id)
        assert sorted(retried) == sorted(f.id for f in failed[1:])
        job = await moi.jobs.wait(job.id, max_wait=10, interval=0.01, max_interval=0.05)
        assert job.status == JobStatus.COMPLETED and job.processed_count == 4
        assert await moi.jobs.retry_failed(job.id) == []
        done = await moi.volumes.processed.files(
            target.id, status=[JobFileStatus.COMPLETED]
        ).collect()
        assert len(done) == 4


async def test_job_and_job_file_listings_page(fast: Emulator, moi_fast: MOIClient) -> None:
    raw, target = await setup_volumes(moi_fast, "jobs")
    add_files(fast, raw, 7)
    workflow = await create_workflow(
        moi_fast, "hourly", raw, target, interval=ProcessInterval.HOUR_1
    )
    assert await moi_fast.jobs.list(workflow_id=workflow.id).collect() == []  # periodic: no job yet
    started = [store(fast).tick() for _ in range(5)]  # five scheduled runs
    assert all(len(jobs) == 1 for jobs in started)
    pages = [p async for p in moi_fast.jobs.list(workflow_id=workflow.id, page_size=2).pages()]
    assert [len(p) for p in pages] == [2, 2, 1]
    listed = [j.id for p in pages for j in p.items]
    assert listed == [jobs[0]["id"] for jobs in reversed(started)]  # newest first

    job_id = listed[0]
    await moi_fast.jobs.wait(job_id, max_wait=10, interval=0.01, max_interval=0.05)
    file_pages = [p async for p in moi_fast.jobs.files(job_id, page_size=3).pages()]
    assert [len(p) for p in file_pages] == [3, 3, 1]
    names = sorted(f.name for p in file_pages for f in p.items)
    assert names == sorted(f["name"] for f in fast.state.raw_volumes.files[raw.id].values())
    in_parallel = await moi_fast.jobs.files(job_id, page_size=2, concurrency=4).collect()
    assert [f.id for f in in_parallel] == [f.id for p in file_pages for f in p.items]
    counts = await moi_fast.jobs.file_counts(job_id)
    assert (counts.total, counts.completed, counts.file_total) == (7, 7, 7)


@pytest.mark.asyncsdk_emulator(workflow_jobs=25)
async def test_the_seeded_history_lists_like_any_other(moi_client: MOIClient) -> None:
    jobs = await moi_client.jobs.list(page_size=10, prefetch=1).collect()
    assert len(jobs) == 25 and all(j.status == JobStatus.COMPLETED for j in jobs)
    assert all(j.total_count == 3 for j in jobs)
    starts = [j.start_time for j in jobs]
    assert starts == sorted(starts, reverse=True)  # type: ignore[type-var]
    [seeded] = await moi_client.workflows.list(name_search="seeded").collect()
    assert seeded.process_mode.interval != 0


async def test_each_generation_serves_its_own_paths_only(fast: Emulator) -> None:
    own = resolve_paths(fast.api)
    other = resolve_paths("seed" if fast.api == "current" else "current")
    async with MOIClient(fast.url, paths=other, **fast.moi_credentials) as moi:
        with pytest.raises(NotFoundError):
            await moi.jobs.list().first()
    async with MOIClient(fast.url, paths=fast.api, **fast.moi_credentials) as moi:
        raw, target = await setup_volumes(moi, "own")
        add_files(fast, raw, 2)
        workflow = await create_workflow(moi, "own-paths", raw, target)
        job = await moi.jobs.list(workflow_id=workflow.id).first()
        assert job is not None
        assert (await moi.jobs.wait(job.id, max_wait=10, interval=0.01)).finished
    assert fast.stats.by_route[f"GET {own.job}"] >= 1


# -- processed volumes ------------------------------------------------------------------------


async def test_processed_volumes_files_and_blocks(fast: Emulator, moi_fast: MOIClient) -> None:
    raw, target = await setup_volumes(moi_fast, "pv")
    add_files(fast, raw, 5)
    add_files(fast, raw, 2, file_type=6)
    workflow = await create_workflow(
        moi_fast, "pv", raw, target, file_types=(FileType.PDF, FileType.MARKDOWN)
    )
    job = await moi_fast.jobs.list(workflow_id=workflow.id).first()
    assert job is not None
    await moi_fast.jobs.wait(job.id, max_wait=10, interval=0.01, max_interval=0.05)

    child = await moi_fast.volumes.processed.create("pv-child", parent_volume_id=target.id)
    assert [v.id for v in await moi_fast.volumes.processed.children(target.id).collect()] == [
        child.id
    ]
    assert (await moi_fast.volumes.processed.get(child.id)).parent_volume_id == target.id

    pages = [p async for p in moi_fast.volumes.processed.files(target.id, page_size=3).pages()]
    assert [len(p) for p in pages] == [3, 3, 1] and pages[0].total == 7
    files = [f for p in pages for f in p.items]
    assert {f.job_id for f in files} == {job.id}
    assert all(f.source_volume_id == raw.id and f.status == JobFileStatus.COMPLETED for f in files)
    markdown = await moi_fast.volumes.processed.files(
        target.id, types=[FileType.MARKDOWN]
    ).collect()
    assert len(markdown) == 2
    by_name = await moi_fast.volumes.processed.files(
        target.id, order_by="file_name", descending=False
    ).collect()
    assert [f.name for f in by_name] == sorted(f.name for f in files)

    victim = files[0]
    blocks = [b async for b in moi_fast.volumes.processed.blocks(target.id, victim.id, page_size=2)]
    assert len(blocks) == 3 and all(b.file_id == victim.id for b in blocks)
    [table] = await moi_fast.volumes.processed.blocks(
        target.id, victim.id, types=["table"]
    ).collect()
    assert table.content is not None and table.content.startswith("|")
    await moi_fast.volumes.processed.delete_blocks(target.id, victim.id, [table.id])
    left = await moi_fast.volumes.processed.blocks(target.id, victim.id).collect()
    assert {b.id for b in left} == {b.id for b in blocks} - {table.id}

    archive = zipfile.ZipFile(
        io.BytesIO(
            b"".join(
                [chunk async for chunk in moi_fast.volumes.processed.download(target.id, victim.id)]
            )
        )
    )
    stem = victim.name.rsplit(".", 1)[0]
    parse = json.loads(archive.read(f"{stem}-{victim.id}/{stem}_parse.json"))
    assert [b["id"] for b in parse["blocks"]] == [b.id for b in left]

    await moi_fast.volumes.processed.delete_file(target.id, victim.id)
    assert len(await moi_fast.volumes.processed.files(target.id).collect()) == 6
    with pytest.raises(NotFoundError):
        await moi_fast.volumes.processed.blocks(target.id, victim.id).collect()

    await moi_fast.volumes.processed.delete(child.id)
    with pytest.raises(NotFoundError):
        await moi_fast.volumes.processed.get(child.id)


# -- raw volumes ------------------------------------------------------------------------------


async def test_raw_volumes_files_links_and_deletes(fast: Emulator, moi_fast: MOIClient) -> None:
    # docs/wire/moi.md#d6: no id in the answer
    assert await moi_fast.volumes.raw.create("landing") is None  # type: ignore[func-returns-value]  # the documented None
    with pytest.raises(ConflictError):
        await moi_fast.volumes.raw.create("landing")
    volume = await moi_fast.volumes.raw.find("landing")
    assert volume is not None and volume.file_num == 0
    added = add_files(fast, volume, 3, size=300_000)
    listed = await moi_fast.volumes.raw.files(volume.id).collect()
    assert [f.id for f in listed] == [f["id"] for f in added]
    assert all(f.status == TaskFileStatus.SUCCEEDED for f in listed)
    assert (await moi_fast.volumes.raw.find("landing")).file_num == 3  # type: ignore[union-attr]

    link = await moi_fast.volumes.raw.file_link(volume.id, added[0]["id"])
    assert link.startswith(fast.blob_origin + "/") and "Signature=" in link
    body = b"".join([c async for c in moi_fast.volumes.raw.download(volume.id, added[1]["id"])])
    expected = pattern(f"raw/{volume.id}/{added[1]['id']}")
    assert len(body) == 300_001 and body == (expected * 2)[:300_001]

    await moi_fast.volumes.raw.delete_files(volume.id, [added[0]["id"], added[1]["id"]])
    assert [f.id for f in await moi_fast.volumes.raw.files(volume.id).collect()] == [added[2]["id"]]
    with pytest.raises(NotFoundError):  # a first attempt that finds nothing is an error
        await moi_fast.volumes.raw.delete_files(volume.id, [added[0]["id"]])


async def test_raw_download_saves_to_disk(
    fast: Emulator, moi_fast: MOIClient, tmp_path: Path
) -> None:
    [volume, _] = await moi_fast.volumes.raw.list().collect()
    [file] = add_files(fast, volume, 1, size=3 * 2**20)
    target = tmp_path / "doc.pdf"
    assert await moi_fast.volumes.raw.download(volume.id, file["id"]).save(target) == 3 * 2**20 + 0
    block = pattern(f"raw/{volume.id}/{file['id']}")
    data = target.read_bytes()
    assert all(
        data[n : n + len(block)] == block[: len(data) - n] for n in range(0, len(data), len(block))
    )


async def test_a_100_mb_download_streams_in_bounded_memory(
    fast: Emulator, moi_fast: MOIClient
) -> None:
    """Both sides stream: the emulator generates the bytes, the client hands out chunks.

    tracemalloc traces every Python allocation in this process, which here holds the client
    *and* the emulator serving it; the figure is the peak of traced memory during the transfer
    minus what was traced before it. A client or server that held the file would add 100 MiB.
    """
    size = 100 * 2**20
    [volume, _] = await moi_fast.volumes.raw.list().collect()
    [file] = add_files(fast, volume, 1, size=size)
    download = moi_fast.volumes.raw.download(volume.id, file["id"])
    expected = hashlib.sha256()
    block = pattern(f"raw/{volume.id}/{file['id']}")
    for start in range(0, size, len(block)):
        expected.update(block[: size - start])

    digest, received = hashlib.sha256(), 0
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        async for chunk in download:
            digest.update(chunk)
            received += len(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    growth_mib = (peak - baseline) / 2**20
    print(f"100 MiB download: peak traced memory growth {growth_mib:.2f} MiB")
    assert received == size and digest.digest() == expected.digest()
    assert growth_mib < 20
    # The file came from the blob origin, and no credential went there.
    headers = fast.state.blobs.requests[-1]
    assert headers["host"] == fast.blob_origin.split("//", 1)[1]
    assert not {"access-token", "uid", "user-id", "refresh-token"} & set(headers)


# -- metrics ----------------------------------------------------------------------------------


async def test_metrics_are_derived_from_what_happened(fast: Emulator, moi_fast: MOIClient) -> None:
    raw, target = await setup_volumes(moi_fast, "metrics")
    files = add_files(fast, raw, 4, size=1000)
    workflow = await create_workflow(moi_fast, "measured", raw, target)
    job = await moi_fast.jobs.list(workflow_id=workflow.id).first()
    assert job is not None
    await moi_fast.jobs.wait(job.id, max_wait=10, interval=0.01, max_interval=0.05)

    end = datetime.now(UTC) + timedelta(minutes=1)
    start = end - timedelta(minutes=10)
    series = await moi_fast.metrics.query(
        [
            MetricName.PROCESS_FINISH_JOB_COUNT,
            MetricName.LOAD_FILE_COUNT,
            MetricName.LOAD_FILE_SIZE,
            MetricName.PROCESS_WORKFLOW_SUCCESS_RATE,
            MetricName.LOAD_TASK_COUNT,
        ],
        start,
        end,
        60,
    )
    by_name = {s.name: s for s in series}
    assert len(series) == 5
    for s in series:
        assert len(s.points) == 10  # (end - start) / interval
        assert s.labels["user_id"] == fast.config.account_name
        stamps = [p.timestamp for p in s.points]
        assert all(b - a == timedelta(minutes=1) for a, b in itertools.pairwise(stamps))
        assert all(t.second == 0 and t.microsecond == 0 for t in stamps)

    def total(name: str) -> float:
        return sum(p.value for p in by_name[name].points if p.value is not None)

    assert total("PipelineProcessFinishJobCount") == 1
    assert total("PipelineLoadFileCount") == 4
    assert total("PipelineLoadFileSize") == sum(f["size"] for f in files)
    # Buckets with nothing in them are null, not zero.
    assert [p.value for p in by_name["PipelineProcessFinishJobCount"].points].count(None) == 9
    assert all(p.value is None for p in by_name["PipelineLoadTaskCount"].points)
    rate = by_name["PipelineProcessWorkflowSuccessRate"]
    assert rate.labels["workflow_id"] == workflow.id
    assert [p.value for p in rate.points if p.value is not None] == [1.0]


async def test_metrics_on_the_in_cluster_path_need_no_credentials(fast: Emulator) -> None:
    # The blob port serves the same application from another origin: like the seed's
    # in-cluster host, it gets no credentials, and /ob/metrics asks for none.
    async with MOIClient(
        fast.url, metrics_url=f"{fast.blob_origin}/ob/metrics", **fast.moi_credentials
    ) as moi:
        end = datetime.now(UTC)
        [series] = await moi.metrics.query(
            "PipelineLoadFileCount", end - timedelta(hours=1), end, timedelta(minutes=5)
        )
        assert len(series.points) == 12
    assert fast.stats.by_route["POST /ob/metrics"] == 1
    assert fast.stats.unauthorized == 0


# -- the wire, as documented ------------------------------------------------------------------


def documented_keys(name: str, *path: str | int) -> set[str]:
    node: Any = json.loads((DOCS / f"{name}.json").read_text(encoding="utf-8"))
    for step in path:
        node = node[step]
    return set(node)


async def test_the_emulator_answers_with_the_documented_shapes(
    fast: Emulator, moi_fast: MOIClient
) -> None:
    raw, target = await setup_volumes(moi_fast, "shapes")
    add_files(fast, raw, 1)
    workflow = await create_workflow(moi_fast, "shapes", raw, target)
    job = await moi_fast.jobs.list(workflow_id=workflow.id).first()
    assert job is not None
    await moi_fast.jobs.wait(job.id, max_wait=10, interval=0.01)
    [file] = await moi_fast.volumes.processed.files(target.id).collect()

    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fast.url}/auth/login", json=fast.moi_credentials) as resp:
            uid = (await resp.json())["data"]["uid"]
            token = resp.headers["Access-Token"]
        headers = {"Access-Token": token, "uid": uid, "user-id": fast.config.account_name}

        async def call(method: str, path: str, body: Any = None) -> Any:
            async with http.request(method, fast.url + path, json=body, headers=headers) as r:
                assert r.status == 200, await r.text()
                return await r.json()

        byoa = "/byoa/api/v1"
        paths = resolve_paths(fast.api)
        wf, jobs = paths.workflows, paths.jobs
        answers = {
            "workflow_list": (await call("GET", wf), ("workflows", 0)),
            "workflow_get": (await call("GET", f"{wf}/{workflow.id}"), ()),
            "job_list": (await call("GET", jobs), ("jobs", 0)),
            "job_get": (await call("GET", f"{jobs}/{job.id}"), ()),
            "job_files": (await call("GET", f"{jobs}/{job.id}/files"), ()),
            "processed_volume_files": (
                await call("POST", f"{byoa}/explore/volumes/{target.id}/files"),
                ("items", 0),
            ),
            "processed_file_blocks": (
                await call(
                    "POST",
                    f"{byoa}/explore/volumes/{target.id}/files/{file.id}/blocks",
                    {"limit": 2},
                ),
                ("items", 0),
            ),
            "processed_volume_list": (await call("GET", f"{byoa}/explore/volumes"), ("volumes", 0)),
            "raw_volume_list": (await call("POST", "/DescribeOriginVolumes"), ("volumes", 0)),
            "raw_volume_files": (
                await call("POST", "/DescribeOriginVolume", {"id": raw.id}),
                ("items", 0),
            ),
        }
        for name, (answer, where) in answers.items():
            expected_code = "OK" if name.startswith("raw_") else "ok"
            assert answer["code"] == expected_code, name
            node = answer["data"]
            for step in where:
                node = node[step]
            missing = documented_keys(name, "data", *where) - set(node)
            assert not missing, f"{name} lacks {missing}"

        # The raws download is a ZIP with a file name; deleting blocks answers 204.
        raws = f"{byoa}/explore/volumes/{target.id}/files/{file.id}/raws"
        async with http.get(fast.url + raws, headers=headers) as r:
            assert r.content_type == "application/zip"
            assert r.headers["Content-Disposition"].startswith("attachment; filename=")
        blocks = f"{byoa}/explore/volumes/{target.id}/files/{file.id}/blocks"
        async with http.delete(fast.url + blocks, json={"ids": []}, headers=headers) as r:
            assert r.status == 204
        # FastAPI's validation answer, with no envelope.
        async with http.delete(fast.url + blocks, json={}, headers=headers) as r:
            assert r.status == 422
            assert (await r.json())["detail"][0]["loc"] == ["body", "ids"]
        # The seed's update was documented as POST, the example used PUT: both work
        # (docs/wire/moi.md#d18).
        graph = PIPELINE.to_dict()
        async with http.post(
            fast.url + f"{wf}/{workflow.id}",
            json={"name": "renamed", "workflow": graph},
            headers=headers,
        ) as r:
            assert (await r.json()) == {"code": "ok", "msg": "ok", "data": None}
        # Retry by query (the Era-B docs' form, docs/wire/moi.md#d19).
        retry = f"{jobs}/{job.id}/files?file_ids=nope"
        async with http.post(fast.url + retry, headers=headers) as r:
            assert r.status == 404 and "detail" in await r.json()
        # BYOA itself requires user-id (the token check answers 401 first when it is on).
        fast.state.moi_auth_check = None
        async with http.get(fast.url + wf, headers={}) as r:
            assert r.status == 422
            assert (await r.json())["detail"][0]["loc"] == ["header", "user-id"]
