"""What every benchmark scenario shares: an emulator in its own process, login for the
hand-written baselines, alternating rounds, medians and ratios.

The emulator runs in a separate process so that client-side CPU (ours, aiohttp's, httpx's) is
not shared with the server's: the comparison is between clients.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypedDict

import aiohttp

Variant = Callable[[], Awaitable[dict[str, Any] | None]]
#: One part of a variant's round (see measure_sliced): the part's number in, figures out.
SlicedVariant = Callable[[int], Awaitable[dict[str, float]]]


class Credentials(TypedDict):
    account_name: str
    username: str
    password: str


CREDENTIALS: Credentials = {
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
    first on a cold machine); return per-variant wall times and whatever extra each reported.

    Besides medians, every numeric figure keeps its value per round (``per_round``), so that
    a comparison can be the median of per-round ratios: two variants measured minutes apart
    on a shared machine see different loads, two measured in the same round see nearly the
    same."""
    names = list(variants)
    if warmup:
        for name in names:
            await variants[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    extras: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for round_no in range(rounds):
        for name in _rotated(names, round_no):
            started = time.perf_counter()
            extra = await variants[name]()
            times[name].append(time.perf_counter() - started)
            extras[name].append(extra or {})
    return _summarise(names, times, extras)


async def measure_sliced(
    variants: dict[str, SlicedVariant], *, rounds: int, slices: int, warmup: bool = True
) -> dict[str, dict[str, Any]]:
    """Like :func:`measure`, with each variant's round run in ``slices`` parts, interleaved
    (A1 B1 A2 B2 ...): every variant of a round then samples the same stretches of time, so
    a per-round ratio no longer carries the machine's drift between one variant's turn and
    the next. ``variant(part)`` runs one part; its numeric figures are summed over a round."""
    names = list(variants)
    if warmup:
        for name in names:
            for part in range(slices):
                await variants[name](part)
    times: dict[str, list[float]] = {name: [] for name in names}
    extras: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for round_no in range(rounds):
        order = _rotated(names, round_no)
        spent = dict.fromkeys(names, 0.0)
        summed: dict[str, dict[str, float]] = {name: {} for name in names}
        for part in range(slices):
            for name in order:
                started = time.perf_counter()
                extra = await variants[name](part)
                spent[name] += time.perf_counter() - started
                for key, value in extra.items():
                    summed[name][key] = summed[name].get(key, 0) + value
        for name in names:
            times[name].append(spent[name])
            extras[name].append(summed[name])
    return _summarise(names, times, extras)


def _rotated(names: list[str], round_no: int) -> list[str]:
    # A rotating order, so no variant always runs first on a cold machine.
    return names[round_no % len(names) :] + names[: round_no % len(names)]


def _summarise(
    names: list[str], times: dict[str, list[float]], extras: dict[str, list[dict[str, Any]]]
) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        merged: dict[str, Any] = {}
        per_round: dict[str, list[float]] = {"seconds": times[name]}
        for key in {k for e in extras[name] for k in e}:
            values = [e[key] for e in extras[name] if key in e]
            if all(isinstance(v, (int, float)) for v in values):
                merged[key] = statistics.median(values)
                per_round[key] = values
            else:
                merged[key] = values[-1]
        results[name] = {
            "median_s": statistics.median(times[name]),
            "min_s": min(times[name]),
            "rounds_s": [round(t, 4) for t in times[name]],
            "per_round": per_round,
            **merged,
        }
    return results


def ratio(
    results: dict[str, dict[str, Any]],
    numerator: str,
    denominator: str,
    key: str = "seconds",
    *,
    denominator_key: str | None = None,
) -> dict[str, float]:
    """The median, min and max over rounds of ``numerator[key] / denominator[key]``, each
    round's figures divided by the same round's."""
    top = results[numerator]["per_round"][key]
    bottom = results[denominator]["per_round"][denominator_key or key]
    return spread([a / b for a, b in zip(top, bottom, strict=True)])


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median and range of per-round figures."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def show(figure: dict[str, float], unit: str = "x") -> str:
    """``1.23x (1.10-1.40)``: a median with its range over rounds."""
    return f"{figure['median']:.2f}{unit} ({figure['min']:.2f}-{figure['max']:.2f})"


def print_table(title: str, results: dict[str, dict[str, Any]], columns: Sequence[str]) -> None:
    print(f"\n== {title}")
    widths = [max(16, len(c) + 2) for c in columns]
    header = f"{'variant':<40}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True))
    print(header)
    print("-" * len(header))
    for name, row in results.items():
        cells = "".join(f"{_cell(row.get(c)):>{w}}" for c, w in zip(columns, widths, strict=True))
        print(f"{name:<40}{cells}")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def machine() -> dict[str, Any]:
    """Where and with what the figures were taken (the versions change the results)."""
    found: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu": _cpu_model(),
        "load_average_at_start": os.getloadavg(),
    }
    for package in (
        "aiohttp",
        "httpx",
        "httpcore",
        "sniffio",
        "anyio",
        "attrs",
        "cattrs",
        "orjson",
    ):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    from asyncsdk._core import convert

    found["asyncsdk_json"] = getattr(convert, "JSON_BACKEND", "json (stdlib)")
    return found


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def write_results(path: str, payload: dict[str, Any]) -> None:
    with open(path, "w") as out:
        json.dump(payload, out, indent=2, sort_keys=True)
        out.write("\n")
