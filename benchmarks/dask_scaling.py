"""Dask scaling: the migration (connector files → MAXIR data sources) with 20 ms of service
latency, on 1, 2 and 4 Dask worker processes, next to the same work in one process with
``fan_out``.

Every variant copies the same 5,000 files into a dataset of its own (created for the round,
outside the timing), through the emulator in its own process. A Dask variant runs
:func:`asyncsdk._migrate.run_migration` on a local cluster started before the rounds (its
start-up is not timed; scheduler and workers are ``dask scheduler`` / ``dask worker``
processes, as on a real cluster): 10 shards (one per directory), one shard at a time per worker, 16
creates at once per shard. The single-process variants list the same 10 directories and create
the files with ``fan_out`` at 16 (what one worker does) and at 64 (what four do) calls at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from typing import Any

from asyncsdk import ConnectorFile, FileType, MaxirClient, MOIClient, fan_out
from asyncsdk._demo import QuietReporter
from asyncsdk._migrate import MigrateOptions, maxir_takes, name_of, run_migration
from asyncsdk.dask import WorkerClients
from asyncsdk.emulator import MaxirCredentials, MOICredentials

from ._harness import CREDENTIALS, emulator_process, measure, print_table, ratio, show

FILES = 6_000  # the emulator's png and parquet files (1 in 6) are not migrated
MIGRATED = 5_000
LATENCY_MS = 20
PER_SHARD = 16
WORKERS = (1, 2, 4)
MOI: MOICredentials = {
    "account_name": CREDENTIALS["account_name"],
    "username": CREDENTIALS["username"],
    "password": CREDENTIALS["password"],
}
MAXIR: MaxirCredentials = {
    "api_key": "pd-emulator-project-key",
    "user_id": "tmm-emulator0000000000000001",
}


def clients_for(url: str) -> WorkerClients:
    """Each worker's clients (imported by name on the workers)."""
    return WorkerClients(moi=MOIClient(url, **MOI), maxir=MaxirClient(url, **MAXIR))


@contextlib.asynccontextmanager
async def _cluster(workers: int, scratch: str) -> AsyncIterator[Any]:
    """A scheduler and ``workers`` worker processes started as ``dask scheduler`` and ``dask
    worker`` (as on a real cluster), so that no scheduler shares this process's event loop
    with the single-process variants."""
    from distributed import Client

    dask_cli = os.path.join(os.path.dirname(sys.executable), "dask")
    address_file = os.path.join(scratch, f"scheduler-{workers}.json")
    # Workers unpickle clients_for by name: they need this repository on their path.
    env = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(__file__))}
    quiet = asyncio.subprocess.DEVNULL
    scheduler = await asyncio.create_subprocess_exec(
        dask_cli, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
        "--scheduler-file", address_file, env=env, stdout=quiet, stderr=quiet,
    )  # fmt: skip
    worker = await asyncio.create_subprocess_exec(
        dask_cli, "worker", "--scheduler-file", address_file, "--nworkers", str(workers),
        "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard",
        env=env, stdout=quiet, stderr=quiet,
    )  # fmt: skip
    try:
        async with Client(scheduler_file=address_file, asynchronous=True) as client:  # type: ignore[no-untyped-call]
            await client.wait_for_workers(workers, timeout=120)
            yield client
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
            await proc.wait()


async def run(rounds: int = 3) -> dict[str, Any]:
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(
            emulator_process(
                "--latency-ms",
                str(LATENCY_MS),
                "--connectors",
                "1",
                "--files-per-connector",
                str(FILES),
                "--tasks",
                "0",
                "--maxir-datasets",
                "0",
            )
        )
        moi = await stack.enter_async_context(MOIClient(url, **MOI, pool_size=64))
        mx = await stack.enter_async_context(MaxirClient(url, **MAXIR, pool_size=64))
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="asyncsdk-bench-"))
        clusters = {n: await stack.enter_async_context(_cluster(n, scratch)) for n in WORKERS}
        factory = functools.partial(clients_for, url)
        serial = 0

        async def new_dataset() -> str:
            nonlocal serial
            serial += 1
            return (await mx.datasets.create(f"bench {serial}")).id

        async def count(dataset_id: str) -> int:
            return len(await mx.datasources.list(dataset_id, page_size=1000).collect())

        def on_dask(workers: int) -> Any:
            async def variant() -> dict[str, Any]:
                dataset_id = await new_dataset()
                options = MigrateOptions(
                    connector_ids=["100001"],
                    dataset_id=dataset_id,
                    root="data/",
                    concurrency=PER_SHARD,
                    checkpoints=f"{scratch}/{dataset_id}",
                )
                started = time.perf_counter()
                summary = await run_migration(
                    clusters[workers], options, QuietReporter(), factory=factory
                )
                elapsed = time.perf_counter() - started
                assert summary.ok and summary.created == MIGRATED, summary.to_json()
                assert await count(dataset_id) == MIGRATED
                return {"ok": summary.created, "files_per_s": MIGRATED / elapsed}

            return variant

        def in_one_process(concurrency: int) -> Any:
            async def variant() -> dict[str, Any]:
                dataset_id = await new_dataset()
                started = time.perf_counter()

                async def files() -> AsyncIterator[ConnectorFile]:
                    # Streamed: listing overlaps with the creates, as on the workers.
                    folders = moi.connectors.files(100001, dir="data/", page_size=1000)
                    async for folder in folders:
                        listing = moi.connectors.files(100001, dir=folder.uri, page_size=200)
                        async for file in listing:
                            if file.type != FileType.DIRECTORY and maxir_takes(name_of(file)):
                                yield file

                async def create(file: ConnectorFile) -> None:
                    url_of = f"https://files.example.com/{file.uri}"
                    await mx.datasources.create(dataset_id, name_of(file), url=url_of)

                ok = 0
                async for outcome in fan_out(create, files(), concurrency=concurrency):
                    ok += outcome.ok
                elapsed = time.perf_counter() - started
                assert ok == MIGRATED and await count(dataset_id) == MIGRATED
                return {"ok": ok, "files_per_s": MIGRATED / elapsed}

            return variant

        variants = {
            f"one process, fan_out {PER_SHARD} at once": in_one_process(PER_SHARD),
            f"one process, fan_out {PER_SHARD * 4} at once": in_one_process(PER_SHARD * 4),
            **{
                f"dask, {n} worker{'s' if n > 1 else ''} x {PER_SHARD} at once": on_dask(n)
                for n in WORKERS
            },
        }
        results = await measure(variants, rounds=rounds, warmup=False)
    # Speedups are medians of per-round ratios (seconds of the reference / seconds of the
    # variant, the same round), as in every other scenario.
    in_one = f"one process, fan_out {PER_SHARD} at once"
    one_worker = f"dask, 1 worker x {PER_SHARD} at once"
    ratios = {
        name: {
            "vs_fan_out_16": ratio(results, in_one, name),
            "vs_dask_1_worker": ratio(results, one_worker, name),
        }
        for name in results
    }
    for name, row in results.items():
        row["vs_fan_out_16"] = ratios[name]["vs_fan_out_16"]["median"]
        row["vs_dask_1_worker"] = ratios[name]["vs_dask_1_worker"]["median"]
    print_table(
        f"dask scaling: {MIGRATED} files migrated, {LATENCY_MS} ms service latency",
        results,
        ["median_s", "files_per_s", "vs_fan_out_16", "vs_dask_1_worker"],
    )
    for name, figures in ratios.items():
        print(
            f"  {name}: {show(figures['vs_dask_1_worker'])} the speed of 1 worker, "
            f"{show(figures['vs_fan_out_16'])} one process at {PER_SHARD}"
        )
    return {
        "results": results,
        "ratios": ratios,
        "setup": {
            "files": MIGRATED,
            "latency_ms": LATENCY_MS,
            "per_shard_concurrency": PER_SHARD,
            "shards": 10,
        },
    }
