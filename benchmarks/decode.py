"""Page decode: what the client spends turning one page of 100 items into typed models.

For each of four listings (MOI tasks, MOI processing jobs, connector files, MAXIR data
sources) a page body of 100 items is built in the shapes the emulator sends, then decoded the
way a listing decodes it: the service's envelope (``unwrap``: JSON and the code check), then
the items structured into models. Reported per page of 100 items: the whole decode, and its
two halves (JSON alone, models alone from already-decoded dicts).

No server and no event loop: this is the CPU a page costs, nothing else, measured as process
CPU time. Rounds rotate the
order of the listings; the figures are medians over rounds, with their range.

The module imports only long-standing names (``convert.loads``/``structure``, the two
envelopes, ``Response``), and no module of its package, so the same file can measure an older
checkout of the SDK, alone or in the same rounds as this one::

    PYTHONPATH=/path/to/old/checkout python benchmarks/decode.py --out old.json
    python -m benchmarks decode --decode-baseline old.json --decode-checkout /path/to/old
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from typing import Any

from multidict import CIMultiDict, CIMultiDictProxy

import asyncsdk
from asyncsdk._core import convert
from asyncsdk._core.session import Response
from asyncsdk.maxir._envelope import MaxirEnvelope
from asyncsdk.maxir.models import DataSource
from asyncsdk.moi._envelope import MOIEnvelope
from asyncsdk.moi.models import ConnectorFile, Job, Task

ITEMS = 100
#: Pages decoded per timing sample; a sample is one figure of one round.
REPEAT = 100

ORDER = ("Task", "Job", "ConnectorFile", "DataSource")

_EPOCH = 1739261057
_HEADERS = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))


def _snowflake(index: int) -> str:
    return str(((1_700_000_000_000 + index * 997) << 22) | index)


def _byoa_time(seconds: int) -> str:
    # MOI's BYOA service: microseconds and a "+0000" offset.
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{(seconds * 7919) % 1_000_000:06d}+0000"


def _task(i: int) -> dict[str, Any]:
    return {
        "id": _snowflake(i),
        "name": f"load-{i:05d}",
        "source_connector_id": str(100001 + i % 3),
        "source_connector_type": 5,
        "connector_name": "oss-prod",
        "volume_id": _snowflake(10_000 + i % 4),
        "volume_name": "raw-documents",
        "status": 1 + i % 3,
        "creator": "admin:accountadmin",
        "source_config": {
            "common_file_task_config": {
                "load_mode_config": {"load_interval_type": 0, "interval": 0},
                "uris": [f"data/f{i % 10:02d}/", f"data/g{i % 7:02d}/"],
            }
        },
        "start_at": _EPOCH + i,
        "end_at": 0 if i % 3 == 1 else _EPOCH + 60 + i,
        "created_at": _EPOCH + i,
        "updated_at": _EPOCH + 30 + i,
    }


def _job(i: int) -> dict[str, Any]:
    finished = i % 4 != 0
    return {
        "id": f"job-{i:08d}",
        "workflow_name": "parse-pdfs",
        "source_volume_names": ["raw-documents"],
        "source_volume_ids": [_snowflake(10_000 + i % 4)],
        "target_volume_name": "processed",
        "target_volume_id": _snowflake(20_000),
        "file_types": [2, 4],
        "priority": 0,
        "start_time": _byoa_time(_EPOCH + i),
        "end_time": _byoa_time(_EPOCH + 90 + i) if finished else None,
        "duration": 90 if finished else None,
        "processed_count": 12 if finished else 3,
        "total_count": 12,
        "status": 2 if finished else 1,
        "workflow_id": f"wf-{i % 5:04d}",
        "workflow": dict.fromkeys(("components", "connections", "edges", "extra_components")),
    }


def _connector_file(i: int) -> dict[str, Any]:
    path = f"data/f{i % 10:02d}/file-{i:07d}.pdf"
    return {
        "uri": path,
        "filename": path.rsplit("/", 1)[1],
        "path": path,
        "size": (i * 2654435761) % 5_000_000 + 1024,
        "type": 2,
        "create_time": _EPOCH + i,
        "update_time": _EPOCH + i,
    }


def _datasource(i: int) -> dict[str, Any]:
    return {
        "id": f"ds-{i:012x}",
        "dataset_id": "dset-000000000001",
        "name": f"report-{i:05d}.pdf",
        "type": "FILE",
        "status": "synched" if i % 5 else "synching",
        "size": 1024 + i * 31,
    }


def _moi_page(key: str, items: list[dict[str, Any]]) -> bytes:
    data = {"total": 5000, key: items}
    return json.dumps({"code": "OK", "msg": "OK", "data": data}).encode()


def _maxir_page(items: list[dict[str, Any]]) -> bytes:
    data = {"total_items": 5000, "page_size": ITEMS, "page_number": 1, "records": items}
    return json.dumps({"code": 0, "msg": "success", "data": data}).encode()


class Listing:
    """One listing's page body and the two halves of decoding it."""

    def __init__(self, name: str, body: bytes, envelope: Any, key: str, model: type) -> None:
        self.name = name
        self.body = body
        self.envelope = envelope
        self.key = key
        self.list_type: Any = list[model]  # type: ignore[valid-type]
        self.response = Response("GET", "/bench", 200, _HEADERS, body)
        self.items = json.loads(body)["data"][key]

    def json_only(self) -> Any:
        return self.envelope.unwrap(self.response)

    def models_only(self) -> Any:
        return convert.structure(self.items, self.list_type)

    def whole(self) -> Any:
        data = self.envelope.unwrap(self.response)
        return convert.structure(data.get(self.key) or [], self.list_type)


def listings() -> list[Listing]:
    numbers = range(ITEMS)
    return [
        Listing(
            "Task", _moi_page("tasks", [_task(i) for i in numbers]), MOIEnvelope(), "tasks", Task
        ),
        Listing("Job", _moi_page("jobs", [_job(i) for i in numbers]), MOIEnvelope(), "jobs", Job),
        Listing(
            "ConnectorFile",
            _moi_page("files", [_connector_file(i) for i in numbers]),
            MOIEnvelope(),
            "files",
            ConnectorFile,
        ),
        Listing(
            "DataSource",
            _maxir_page([_datasource(i) for i in numbers]),
            MaxirEnvelope(),
            "records",
            DataSource,
        ),
    ]


def _sample(fn: Callable[[], Any], repeat: int) -> float:
    """CPU microseconds per call of ``fn``, over ``repeat`` calls: process time, not wall
    time, so other processes sharing the cores slow a sample less (caches still suffer)."""
    started = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - started) / repeat * 1e6


def _json_backend() -> str:
    # Older checkouts have only the stdlib decoder and no name for it.
    return str(getattr(convert, "JSON_BACKEND", "json (stdlib)"))


def measure(rounds: int, repeat: int = REPEAT) -> dict[str, Any]:
    chosen = listings()
    for listing in chosen:  # warm-up, and a check that every page decodes to 100 models
        decoded = listing.whole()
        if len(decoded) != ITEMS or not isinstance(decoded[0], type(listing.models_only()[0])):
            raise AssertionError(f"{listing.name}: decoded {len(decoded)} items")
    samples: dict[str, dict[str, list[float]]] = {
        listing.name: {"whole_us": [], "json_us": [], "models_us": []} for listing in chosen
    }
    for round_no in range(rounds):
        shift = round_no % len(chosen)
        for listing in chosen[shift:] + chosen[:shift]:
            row = samples[listing.name]
            row["whole_us"].append(_sample(listing.whole, repeat))
            row["json_us"].append(_sample(listing.json_only, repeat))
            row["models_us"].append(_sample(listing.models_only, repeat))
    results: dict[str, Any] = {}
    for name, row in samples.items():
        results[name] = {
            key: {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
            }
            for key, values in row.items()
        }
    return {
        "results": results,
        "json_backend": _json_backend(),
        "asyncsdk": str(getattr(asyncsdk, "__file__", "?")),
        "setup": {"items_per_page": ITEMS, "pages_per_sample": repeat, "rounds": rounds},
    }


def report(figures: dict[str, Any], title: str) -> None:
    """Print one variant's table."""
    print(
        f"\n== page decode, {title}: CPU µs per page of {ITEMS} (JSON: {figures['json_backend']})"
    )
    head = f"{'listing':<16}{'whole (range)':>22}{'JSON':>10}{'models':>10}"
    print(head)
    print("-" * len(head))
    for name in ORDER:
        row = figures["results"][name]
        whole = row["whole_us"]
        print(
            f"{name:<16}{whole['median']:>8.0f} ({whole['min']:.0f}-{whole['max']:.0f})".ljust(38)
            + f"{row['json_us']['median']:>10.0f}{row['models_us']['median']:>10.0f}"
        )


class _Remote:
    """This file serving samples (``--serve``) in another process that imports the SDK from
    ``checkout``: the two versions never share an interpreter, and each of its samples is taken
    right beside this process's sample of the same listing, so both see the same machine load.
    """

    def __init__(self, checkout: str) -> None:
        env = {**os.environ, "PYTHONPATH": os.path.abspath(checkout)}
        self._proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=tempfile.gettempdir(),
            env=env,
            text=True,
        )
        hello = json.loads(self._readline())
        if hello["asyncsdk"].startswith(os.path.dirname(os.path.dirname(__file__))):
            raise RuntimeError(f"{checkout} did not shadow this checkout's asyncsdk")
        self.json_backend: str = hello["json_backend"]
        self.location: str = hello["asyncsdk"]

    def _readline(self) -> str:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the baseline process ended")
        return line

    def sample(self, listing: str, part: str, repeat: int) -> float:
        assert self._proc.stdin is not None
        self._proc.stdin.write(f"{listing} {part} {repeat}\n")
        self._proc.stdin.flush()
        return float(self._readline())

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)


def _serve() -> None:
    by_name = {listing.name: listing for listing in listings()}
    for listing in by_name.values():
        listing.whole()
    print(json.dumps({"asyncsdk": asyncsdk.__file__, "json_backend": _json_backend()}))
    sys.stdout.flush()
    for line in sys.stdin:
        name, part, repeat = line.split()
        listing = by_name[name]
        fn = {"whole": listing.whole, "json": listing.json_only, "models": listing.models_only}
        print(_sample(fn[part], int(repeat)))
        sys.stdout.flush()


class _StdlibOnly:
    """This checkout with the standard library's decoder, for the duration of a sample."""

    def __enter__(self) -> None:
        self._saved = getattr(convert, "_fast_loads", None)
        convert._fast_loads = None

    def __exit__(self, *_: object) -> None:
        convert._fast_loads = self._saved


async def run(
    rounds: int = 9,
    *,
    baseline: dict[str, Any] | None = None,
    baseline_checkout: str | None = None,
    repeat: int = 50,
) -> dict[str, Any]:
    """This checkout (with its JSON decoder, and with the standard library's), and optionally
    an older checkout served by a subprocess. Every round takes one sample of every listing
    and part from every variant, the variants of one listing back to back (their order
    rotating), so a speedup is a ratio of samples taken within milliseconds of each other;
    the figures are medians over rounds of those per-round ratios, with their range. Both
    processes run on one CPU (:func:`_one_cpu`). ``baseline`` (figures recorded earlier with
    ``--out``) is reported beside them."""
    with _one_cpu() as cpu:
        figures = _run(rounds, baseline, baseline_checkout, repeat)
    figures["setup"]["cpu"] = cpu
    return figures


@contextlib.contextmanager
def _one_cpu() -> Iterator[int | None]:
    """Run this process, and the older checkout's process it starts, on one CPU (the lowest it
    may use) for the duration; yields that CPU, or None where affinity cannot be set.

    The two processes take turns (each waits on the pipe while the other samples), so sharing
    a CPU costs neither of them anything. Left to the scheduler, each tended to stay on its own
    CPU, and the two CPUs of this virtual machine run at different speeds that change by the
    second: the same code measured in both processes gave per-round ratios from 0.53 to 2.42
    and medians from 0.96 to 1.48. On one CPU the same test gave 0.97-1.05 (0.70 once).
    """
    if not hasattr(os, "sched_setaffinity"):  # not Linux
        yield None
        return
    allowed = os.sched_getaffinity(0)
    cpu = min(allowed)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, allowed)


def _run(
    rounds: int, baseline: dict[str, Any] | None, baseline_checkout: str | None, repeat: int
) -> dict[str, Any]:
    chosen = listings()
    for listing in chosen:
        listing.whole()
    remote = _Remote(baseline_checkout) if baseline_checkout else None
    stdlib = _StdlibOnly()
    parts = ("whole", "json", "models")

    def local(listing: Listing, part: str, plain: bool) -> float:
        fn = {"whole": listing.whole, "json": listing.json_only, "models": listing.models_only}
        if plain:
            with stdlib:
                return _sample(fn[part], repeat)
        return _sample(fn[part], repeat)

    samplers: dict[str, Callable[[Listing, str], float]] = {
        "this checkout": lambda listing, part: local(listing, part, False),
        "this checkout, stdlib json": lambda listing, part: local(listing, part, True),
    }
    if remote is not None:
        samplers["baseline checkout"] = lambda listing, part: remote.sample(
            listing.name, part, repeat
        )
    names = list(samplers)
    taken: dict[str, dict[str, dict[str, list[float]]]] = {
        name: {listing.name: {part: [] for part in parts} for listing in chosen} for name in names
    }
    try:
        for round_no in range(rounds):
            for listing in chosen:
                for part in parts:
                    shift = round_no % len(names)
                    for name in names[shift:] + names[:shift]:
                        taken[name][listing.name][part].append(samplers[name](listing, part))
    finally:
        if remote is not None:
            remote.close()
    merged: dict[str, Any] = {}
    for name in names:
        merged[name] = {
            "json_backend": (
                remote.json_backend
                if remote is not None and name == "baseline checkout"
                else "json (stdlib)"
                if name.endswith("stdlib json")
                else _json_backend()
            ),
            "results": {
                listing: {f"{part}_us": spread(values) for part, values in by_part.items()}
                for listing, by_part in taken[name].items()
            },
        }
    for name, figures in merged.items():
        report(figures, name)
    speedups: dict[str, Any] = {}
    if remote is not None:
        old = taken["baseline checkout"]
        for variant in ("this checkout", "this checkout, stdlib json"):
            speedups[f"{variant} vs baseline checkout, same rounds"] = {
                listing: spread(
                    [
                        a / b
                        for a, b in zip(
                            old[listing]["whole"], taken[variant][listing]["whole"], strict=True
                        )
                    ]
                )
                for listing in ORDER
            }
    if baseline:
        speedups["this checkout vs recorded baseline"] = {
            listing: baseline["results"][listing]["whole_us"]["median"]
            / merged["this checkout"]["results"][listing]["whole_us"]["median"]
            for listing in ORDER
            if listing in baseline["results"]
        }
    for title, table in speedups.items():
        print(f"  speedup, {title}:")
        for listing, figure in table.items():
            text = show(figure) if isinstance(figure, dict) else f"{figure:.2f}x"
            print(f"    {listing:<16}{text}")
    return {
        "variants": merged,
        "speedups": speedups,
        "recorded_baseline": baseline,
        "baseline_checkout": remote.location if remote is not None else None,
        "setup": {"items_per_page": ITEMS, "pages_per_sample": repeat, "rounds": rounds},
    }


def spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def show(figure: dict[str, float]) -> str:
    return f"{figure['median']:.2f}x ({figure['min']:.2f}-{figure['max']:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description="page-decode figures of one SDK checkout")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", help="write the figures here as JSON")
    parser.add_argument("--serve", action="store_true", help="serve samples on stdin/stdout")
    args = parser.parse_args()
    if args.serve:
        _serve()
        return
    figures = measure(args.rounds)
    report(figures, "this checkout")
    if args.out:
        with open(args.out, "w") as out:
            json.dump(figures, out, indent=2, sort_keys=True)
            out.write("\n")


if __name__ == "__main__":
    main()
