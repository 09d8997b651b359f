"""Paging latency: 50 pages x 100 items, 20 ms of server latency per request.

- sequential paging, as other SDKs (and hand-written loops) do it: raw aiohttp, httpx, asyncsdk;
- asyncsdk with ``concurrency=8`` (numbered pages fetched in parallel once the total is known);
- a cursor listing with a consumer that works 10 ms per page, without and with ``prefetch``:
  with prefetch the time per page should approach max(latency, work) instead of their sum.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import httpx

from asyncsdk import MOIClient

from ._harness import CREDENTIALS, emulator_process, login_headers, measure, print_table

PAGES = 50
PAGE_SIZE = 100
LATENCY_MS = 20
WORK_S = 0.010
CONNECTOR = 100001
ITEMS = PAGES * PAGE_SIZE


async def run(rounds: int = 5) -> dict[str, Any]:
    async with (
        emulator_process(
            "--tasks",
            str(ITEMS),
            "--files-per-connector",
            str(ITEMS),
            "--connectors",
            "1",
            "--latency-ms",
            str(LATENCY_MS),
        ) as url,
        MOIClient(url, **CREDENTIALS) as moi,
        aiohttp.ClientSession() as http,
        httpx.AsyncClient(timeout=30) as hx,
    ):
        headers = await login_headers(http, url)

        async def raw_aiohttp() -> dict[str, Any]:
            items: list[dict[str, Any]] = []
            for page in range(1, PAGES + 1):
                params = {"page": page, "page_size": PAGE_SIZE}
                async with http.get(f"{url}/task/list", params=params, headers=headers) as r:
                    items.extend((await r.json())["data"]["tasks"])
            return {"items": len(items)}

        async def raw_aiohttp_parallel() -> dict[str, Any]:
            # The hand-written parallel loop: first page for the total, then the rest 8 at a
            # time, kept in order, as dicts. The physical limit for parallel paging here.
            gate = asyncio.Semaphore(8)

            async def page(number: int) -> dict[str, Any]:
                async with gate:
                    params = {"page": number, "page_size": PAGE_SIZE}
                    async with http.get(f"{url}/task/list", params=params, headers=headers) as r:
                        data: dict[str, Any] = (await r.json())["data"]
                        return data

            first = await page(1)
            pages = -(-first["total"] // PAGE_SIZE)
            rest = await asyncio.gather(*(page(n) for n in range(2, pages + 1)))
            items = [t for p in (first, *rest) for t in p["tasks"]]
            return {"items": len(items)}

        async def raw_httpx() -> dict[str, Any]:
            items: list[dict[str, Any]] = []
            for page in range(1, PAGES + 1):
                params = {"page": page, "page_size": PAGE_SIZE}
                r = await hx.get(f"{url}/task/list", params=params, headers=headers)
                items.extend(r.json()["data"]["tasks"])
            return {"items": len(items)}

        async def sdk(concurrency: int) -> dict[str, Any]:
            count = 0
            async for _ in moi.tasks.list(page_size=PAGE_SIZE, concurrency=concurrency):
                count += 1
            return {"items": count}

        async def consumer(prefetch: int) -> dict[str, Any]:
            count = 0
            files = moi.connectors.files(CONNECTOR, page_size=PAGE_SIZE, prefetch=prefetch)
            async for page in files.pages():
                count += len(page)
                await asyncio.sleep(WORK_S)  # the caller's own work on each page
            return {"items": count}

        async def sequential() -> dict[str, Any]:
            return await sdk(1)

        async def parallel() -> dict[str, Any]:
            return await sdk(8)

        async def no_prefetch() -> dict[str, Any]:
            return await consumer(0)

        async def with_prefetch() -> dict[str, Any]:
            return await consumer(1)

        results = await measure(
            {
                "raw aiohttp, sequential": raw_aiohttp,
                "raw aiohttp, 8 in parallel": raw_aiohttp_parallel,
                "httpx, sequential": raw_httpx,
                "asyncsdk, sequential": sequential,
                "asyncsdk, concurrency=8": parallel,
                "asyncsdk cursor + 10ms work, no prefetch": no_prefetch,
                "asyncsdk cursor + 10ms work, prefetch=1": with_prefetch,
            },
            rounds=rounds,
        )
    for name, row in results.items():
        if row.get("items") != ITEMS:
            raise AssertionError(f"{name} yielded {row.get('items')} items, not {ITEMS}")
    seq = results["asyncsdk, sequential"]["median_s"]
    ideal_overlap = PAGES * max(LATENCY_MS / 1000, WORK_S)
    ratios = {
        "parallel_speedup_vs_sequential": seq / results["asyncsdk, concurrency=8"]["median_s"],
        "sdk_sequential_vs_raw_aiohttp": seq / results["raw aiohttp, sequential"]["median_s"],
        "raw_parallel_speedup_vs_sdk_sequential": seq
        / results["raw aiohttp, 8 in parallel"]["median_s"],
        "sdk_parallel_vs_raw_parallel": results["asyncsdk, concurrency=8"]["median_s"]
        / results["raw aiohttp, 8 in parallel"]["median_s"],
        "sdk_sequential_vs_httpx": seq / results["httpx, sequential"]["median_s"],
        "prefetch_vs_ideal_overlap": results["asyncsdk cursor + 10ms work, prefetch=1"]["median_s"]
        / ideal_overlap,
        "no_prefetch_vs_ideal_overlap": results["asyncsdk cursor + 10ms work, no prefetch"][
            "median_s"
        ]
        / ideal_overlap,
    }
    for row in results.values():
        row["ms_per_page"] = row["median_s"] * 1000 / PAGES
    print_table(
        f"paging: {PAGES} pages x {PAGE_SIZE} items, {LATENCY_MS} ms latency",
        results,
        ["median_s", "min_s", "ms_per_page"],
    )
    print(
        f"  concurrency=8 is {ratios['parallel_speedup_vs_sequential']:.2f}x faster than "
        "sequential (target >= 6x); a hand-written parallel aiohttp loop with dicts is "
        f"{ratios['raw_parallel_speedup_vs_sdk_sequential']:.2f}x"
    )
    print(
        f"  prefetch: {ratios['prefetch_vs_ideal_overlap']:.3f}x of max(latency, work) per "
        f"page (target <= 1.15); without: {ratios['no_prefetch_vs_ideal_overlap']:.3f}x"
    )
    print(
        f"  asyncsdk sequential / raw aiohttp sequential: "
        f"{ratios['sdk_sequential_vs_raw_aiohttp']:.3f} (1.0 = same time)"
    )
    return {
        "results": results,
        "ratios": ratios,
        "setup": {
            "pages": PAGES,
            "page_size": PAGE_SIZE,
            "latency_ms": LATENCY_MS,
            "work_ms_per_page": WORK_S * 1000,
        },
    }
