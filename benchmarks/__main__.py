"""``python -m benchmarks [scenario ...] [--rounds N]``: run the scenarios, print medians and
ratios, and write ``benchmarks/results.json``."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import dask_scaling, fanout, memory, paging, refresh
from ._harness import machine, write_results

SCENARIOS: dict[str, Callable[[int], Awaitable[dict[str, Any]]]] = {
    "fanout": fanout.run,
    "paging": paging.run,
    "memory": memory.run,
    "refresh": refresh.run,
    "dask": dask_scaling.run,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("scenarios", nargs="*", choices=[*SCENARIOS, []], default=[])
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per variant")
    parser.add_argument(
        "--output",
        default=os.path.join(os.path.dirname(__file__), "results.json"),
        help="where to write the figures (%(default)s)",
    )
    args = parser.parse_args()
    chosen = args.scenarios or list(SCENARIOS)
    report: dict[str, Any] = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    for name in chosen:
        report[name] = asyncio.run(SCENARIOS[name](args.rounds))
    write_results(args.output, report)
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
