"""``asyncsdk.dask`` and ``asyncsdk migrate`` over real sockets: the emulator in its own process,
a local Dask cluster of worker processes, one of them killed mid-shard."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

pytest.importorskip("distributed")

import dask
from distributed import Client, LocalCluster

from asyncsdk import (
    ConnectorFile,
    InvalidInputError,
    MaxirClient,
    MOIClient,
    ShardSupersededError,
)
from asyncsdk._demo import QuietReporter
from asyncsdk._migrate import (
    DirectoryShard,
    MigrateOptions,
    migrate_shard,
    name_of,
    run_migration,
)
from asyncsdk.dask import (
    CheckpointDirectory,
    ShardRun,
    WorkerClients,
    run_shards,
    worker_reports,
)
from asyncsdk.emulator import Emulator, MaxirCredentials

from . import _dask_work
from ._dask_work import MAXIR_CREDENTIALS, MOI_CREDENTIALS

#: 24,000 files, of which MAXIR takes 20,000 (the emulator's png and parquet files it does not).
FILES = 24_000
MIGRATED = 20_000


@contextlib.asynccontextmanager
async def emulator_process(**fields: Any) -> AsyncIterator[str]:
    """The emulator (with a log of listing requests) in a child process; yields its URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests._dask_emulator",
        json.dumps(fields),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=Path(__file__).parent.parent,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert line.startswith("listening on "), line
        yield line.split()[-1]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


@contextlib.asynccontextmanager
async def local_cluster(workers: int) -> AsyncIterator[Client]:
    with dask.config.set({"distributed.scheduler.allowed-failures": 3}):
        async with (
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                asynchronous=True,
                dashboard_address=":0",
                silence_logs=logging.CRITICAL,
            ) as cluster,
            Client(cluster, asynchronous=True) as client,  # type: ignore[no-untyped-call]
        ):
            yield client


async def _listings(url: str) -> list[dict[str, str]]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/_emulator/test-listings") as resp:
        listings: list[dict[str, str]] = await resp.json()
        return listings


async def _dataset(url: str) -> str:
    async with MaxirClient(url, **MAXIR_CREDENTIALS) as mx:
        [dataset] = await mx.datasets.list().collect()
        return dataset.id


async def _expected_names(url: str, files: int = FILES) -> list[str]:
    """The names of the connector's files that MAXIR takes (5 in 6 of the emulator's)."""
    async with MOIClient(url, **MOI_CREDENTIALS) as moi:
        listed = await moi.connectors.files(100001, page_size=1000).collect()
    names = [f.filename for f in listed if f.filename.rsplit(".", 1)[1] not in ("png", "parquet")]
    assert len(listed) == files and len(names) == files * 5 // 6
    return names


async def test_a_killed_worker_s_shard_resumes_and_every_file_arrives_exactly_once(
    tmp_path: Path,
) -> None:
    async with emulator_process(
        connectors=1,
        files_per_connector=FILES,
        tasks=60,
        maxir_datasets=1,
        maxir_datasources_per_dataset=0,
    ) as url:
        dataset_id = await _dataset(url)
        options = MigrateOptions(
            connector_ids=["100001"],
            dataset_id=dataset_id,
            root="data/",
            page_size=200,
            checkpoints=str(tmp_path / "checkpoints"),
        )
        victim = "100001:data/f00/"
        doomed: asyncio.Queue[int] = asyncio.Queue()

        async def on_signal(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            doomed.put_nowait(int((await reader.readline()).decode()))
            writer.close()

        server = await asyncio.start_server(on_signal, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        factory = functools.partial(_dask_work.emulator_clients, url)
        work = functools.partial(_dask_work.doomed_migrate_shard, options, victim, port, 3)
        async with server, local_cluster(2) as client:
            run = asyncio.create_task(
                run_migration(client, options, QuietReporter(), factory=factory, work=work)
            )
            # The victim says when it has done page 3's creates but not checkpointed them.
            pid = await asyncio.wait_for(doomed.get(), 60)
            os.kill(pid, signal.SIGKILL)
            summary = await asyncio.wait_for(run, 240)

            # The whole job again, as after a crash of the driver: nothing is run twice.
            before = await _listings(url)
            again = await run_migration(client, options, QuietReporter(), factory=factory)
            assert again.shards_restored == again.shards == 10
            assert again.created == MIGRATED
            new = (await _listings(url))[len(before) :]
            assert [q["dir"] for q in new] == ["data/"]  # planning the shards, nothing else

            # A numbered listing split by the paginator into page ranges, on the same workers.
            async with MOIClient(url, **MOI_CREDENTIALS) as moi:
                tokens = await moi.tasks.list(page_size=10).shards(3)
                every_task = [t.id async for t in moi.tasks.list(page_size=50)]
            assert len(tokens) == 3
            found: list[str] = []
            outcomes = run_shards(
                client,
                _dask_work.task_ids,
                tokens,
                checkpoints=tmp_path / "tasks",
                job="task ids",
                factory=factory,
            )
            async for outcome in outcomes:
                assert outcome.ok, outcome.error
                found.extend(outcome.result)
            assert sorted(found) == sorted(every_task) and len(every_task) == 60
            reports = await worker_reports(client)

        assert summary.ok, summary.shards_failed
        assert summary.created == MIGRATED and summary.skipped == 0
        assert summary.shards_resumed == 1
        # One login per live worker: the worker plugin shares one client between shards.
        # The same clients served the migration and the task shards: one login per worker.
        assert all(r["clients"]["moi"]["logins"] == 1 for r in reports.values() if r["clients"])
        assert sum(1 for r in reports.values() if r["clients"]) >= 1
        assert all(w["logins"] <= 1 for w in summary.workers.values() if w["pid"] != "gone")

        # Every file arrived exactly once.
        async with MaxirClient(url, **MAXIR_CREDENTIALS) as mx:
            sources = await mx.datasources.list(dataset_id, page_size=1000, concurrency=2).collect()
        names = Counter(s.name for s in sources)
        assert [n for n, count in names.items() if count > 1] == []
        assert sorted(names) == sorted(await _expected_names(url))

        # The victim's shard resumed from its checkpoint: two attempts, the second from the
        # token of page 3 (the page in flight when it died), not from the start.
        record = CheckpointDirectory(options.checkpoint_dir).load_shard(victim)
        first, second = record["attempts"]
        assert first["pid"] == pid and first["resumed_from"] is None
        assert second["pid"] != pid and second["resumed_from"] is not None
        # Its requests: each page listed once, except the one in flight when it died.
        cursors = Counter(
            q.get("cursor", "") for q in await _listings(url) if q.get("dir") == "data/f00/"
        )
        assert cursors[""] == 1  # page 1 only once: no restart
        # 2,400 files in pages of 200, and one last empty answer past the folder's last file.
        assert record["result"]["pages"] == 12 and len(cursors) == 13
        assert sorted(cursors.values()) == [1] * 12 + [2]


async def test_the_migrate_command_skips_what_exists_and_survives_the_death_of_its_machine(
    tmp_path: Path,
) -> None:
    async with emulator_process(
        connectors=1,
        files_per_connector=600,
        tasks=0,
        maxir_datasets=1,
        maxir_datasources_per_dataset=0,
    ) as url:
        dataset_id = await _dataset(url)
        env = {
            **os.environ,
            "ASYNCSDK_MOI_BASE_URL": url,
            "ASYNCSDK_MOI_ACCOUNT_NAME": MOI_CREDENTIALS["account_name"],
            "ASYNCSDK_MOI_USERNAME": MOI_CREDENTIALS["username"],
            "ASYNCSDK_MOI_PASSWORD": MOI_CREDENTIALS["password"],
            "ASYNCSDK_MAXIR_BASE_URL": url,
            "ASYNCSDK_MAXIR_API_KEY": MAXIR_CREDENTIALS["api_key"],
            "ASYNCSDK_MAXIR_USER_ID": MAXIR_CREDENTIALS["user_id"],
        }
        command = [
            sys.executable,
            "-m",
            "asyncsdk",
            "migrate",
            "100001",
            "--dataset",
            dataset_id,
            "--root",
            "data/",
            "--workers",
            "1",
            "--page-size",
            "10",
            "--checkpoints",
            str(tmp_path / "checkpoints"),
        ]

        # A hundred of the files are in the dataset already: they are skipped, not copied.
        names = await _expected_names(url, files=600)
        async with MaxirClient(url, **MAXIR_CREDENTIALS) as mx:
            for name in names[:100]:
                await mx.datasources.create(dataset_id, name, url=f"https://x.example/{name}")

        # The first run dies with its machine (driver, scheduler and worker at once) as soon
        # as it reports its first finished shard.
        first = await asyncio.create_subprocess_exec(
            *command,
            "--no-progress",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            assert first.stdout is not None
            while b" created, " not in (
                line := await asyncio.wait_for(first.stdout.readline(), 60)
            ):
                assert line, "the first run ended before finishing a shard"
        finally:
            os.killpg(first.pid, signal.SIGKILL)
            await first.wait()

        # The same command again: finished shards are not run again, the others resume.
        second = await asyncio.create_subprocess_exec(
            *command,
            "--json",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(second.communicate(), 120)
        assert second.returncode == 0, err.decode()
        assert MOI_CREDENTIALS["password"] not in out.decode() + err.decode()
        summary = json.loads(out)
        assert (summary["ok"], summary["shards"], summary["unsupported"]) == (True, 10, 100)
        assert 1 <= summary["shards_restored"] <= 9
        assert summary["created"] + summary["skipped"] == 500 and summary["skipped"] >= 100
        [worker] = summary["workers"].values()
        assert worker["logins"] == 1

        # Every file exactly once, the hundred that were there before included.
        async with MaxirClient(url, **MAXIR_CREDENTIALS) as mx:
            sources = await mx.datasources.list(dataset_id, page_size=1000).collect()
        assert sorted(s.name for s in sources) == sorted(names)


def test_a_checkpoint_directory_refuses_another_job_s_files(tmp_path: Path) -> None:
    store = CheckpointDirectory(tmp_path)
    store.save_job({"job": "copy A", "done": {"s1": 3}})
    assert store.load_job("copy A")["done"] == {"s1": 3}
    with pytest.raises(InvalidInputError, match="holds the checkpoints of job 'copy A'"):
        store.load_job("copy B")
    record = store.load_shard("100001:data/f00/")
    assert (record["token"], record["done"], record["attempts"]) == (None, False, [])
    record["token"] = "t-1"
    store.save_shard(record)
    assert store.load_shard("100001:data/f00/")["token"] == "t-1"
    # Written by rename: no temporary file is left behind.
    assert sorted(p.name for p in (tmp_path / "shards").iterdir()) == [
        store.shard_path("100001:data/f00/").name
    ]


def test_migrate_options_are_checked() -> None:
    with pytest.raises(InvalidInputError, match="url_template"):
        MigrateOptions(connector_ids=["1"], dataset_id="d", url_template="ftp://x/{uri}")
    with pytest.raises(InvalidInputError, match="connector"):
        MigrateOptions(connector_ids=[], dataset_id="d")


async def test_an_attempt_taken_over_by_a_newer_one_stops_at_its_next_checkpoint(
    tmp_path: Path,
) -> None:
    store = CheckpointDirectory(tmp_path)
    record = store.load_shard("s")
    record["attempts"].append({"worker": "tcp://a", "pid": 1, "resumed_from": None})
    store.save_shard(record)
    run: ShardRun[str] = ShardRun(
        key="s",
        spec="start-token",
        resume_from=None,
        state={},
        attempt=1,
        checkpointed=False,
        store=store,
        record=record,
    )
    assert run.start("start-token") == "start-token" and not run.finished
    await run.checkpoint("t-2", count=10)
    assert store.load_shard("s")["state"] == {"count": 10}
    await run.checkpoint(None, count=12)
    assert run.finished and run.start("start-token") is None  # nothing left to list

    # The scheduler gave the shard up for lost and started attempt 2 elsewhere.
    newer = store.load_shard("s")
    newer["attempts"].append({"worker": "tcp://b", "pid": 2, "resumed_from": None})
    store.save_shard(newer)
    with pytest.raises(ShardSupersededError, match="attempt 1 was superseded by attempt 2"):
        await run.checkpoint("t-3", count=99)
    assert store.load_shard("s")["state"] == {"count": 12}  # not overwritten


def test_data_sources_are_named_by_file_name_or_by_connector_and_path() -> None:
    file = ConnectorFile(uri="data/f03/q3.pdf", filename="q3.pdf")
    assert name_of(file) == "q3.pdf"
    assert name_of(file, "100004", by="path") == "100004_data_f03_q3.pdf"
    with pytest.raises(InvalidInputError, match="name_by"):
        MigrateOptions(connector_ids=["1"], dataset_id="d", name_by="uri")


async def test_files_the_service_refuses_are_counted_and_named_not_a_failed_shard(
    tmp_path: Path,
) -> None:
    async with Emulator(connectors=1, files_per_connector=24, maxir_datasets=1) as emu:
        # A MAXIR user who may not add to the dataset: every create is refused (403).
        stranger = MaxirCredentials(
            api_key=emu.maxir_credentials["api_key"], user_id="tmm-not-a-member"
        )
        async with (
            MOIClient(emu.url, **emu.moi_credentials) as moi,
            MaxirClient(emu.url, **emu.maxir_credentials) as owner,
        ):
            [dataset] = await owner.datasets.list().collect()
            options = MigrateOptions(
                connector_ids=["100001"], dataset_id=dataset.id, checkpoints=str(tmp_path)
            )
            [start] = await moi.connectors.files(100001, page_size=200).shards(1)
            clients = WorkerClients(moi=moi, maxir=MaxirClient(emu.url, **stranger))
            assert clients.maxir is not None
            async with clients.maxir:
                store = CheckpointDirectory(tmp_path)
                run: ShardRun[DirectoryShard] = ShardRun(
                    key="100001:*",
                    spec=DirectoryShard("100001", None, start),
                    resume_from=None,
                    state={},
                    attempt=1,
                    checkpointed=False,
                    store=store,
                    record=store.load_shard("100001:*"),
                )
                result = await migrate_shard(clients, run, options)
        assert (result["created"], result["failed"], result["unsupported"]) == (0, 20, 4)
        assert len(result["refused"]) == 20
        assert all("403" in line or "permission" in line.lower() for line in result["refused"])
