"""Paging latency: 50 pages x 100 items, 20 ms of server latency per request.

- sequential paging, as other SDKs (and hand-written loops) do it: raw aiohttp, httpx, asyncsdk;
- parallel paging, 8 pages at a time once the first page tells the total: a hand-written raw
  aiohttp loop with dicts, and asyncsdk with ``concurrency=8``. Each is compared with **its
  own** sequential run (its speedup), and both with the bound: page 1 alone, then 49 pages in
  7 windows of 8, is 8 round trips for 50 pages, so 50 / 8 = 6.25x;
- a cursor listing with a consumer that works 10 ms per page, without and with ``prefetch``:
  with prefetch the time per page should approach max(latency, work) instead of their sum.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import httpx

from asyncsdk import MOIClient

from ._harness import (
    CREDENTIALS,
    emulator_process,
    login_headers,
    measure,
    print_table,
    ratio,
    show,
    spread,
)

PAGES = 50
PAGE_SIZE = 100
LATENCY_MS = 20
WORK_S = 0.010
CONNECTOR = 100001
ITEMS = PAGES * PAGE_SIZE
CONCURRENCY = 8
#: Round trips of a parallel listing: page 1 alone, then the other pages CONCURRENCY at a time.
ROUND_TRIPS = 1 + -(-(PAGES - 1) // CONCURRENCY)
BOUND = PAGES / ROUND_TRIPS  # 6.25x for 50 pages at 8


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
            gate = asyncio.Semaphore(CONCURRENCY)

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
            return await sdk(CONCURRENCY)

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
    raw_seq, raw_par = "raw aiohttp, sequential", "raw aiohttp, 8 in parallel"
    sdk_seq, sdk_par = "asyncsdk, sequential", "asyncsdk, concurrency=8"
    raw_speedup = [
        a / b
        for a, b in zip(
            results[raw_seq]["per_round"]["seconds"],
            results[raw_par]["per_round"]["seconds"],
            strict=True,
        )
    ]
    sdk_speedup = [
        a / b
        for a, b in zip(
            results[sdk_seq]["per_round"]["seconds"],
            results[sdk_par]["per_round"]["seconds"],
            strict=True,
        )
    ]
    ideal_overlap = PAGES * max(LATENCY_MS / 1000, WORK_S)
    ratios = {
        "raw_parallel_speedup": spread(raw_speedup),
        "sdk_parallel_speedup": spread(sdk_speedup),
        "sdk_speedup_vs_raw_speedup": spread(
            [s / r for s, r in zip(sdk_speedup, raw_speedup, strict=True)]
        ),
        "sdk_sequential_vs_raw_sequential_time": ratio(results, sdk_seq, raw_seq),
        "sdk_sequential_vs_httpx_time": ratio(results, sdk_seq, "httpx, sequential"),
        "prefetch_vs_ideal_overlap": spread(
            [
                t / ideal_overlap
                for t in results["asyncsdk cursor + 10ms work, prefetch=1"]["per_round"]["seconds"]
            ]
        ),
        "no_prefetch_vs_ideal_overlap": spread(
            [
                t / ideal_overlap
                for t in results["asyncsdk cursor + 10ms work, no prefetch"]["per_round"]["seconds"]
            ]
        ),
    }
    for row in results.values():
        row["ms_per_page"] = row["median_s"] * 1000 / PAGES
    print_table(
        f"paging: {PAGES} pages x {PAGE_SIZE} items, {LATENCY_MS} ms latency",
        results,
        ["median_s", "min_s", "ms_per_page"],
    )
    print(
        f"  speedup of 8 in parallel over sequential, each variant its own (bound {BOUND:.2f}x): "
        f"raw aiohttp {show(ratios['raw_parallel_speedup'])}, "
        f"asyncsdk {show(ratios['sdk_parallel_speedup'])}"
    )
    print(
        f"  asyncsdk's speedup = {show(ratios['sdk_speedup_vs_raw_speedup'])} raw aiohttp's "
        "(target >= 0.95x)"
    )
    print(
        f"  prefetch: {show(ratios['prefetch_vs_ideal_overlap'])} of max(latency, work) per "
        f"page; without: {show(ratios['no_prefetch_vs_ideal_overlap'])}"
    )
    print(
        "  asyncsdk sequential time = "
        f"{show(ratios['sdk_sequential_vs_raw_sequential_time'])} raw aiohttp's"
    )
    return {
        "results": results,
        "ratios": ratios,
        "setup": {
            "pages": PAGES,
            "page_size": PAGE_SIZE,
            "latency_ms": LATENCY_MS,
            "work_ms_per_page": WORK_S * 1000,
            "concurrency": CONCURRENCY,
            "bound": BOUND,
        },
    }
