"""What every benchmark scenario shares: an emulator in its own process, login for the
hand-written baselines, alternating rounds, medians and ratios.

The emulator runs in a separate process so that client-side CPU (ours, aiohttp's, httpx's) is
not shared with the server's: the comparison is between clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

Variant = Callable[[], Awaitable[dict[str, Any] | None]]

CREDENTIALS = {
    "account_name": "0194dfaa-3eda-7ea5-b47c-b4f4f5940e97",
    "username": "admin:accountadmin",
    "password": "emulator-password",
}


@asynccontextmanager
async def emulator_process(*args: str) -> AsyncIterator[str]:
    """``python -m asyncsdk.emulator --port 0 <args>`` in a child process; yields its URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asyncsdk.emulator",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        if "listening on" not in line:
            err = (await proc.stderr.read()).decode() if proc.stderr else ""
            raise RuntimeError(f"emulator did not start: {line!r} {err}")
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        proc.terminate()
        await proc.wait()


async def login_headers(http: aiohttp.ClientSession, url: str) -> dict[str, str]:
    """What a hand-written client does once: log in and keep the three headers."""
    async with http.post(f"{url}/auth/login", json=CREDENTIALS) as resp:
        resp.raise_for_status()
        body = await resp.json()
        return {
            "Access-Token": resp.headers["Access-Token"],
            "uid": body["data"]["uid"],
            "user-id": CREDENTIALS["account_name"],
        }


async def measure(
    variants: dict[str, Variant], *, rounds: int, warmup: bool = True
) -> dict[str, dict[str, Any]]:
    """Run every variant once per round, in a rotating order (so no variant always runs
    first on a cold machine); return per-variant wall times and whatever extra each reported."""
    names = list(variants)
    if warmup:
        for name in names:
            await variants[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    extras: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for round_no in range(rounds):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for name in order:
            started = time.perf_counter()
            extra = await variants[name]()
            times[name].append(time.perf_counter() - started)
            if extra:
                extras[name].append(extra)
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        merged: dict[str, Any] = {}
        for key in {k for e in extras[name] for k in e}:
            values = [e[key] for e in extras[name] if key in e]
            merged[key] = (
                statistics.median(values)
                if all(isinstance(v, (int, float)) for v in values)
                else values[-1]
            )
        results[name] = {
            "median_s": statistics.median(times[name]),
            "min_s": min(times[name]),
            "rounds_s": [round(t, 4) for t in times[name]],
            **merged,
        }
    return results


def print_table(title: str, results: dict[str, dict[str, Any]], columns: Sequence[str]) -> None:
    print(f"\n== {title}")
    header = f"{'variant':<40}" + "".join(f"{c:>16}" for c in columns)
    print(header)
    print("-" * len(header))
    for name, row in results.items():
        cells = "".join(f"{_cell(row.get(c)):>16}" for c in columns)
        print(f"{name:<40}{cells}")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "aiohttp": aiohttp.__version__,
    }


def write_results(path: str, payload: dict[str, Any]) -> None:
    with open(path, "w") as out:
        json.dump(payload, out, indent=2, sort_keys=True)
        out.write("\n")
