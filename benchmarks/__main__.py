"""``python -m benchmarks [scenario ...] [--quick] [--rounds N]``: run the scenarios (all by
default), print medians and per-round ratios, and write ``benchmarks/results.json``.

``--quick`` runs smaller workloads and fewer rounds (a few minutes instead of half an hour),
for checking a change; the figures in benchmarks/README.md come from a full run."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from . import decode, fanout, memory, paging, refresh
from ._harness import machine, write_results

HERE = os.path.dirname(__file__)

# name -> (full run, quick run): each takes the rounds (None: the scenario's own default).
Runner = Callable[[int | None], Coroutine[Any, Any, dict[str, Any]]]


def _scenarios(args: argparse.Namespace) -> dict[str, tuple[Runner, Runner]]:
    baseline = None
    if args.decode_baseline and os.path.exists(args.decode_baseline):
        with open(args.decode_baseline) as recorded:
            baseline = json.load(recorded)

    def decode_run(rounds: int | None, default: int) -> Coroutine[Any, Any, dict[str, Any]]:
        return decode.run(
            rounds or default, baseline=baseline, baseline_checkout=args.decode_checkout
        )

    return {
        "decode": (lambda r: decode_run(r, 15), lambda r: decode_run(r, 5)),
        "fanout": (
            # Many short rounds: a variant's CPU per call drifts by tens of percent over a few
            # seconds on a shared machine, so per-round ratios need rounds close in time.
            lambda r: fanout.run(r or 20, calls=4_000),
            lambda r: fanout.run(r or 5, calls=2_000),
        ),
        "paging": (lambda r: paging.run(r or 5), lambda r: paging.run(r or 3)),
        "memory": (
            lambda r: memory.run(r or 3),
            lambda r: memory.run(r or 2, items=100_000),
        ),
        "refresh": (lambda r: refresh.run(r or 1), lambda r: refresh.run(r or 1)),
        "dask": (lambda r: _dask(r or 3), lambda r: _dask(r or 1)),
    }


def _dask(rounds: int) -> Coroutine[Any, Any, dict[str, Any]]:
    # Imported only when asked for: it needs the dask extra, which the other scenarios do not.
    from . import dask_scaling

    return dask_scaling.run(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    names = ["decode", "fanout", "paging", "memory", "refresh", "dask"]
    parser.add_argument("scenarios", nargs="*", metavar="scenario", help=", ".join(names))
    parser.add_argument("--quick", action="store_true", help="smaller workloads, fewer rounds")
    parser.add_argument("--rounds", type=int, help="measured rounds per variant")
    parser.add_argument(
        "--decode-baseline",
        default=os.path.join(HERE, "decode_main.json"),
        help="page-decode figures recorded from an older checkout (%(default)s)",
    )
    parser.add_argument(
        "--decode-checkout",
        help="an older checkout of the SDK to measure page decode in the same rounds",
    )
    parser.add_argument(
        "--output",
        default=os.path.join(HERE, "results.json"),
        help="where to write the figures (%(default)s)",
    )
    args = parser.parse_args()
    unknown = [name for name in args.scenarios if name not in names]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(names)}")
    chosen = args.scenarios or names
    scenarios = _scenarios(args)
    report: dict[str, Any] = {
        "machine": machine(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "quick": args.quick,
        "command": "python -m benchmarks " + " ".join(sys.argv[1:]),
    }
    for name in chosen:
        full, quick = scenarios[name]
        started = time.perf_counter()
        report[name] = asyncio.run((quick if args.quick else full)(args.rounds))
        report[name]["scenario_seconds"] = round(time.perf_counter() - started, 1)
    report["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    write_results(args.output, report)
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
