"""Fan-out: GETs of one task each (4,000 per variant and round, 20 rounds), 64 at a time, typed
by asyncsdk. On this shared machine a client's CPU per call drifts by tens of percent within
seconds, so the two figures of a per-round ratio must be taken close together: each round runs
in four slices of 1,000 calls, the variants' slices interleaved (``measure_sliced``), so every
variant of a round samples the same stretches of time. (With one block of 4,000 calls per
variant, per-round ratios of the same code spread from 0.66 to 1.60 in one run; in a trial of
the raw pool against asyncsdk, 20 rounds each in 8 interleaved slices, the middle half of them
fell within 1.08–1.12.)

The headline is **client CPU per call**. The emulator runs in another process and spends about
as much CPU per call as a client does, so wall-clock throughput measures the server as much as
the clients (two reruns of an earlier version of this benchmark gave 0.76x and 1.35x for the
same code). The CPU time of this process is the client's alone. Throughput is shown beside it.

Three clients do the same work against the same emulator process, each as 64 workers taking
task ids from one shared iterator (a fair pool: starting 20,000 coroutines at once through
``gather`` costs a raw client 1.25x the CPU per call, which flattered the SDK before):

- raw aiohttp with dicts, checking each answer's id: once as users write it (``r.json()``, the
  standard library's decoder), once with the JSON decoder asyncsdk itself uses here (orjson,
  from ``asyncsdk[speedups]``), so the decoder's part of the difference is shown apart;
- httpx.AsyncClient with dicts, as users have it (``sniffio`` importable; without it httpcore
  retries a failing import on every request and httpx looks ~1.7x slower than it is). httpx
  makes a tenth of the calls, to keep a round short; its figures are per call;
- asyncsdk: ``fan_out(moi.tasks.get, ...)`` returning typed ``Task`` models through the full
  pipeline (auth headers at send time, retries armed, envelope, errors), checking each
  model's id against the id asked for.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import httpx

from asyncsdk import MOIClient, fan_out

from ._harness import (
    CREDENTIALS,
    emulator_process,
    login_headers,
    measure_sliced,
    print_table,
    ratio,
    show,
)

# The decoder asyncsdk uses: orjson when asyncsdk[speedups] is installed, else the stdlib's.
fast_loads: Callable[[str | bytes], Any]
try:
    import orjson

    fast_loads = orjson.loads
except ImportError:  # pragma: no cover - then asyncsdk decodes with the standard library too
    fast_loads = json.loads

CALLS = 4_000  # per variant and round
SLICES = 4  # parts of a round, the variants' parts interleaved (see measure_sliced)
CONCURRENCY = 64
TASKS = 200
HTTPX_SHARE = 10  # httpx makes CALLS // HTTPX_SHARE calls


def part_of(work: list[str], part: int) -> list[str]:
    """The ``part``-th of ``SLICES`` equal parts of ``work``."""
    size = len(work) // SLICES
    return work[part * size : (part + 1) * size]


async def pool(work: list[str], call: Callable[[str], Awaitable[Any]]) -> dict[str, float]:
    """``CONCURRENCY`` workers draining ``work``; counts answers whose id is the one asked."""
    ids: Iterator[str] = iter(work)
    done = 0

    async def worker() -> None:
        nonlocal done
        for task_id in ids:  # one shared iterator: no await between next() calls
            body = await call(task_id)
            if body["data"]["task"]["id"] == task_id:
                done += 1

    cpu = time.process_time()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return {"ok": done, "cpu_s": time.process_time() - cpu}


async def run(rounds: int = 3, calls: int = CALLS) -> dict[str, Any]:
    if importlib.util.find_spec("sniffio") is None:
        raise RuntimeError("install sniffio (the dev extra has it): httpx is slower without it")
    async with (
        emulator_process("--tasks", str(TASKS), "--connectors", "1") as url,
        MOIClient(url, **CREDENTIALS, pool_size=CONCURRENCY) as moi,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as http,
        httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=CONCURRENCY)) as hx,
    ):
        headers = await login_headers(http, url)
        ids = [t.id async for t in moi.tasks.list(page_size=TASKS)]
        work = [ids[i % len(ids)] for i in range(calls)]
        httpx_work = work[: calls // HTTPX_SHARE]

        async def raw_aiohttp(part: int) -> dict[str, float]:
            async def call(task_id: str) -> Any:
                params = {"task_id": task_id}
                async with http.get(f"{url}/task/get", params=params, headers=headers) as r:
                    return await r.json()

            return await pool(part_of(work, part), call)

        async def raw_aiohttp_same_json(part: int) -> dict[str, float]:
            async def call(task_id: str) -> Any:
                params = {"task_id": task_id}
                async with http.get(f"{url}/task/get", params=params, headers=headers) as r:
                    return await r.json(loads=fast_loads)

            return await pool(part_of(work, part), call)

        async def raw_httpx(part: int) -> dict[str, float]:
            async def call(task_id: str) -> Any:
                r = await hx.get(f"{url}/task/get", params={"task_id": task_id}, headers=headers)
                return r.json()

            figures = await pool(part_of(httpx_work, part), call)
            figures["ok"] = figures["ok"] * HTTPX_SHARE  # scaled to the others' count
            return figures

        async def sdk(part: int) -> dict[str, float]:
            cpu = time.process_time()
            ok = 0
            async for outcome in fan_out(
                moi.tasks.get, part_of(work, part), concurrency=CONCURRENCY
            ):
                if outcome.ok and outcome.result().id == outcome.item:
                    ok += 1
            return {"ok": ok, "cpu_s": time.process_time() - cpu}

        results = await measure_sliced(
            {
                "raw aiohttp pool + dicts": raw_aiohttp,
                "httpx pool + dicts": raw_httpx,
                "asyncsdk fan_out + typed Task": sdk,
                "raw aiohttp pool + dicts, orjson": raw_aiohttp_same_json,
            },
            rounds=rounds,
            slices=SLICES,
        )
    for name, row in results.items():
        if row.get("ok") != calls:
            raise AssertionError(f"{name}: {row.get('ok')} of {calls} calls checked")
        made = calls // HTTPX_SHARE if name.startswith("httpx") else calls
        row["calls"] = made
        cpu_per_call = [cpu / made * 1e6 for cpu in row["per_round"].pop("cpu_s")]
        row.pop("cpu_s")
        row["per_round"]["cpu_us_per_call"] = cpu_per_call
        row["cpu_us_per_call"] = statistics.median(cpu_per_call)
        row["calls_per_s"] = made / row["median_s"]
        row["per_round"]["calls_per_s"] = [made / s for s in row["per_round"]["seconds"]]
    raw, hx_name, sdk_name, raw_same_json = list(results)
    ratios = {
        "sdk_cpu_per_call_vs_raw": ratio(results, sdk_name, raw, "cpu_us_per_call"),
        "sdk_cpu_per_call_vs_raw_same_json": ratio(
            results, sdk_name, raw_same_json, "cpu_us_per_call"
        ),
        "sdk_throughput_vs_raw": ratio(results, sdk_name, raw, "calls_per_s"),
        "httpx_cpu_per_call_vs_sdk": ratio(results, hx_name, sdk_name, "cpu_us_per_call"),
        "sdk_throughput_vs_httpx": ratio(results, sdk_name, hx_name, "calls_per_s"),
    }
    print_table(
        f"fan-out: {calls} GETs by {CONCURRENCY} workers (httpx: {calls // HTTPX_SHARE})",
        results,
        ["cpu_us_per_call", "calls_per_s", "median_s"],
    )
    print(
        f"  asyncsdk client CPU per call = {show(ratios['sdk_cpu_per_call_vs_raw'])} the raw "
        "aiohttp pool's (target <= 1.1x)"
    )
    print(
        "  with the same JSON decoder in both (orjson): "
        f"{show(ratios['sdk_cpu_per_call_vs_raw_same_json'])}"
    )
    print(f"  asyncsdk throughput = {show(ratios['sdk_throughput_vs_raw'])} the raw pool's")
    print(
        f"  httpx CPU per call = {show(ratios['httpx_cpu_per_call_vs_sdk'])} asyncsdk's; "
        f"asyncsdk throughput = {show(ratios['sdk_throughput_vs_httpx'])} httpx's"
    )
    return {
        "results": results,
        "ratios": ratios,
        "setup": {
            "calls": calls,
            "httpx_calls": calls // HTTPX_SHARE,
            "workers": CONCURRENCY,
            "rounds": rounds,
            "slices": SLICES,
        },
    }
