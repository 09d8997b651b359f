"""Big listing memory: stream 1,000,000 connector files; how much does the client's RSS grow?

Each variant runs in a fresh child process (a heap already grown by another variant would hide
growth), logs in, takes its resident set size as the baseline, then iterates the whole listing
while sampling RSS after every page. Reported: the peak growth over the baseline, in MB.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

import aiohttp

from ._harness import CREDENTIALS, emulator_process, login_headers, print_table

ITEMS = 1_000_000
PAGE_SIZE = 1000
CONNECTOR = 100001
VARIANTS = ("raw aiohttp + dicts", "asyncsdk", "asyncsdk prefetch=2")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def child(variant: str, url: str) -> dict[str, Any]:
    from asyncsdk import MOIClient

    peak = 0.0
    count = 0
    started = time.perf_counter()
    if variant == "raw aiohttp + dicts":
        async with aiohttp.ClientSession() as http:
            headers = await login_headers(http, url)
            base = rss_mb()
            cursor = ""
            while True:
                params = {"connector_id": CONNECTOR, "cursor": cursor, "limit": PAGE_SIZE}
                async with http.get(
                    f"{url}/connectors/files/list", params=params, headers=headers
                ) as r:
                    data = (await r.json())["data"]
                count += len(data["files"])
                peak = max(peak, rss_mb() - base)
                if not data["has_more"]:
                    break
                cursor = data["cursor"]
    else:
        prefetch = 2 if "prefetch" in variant else 0
        async with MOIClient(url, **CREDENTIALS) as moi:
            base = rss_mb()
            files = moi.connectors.files(CONNECTOR, page_size=PAGE_SIZE, prefetch=prefetch)
            async for page in files.pages():
                count += len(page)
                peak = max(peak, rss_mb() - base)
    return {
        "items": count,
        "peak_rss_growth_mb": peak,
        "baseline_mb": base,
        "seconds": time.perf_counter() - started,
    }


async def run(rounds: int = 1, items: int = ITEMS) -> dict[str, Any]:
    results: dict[str, dict[str, Any]] = {}
    async with emulator_process(
        "--connectors", "1", "--files-per-connector", str(items), "--tasks", "0"
    ) as url:
        for variant in VARIANTS:
            runs = []
            for _ in range(max(1, rounds)):
                proc = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "benchmarks.memory",
                    variant,
                    url,
                    stdout=asyncio.subprocess.PIPE,
                )
                out, _ = await proc.communicate()
                if proc.returncode != 0:
                    raise RuntimeError(f"{variant}: child failed")
                runs.append(json.loads(out.decode().strip().splitlines()[-1]))
            worst = max(runs, key=lambda r: r["peak_rss_growth_mb"])
            if worst["items"] != items:
                raise AssertionError(f"{variant}: {worst['items']} items, not {items}")
            results[variant] = worst
    print_table(
        f"big listing: {items} items streamed, page_size {PAGE_SIZE}",
        results,
        ["seconds", "baseline_mb", "peak_rss_growth_mb"],
    )
    growth = results["asyncsdk"]["peak_rss_growth_mb"]
    print(f"  asyncsdk peak RSS growth: {growth:.1f} MB (target < 30 MB)")
    return {"results": results, "setup": {"items": items, "page_size": PAGE_SIZE}}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(child(sys.argv[1], sys.argv[2]))))
