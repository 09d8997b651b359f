"""Big listing memory and speed: stream 1,000,000 connector files (a cursor listing).

Each run is a fresh child process (a heap already grown by another variant would hide growth)
that logs in, takes its resident set size as the baseline, then iterates the whole listing
while sampling RSS after every page. Variants alternate (the order rotates every round).
Reported per variant: the **largest** peak growth over the baseline across its runs (a bound
on memory is about the worst run), and the **median** time of its runs; and per round, the
typed listings' throughput against the hand-written sequential loop's in the same round.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any

import aiohttp

from ._harness import CREDENTIALS, emulator_process, login_headers, print_table, show, spread

ITEMS = 1_000_000
PAGE_SIZE = 1000
CONNECTOR = 100001
VARIANTS = ("raw aiohttp + dicts", "asyncsdk", "asyncsdk prefetch=1")


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
                params: dict[str, str | int] = {
                    "connector_id": CONNECTOR,
                    "cursor": cursor,
                    "limit": PAGE_SIZE,
                }
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
        prefetch = int(variant.rsplit("=", 1)[1]) if "prefetch" in variant else 0
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


async def _child_run(variant: str, url: str) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.memory", variant, url, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{variant}: child failed")
    figures: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return figures


async def run(rounds: int = 3, items: int = ITEMS) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {variant: [] for variant in VARIANTS}
    async with emulator_process(
        "--connectors", "1", "--files-per-connector", str(items), "--tasks", "0"
    ) as url:
        for round_no in range(max(1, rounds)):
            shift = round_no % len(VARIANTS)
            for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                figures = await _child_run(variant, url)
                if figures["items"] != items:
                    raise AssertionError(f"{variant}: {figures['items']} items, not {items}")
                runs[variant].append(figures)
    results: dict[str, dict[str, Any]] = {}
    for variant, done in runs.items():
        seconds = [r["seconds"] for r in done]
        results[variant] = {
            "median_s": statistics.median(seconds),
            "items_per_s": items / statistics.median(seconds),
            "baseline_mb": statistics.median(r["baseline_mb"] for r in done),
            "peak_rss_growth_mb": max(r["peak_rss_growth_mb"] for r in done),
            "runs": done,
        }
    raw = [r["seconds"] for r in runs["raw aiohttp + dicts"]]
    ratios = {
        f"{variant}_throughput_vs_raw": spread(
            [a / b for a, b in zip(raw, [r["seconds"] for r in runs[variant]], strict=True)]
        )
        for variant in VARIANTS[1:]
    }
    print_table(
        f"big listing: {items} items streamed, page_size {PAGE_SIZE}",
        results,
        ["median_s", "items_per_s", "baseline_mb", "peak_rss_growth_mb"],
    )
    growth = max(results[v]["peak_rss_growth_mb"] for v in VARIANTS[1:])
    print(f"  asyncsdk peak RSS growth, worst run: {growth:.1f} MB (target < 30 MB)")
    for variant in VARIANTS[1:]:
        figure = ratios[f"{variant}_throughput_vs_raw"]
        print(f"  {variant} throughput = {show(figure)} the raw sequential loop's (target >= 1.0x)")
    return {
        "results": results,
        "ratios": ratios,
        "setup": {"items": items, "page_size": PAGE_SIZE, "rounds": rounds},
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(child(sys.argv[1], sys.argv[2]))))
