"""Fan-out: 20,000 GETs of one task each, 64 at a time, typed by asyncsdk.

Three clients do the same work against the same emulator process:
- raw aiohttp with dicts (the physical limit of this machine: nothing but the HTTP client);
- httpx.AsyncClient (what openai-style SDKs are built on), also with dicts;
- asyncsdk: ``fan_out(moi.tasks.get, ...)`` returning typed ``Task`` models, through the full
  pipeline (auth headers at send time, retries armed, envelope, errors).

Besides wall time, each variant's own CPU time per request is measured: with the server on the
other core, wall time can be bound by the server, while client CPU shows what each client costs.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import httpx

from asyncsdk import MOIClient, fan_out

from ._harness import CREDENTIALS, emulator_process, login_headers, measure, print_table

CALLS = 20_000
CONCURRENCY = 64
TASKS = 200


async def run(rounds: int = 3, calls: int = CALLS) -> dict[str, Any]:
    async with (
        emulator_process("--tasks", str(TASKS), "--connectors", "1") as url,
        MOIClient(url, **CREDENTIALS, pool_size=CONCURRENCY) as moi,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as http,
        httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=CONCURRENCY)) as hx,
    ):
        headers = await login_headers(http, url)
        ids = [t.id async for t in moi.tasks.list(page_size=TASKS)]
        work = [ids[i % len(ids)] for i in range(calls)]

        async def bounded(call: Any) -> dict[str, Any]:
            gate = asyncio.Semaphore(CONCURRENCY)
            done = 0

            async def one(task_id: str) -> None:
                nonlocal done
                async with gate:
                    body = await call(task_id)
                    if body["data"]["task"]["id"] == task_id:
                        done += 1

            cpu = time.process_time()
            await asyncio.gather(*(one(t) for t in work))
            return {"ok": done, "cpu_us_per_call": (time.process_time() - cpu) / calls * 1e6}

        async def raw_aiohttp() -> dict[str, Any]:
            async def call(task_id: str) -> Any:
                params = {"task_id": task_id}
                async with http.get(f"{url}/task/get", params=params, headers=headers) as r:
                    return await r.json()

            return await bounded(call)

        async def raw_httpx() -> dict[str, Any]:
            async def call(task_id: str) -> Any:
                r = await hx.get(f"{url}/task/get", params={"task_id": task_id}, headers=headers)
                return r.json()

            return await bounded(call)

        async def sdk() -> dict[str, Any]:
            cpu = time.process_time()
            ok = 0
            async for outcome in fan_out(moi.tasks.get, work, concurrency=CONCURRENCY):
                ok += outcome.ok
            return {"ok": ok, "cpu_us_per_call": (time.process_time() - cpu) / calls * 1e6}

        results = await measure(
            {
                "raw aiohttp + dicts": raw_aiohttp,
                "httpx + dicts": raw_httpx,
                "asyncsdk fan_out + typed Task": sdk,
            },
            rounds=rounds,
        )
    for name, row in results.items():
        if row.get("ok") != calls:
            raise AssertionError(f"{name}: {row.get('ok')} of {calls} calls succeeded")
        row["calls_per_s"] = calls / row["median_s"]
    raw = results["raw aiohttp + dicts"]
    sdk_row = results["asyncsdk fan_out + typed Task"]
    ratios = {
        "sdk_throughput_vs_raw_aiohttp": sdk_row["calls_per_s"] / raw["calls_per_s"],
        "sdk_throughput_vs_httpx": sdk_row["calls_per_s"] / results["httpx + dicts"]["calls_per_s"],
        "sdk_cpu_vs_raw_aiohttp": sdk_row["cpu_us_per_call"] / raw["cpu_us_per_call"],
    }
    print_table(
        f"fan-out: {calls} GETs at concurrency {CONCURRENCY}",
        results,
        ["median_s", "calls_per_s", "cpu_us_per_call"],
    )
    print(
        f"  asyncsdk throughput = {ratios['sdk_throughput_vs_raw_aiohttp']:.2f}x raw aiohttp "
        "(target >= 0.8x)"
    )
    print(f"  asyncsdk throughput = {ratios['sdk_throughput_vs_httpx']:.2f}x httpx (target >= 5x)")
    print(f"  asyncsdk client CPU per call = {ratios['sdk_cpu_vs_raw_aiohttp']:.2f}x raw aiohttp")
    return {
        "results": results,
        "ratios": ratios,
        "setup": {"calls": calls, "concurrency": CONCURRENCY},
    }
