"""``python -m benchmarks.report [results.json] [--write]``: the figures of one run, as the
markdown tables of benchmarks/README.md and the summary in the project README.

Every figure in those tables is rendered here from one ``results.json``, so none can come from
another run or be copied by hand; ``--write`` replaces the marked blocks in both READMEs, and
``tests/test_benchmark_figures.py`` checks that they match the committed ``results.json``.
A speedup is always the median of per-round ratios with its range over the rounds; a target
is judged on that median.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results.json")
BENCH_README = os.path.join(HERE, "README.md")
PROJECT_README = os.path.join(os.path.dirname(HERE), "README.md")

FIGURES = ("<!-- figures: begin -->", "<!-- figures: end -->")
SUMMARY = ("<!-- benchmark summary: begin -->", "<!-- benchmark summary: end -->")

DECODE_TARGETS = {"Task": 2.0, "Job": 2.0, "ConnectorFile": 1.8, "DataSource": 1.8}
FANOUT_CPU_TARGET = 1.1
PAGING_TARGET = 0.95
LISTING_TARGET = 1.0
MEMORY_TARGET_MB = 30.0


def ratio_text(figure: dict[str, float]) -> str:
    """``1.23x (1.10–1.40)``: a median of per-round ratios and its range."""
    return f"{figure['median']:.2f}x ({figure['min']:.2f}–{figure['max']:.2f})"


def _n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _same_rounds(report: dict[str, Any]) -> dict[str, dict[str, float]] | None:
    """Decode speedups against the older checkout measured in the same rounds, if it ran."""
    found: dict[str, dict[str, float]] | None = report["decode"]["speedups"].get(
        "this checkout vs baseline checkout, same rounds"
    )
    return found


def _expiring(report: dict[str, Any]) -> dict[str, Any]:
    """The refresh scenario's run on short-lived tokens."""
    return next(row for name, row in report["refresh"]["results"].items() if "expir" in name)


def _worst_growth(results: dict[str, Any]) -> float:
    """The largest RSS growth of any asyncsdk variant (a memory bound is about the worst run)."""
    return max(
        float(row["peak_rss_growth_mb"]) for name, row in results.items() if "asyncsdk" in name
    )


def _met(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _at_most(median: float, target: float) -> str:
    """Whether ``median`` is within ``target``; to three places when two would show the
    target itself (1.104 is shown as 1.10, and misses 1.1)."""
    verdict = _met(median <= target)
    return verdict + (f", median {median:.3f}x" if f"{median:.2f}" == f"{target:.2f}" else "")


def machine(report: dict[str, Any]) -> list[str]:
    m = report["machine"]
    load = ", ".join(f"{x:.2f}" for x in m["load_average_at_start"])
    versions = ", ".join(
        f"{name} {m[name]}"
        for name in ("aiohttp", "httpx", "httpcore", "sniffio", "anyio", "attrs", "cattrs")
        if m.get(name)
    )
    return [
        f"`{report['command']}`, {report['started']} to {report['finished']} UTC"
        + (" (`--quick`: smaller workloads, fewer rounds)" if report.get("quick") else "")
        + ".",
        "",
        f"{m['cpus']} vCPUs ({m['cpu']}), {m['platform']}, CPython {m['python']}; {versions}; "
        f"asyncsdk's JSON decoder: {m['asyncsdk_json']}. Load average at the start: {load} "
        "(1, 5 and 15 minutes).",
    ]


def decode(report: dict[str, Any]) -> list[str]:
    d = report["decode"]
    same_rounds = _same_rounds(report)
    stdlib = d["speedups"].get("this checkout, stdlib json vs baseline checkout, same rounds")
    ours = d["variants"]["this checkout"]["results"]
    theirs = d["variants"].get("baseline checkout", {}).get("results", {})
    rows = []
    for listing, target in DECODE_TARGETS.items():
        speedup = same_rounds[listing] if same_rounds else None
        rows.append(
            [
                listing,
                _n(theirs[listing]["whole_us"]["median"]) if listing in theirs else "–",
                _n(ours[listing]["whole_us"]["median"]),
                _n(ours[listing]["json_us"]["median"]),
                _n(ours[listing]["models_us"]["median"]),
                ratio_text(speedup) if speedup else "–",
                ratio_text(stdlib[listing]) if stdlib else "–",
                f"{target}x: " + _met(speedup is not None and speedup["median"] >= target),
            ]
        )
    setup = d["setup"]
    return [
        f"{setup['rounds']} rounds; in each, every listing's page of {setup['items_per_page']} "
        f"items is decoded {setup['pages_per_sample']} times by each variant back to back, the "
        "order rotating; the older checkout runs in a subprocess serving samples on a pipe"
        + (
            f", and both processes run on one CPU (CPU {setup['cpu']}), so that the two samples of "
            "a pair see the same CPU"
            if setup.get("cpu") is not None
            else ""
        )
        + ". CPU µs per page (medians over rounds):",
        "",
        *_table(
            [
                "listing",
                "older checkout",
                "this checkout",
                "of which JSON",
                "of which models",
                "speedup",
                "speedup, stdlib JSON",
                "target",
            ],
            rows,
        ),
    ]


def fanout(report: dict[str, Any]) -> list[str]:
    f = report["fanout"]
    res, r = f["results"], f["ratios"]
    rows = [
        [name, _n(row["cpu_us_per_call"]), _n(row["calls_per_s"]), f"{row['median_s']:.2f} s"]
        for name, row in res.items()
    ]
    cpu = r["sdk_cpu_per_call_vs_raw"]
    return [
        f"{_n(f['setup']['calls'])} `tasks.get` calls per variant and round (httpx: "
        f"{_n(f['setup']['httpx_calls'])}, figures per call), {f['setup']['workers']} at a time, "
        f"{f['setup'].get('rounds', 'several')} rounds"
        + (
            f", each in {f['setup']['slices']} slices with the variants' slices interleaved"
            if f["setup"].get("slices", 1) > 1
            else ""
        )
        + "; medians over the rounds:",
        "",
        *_table(["variant", "client CPU µs per call", "calls/s", "median round"], rows),
        "",
        f"- asyncsdk's client CPU per call = **{ratio_text(cpu)}** the raw pool's (target "
        f"≤ {FANOUT_CPU_TARGET}x: {_at_most(cpu['median'], FANOUT_CPU_TARGET)}).",
        *(
            [
                "- Against the raw pool decoding with asyncsdk's own JSON decoder (orjson): "
                f"{ratio_text(r['sdk_cpu_per_call_vs_raw_same_json'])}."
            ]
            if "sdk_cpu_per_call_vs_raw_same_json" in r
            else []
        ),
        f"- Throughput {ratio_text(r['sdk_throughput_vs_raw'])} the raw pool's (the emulator's "
        "CPU and the machine's load, more than either client).",
        f"- httpx's CPU per call = {ratio_text(r['httpx_cpu_per_call_vs_sdk'])} asyncsdk's; "
        f"asyncsdk's throughput {ratio_text(r['sdk_throughput_vs_httpx'])} httpx's.",
    ]


def paging(report: dict[str, Any]) -> list[str]:
    p = report["paging"]
    res, r, setup = p["results"], p["ratios"], p["setup"]
    rows = [
        [name, f"{row['median_s']:.3f} s", f"{row['ms_per_page']:.1f} ms"]
        for name, row in res.items()
    ]
    versus = r["sdk_speedup_vs_raw_speedup"]
    return [
        f"{setup['pages']} pages × {setup['page_size']} tasks, {setup['latency_ms']} ms of "
        f"server latency per request; `concurrency={setup['concurrency']}`:",
        "",
        *_table(["variant", "median", "per page"], rows),
        "",
        f"- Speedup of {setup['concurrency']} in parallel over sequential, each variant over "
        f"its own sequential time, against the **{setup['bound']:.2f}x bound**: raw aiohttp "
        f"{ratio_text(r['raw_parallel_speedup'])}, asyncsdk "
        f"{ratio_text(r['sdk_parallel_speedup'])}.",
        f"- asyncsdk's speedup = **{ratio_text(versus)}** raw aiohttp's (target ≥ "
        f"{PAGING_TARGET}x: {_met(versus['median'] >= PAGING_TARGET)}).",
        f"- Cursor listing with {setup['work_ms_per_page']:.0f} ms of work per page: "
        f"`prefetch=1` {ratio_text(r['prefetch_vs_ideal_overlap'])} of max(latency, work) "
        f"per page; without prefetch {ratio_text(r['no_prefetch_vs_ideal_overlap'])}.",
        "- asyncsdk's sequential time = "
        f"{ratio_text(r['sdk_sequential_vs_raw_sequential_time'])} raw aiohttp's, "
        f"{ratio_text(r['sdk_sequential_vs_httpx_time'])} httpx's.",
    ]


def memory(report: dict[str, Any]) -> list[str]:
    m = report["memory"]
    res, r, setup = m["results"], m["ratios"], m["setup"]
    rows = [
        [
            name,
            f"{row['median_s']:.1f} s",
            _n(row["items_per_s"]),
            f"{row['baseline_mb']:.1f} MB",
            f"{row['peak_rss_growth_mb']:.1f} MB",
        ]
        for name, row in res.items()
    ]
    growth = _worst_growth(res)
    prefetch = r["asyncsdk prefetch=1_throughput_vs_raw"]
    return [
        f"{_n(setup['items'])} connector files, cursor paging, {_n(setup['page_size'])} per "
        f"page; each run a fresh child process, {setup['rounds']} rounds, order rotating:",
        "",
        *_table(
            [
                "variant",
                "median time",
                "items/s",
                "baseline RSS",
                f"largest peak RSS growth (of {setup['rounds']} runs)",
            ],
            rows,
        ),
        "",
        f"- Memory growth at worst **{growth:.1f} MB** for asyncsdk's typed listings (target "
        f"< {MEMORY_TARGET_MB:.0f} MB: {_met(growth < MEMORY_TARGET_MB)}).",
        "- Throughput against the hand-written sequential loop in the same round: asyncsdk with "
        f"`prefetch=1` **{ratio_text(prefetch)}** (target ≥ {LISTING_TARGET}x: "
        f"{_met(prefetch['median'] >= LISTING_TARGET)}); without prefetch "
        f"{ratio_text(r['asyncsdk_throughput_vs_raw'])}.",
    ]


def refresh(report: dict[str, Any]) -> list[str]:
    f = report["refresh"]
    rows = [
        [
            name,
            f"{row['seconds']:.1f} s",
            _n(row["calls"]),
            str(row["failures"]),
            str(row["refreshes"]),
            str(row["replays_401"]),
            str(row["logins"]),
            _n(row["p50_ms"]),
            _n(row["p99_ms"]),
        ]
        for name, row in f["results"].items()
    ]
    setup = f["setup"]
    expiring = _expiring(report)
    ok = expiring["refreshes"] == setup["expiries"] and expiring["failures"] == 0
    return [
        f"{_n(setup['callers'])} callers each calling `tasks.get` in a loop on "
        f"{setup['ttl_s']}-second tokens until the client has refreshed {setup['expiries']} "
        "times; then the same load for the same time on 15-minute tokens. One round.",
        "",
        *_table(
            [
                "run",
                "time",
                "calls",
                "failures",
                "refreshes",
                "401 replays",
                "logins",
                "p50 ms",
                "p99 ms",
            ],
            rows,
        ),
        "",
        f"- {expiring['refreshes']} refreshes for {setup['expiries']} expiries, "
        f"{expiring['failures']} failures ({_met(ok)}); p99 "
        f"{f['ratios']['p99_expiring_vs_steady']:.2f}x the run without expiries.",
    ]


def dask(report: dict[str, Any]) -> list[str]:
    d = report["dask"]
    setup = d["setup"]
    rows = [
        [
            name,
            f"{row['median_s']:.1f} s",
            _n(row["files_per_s"]),
            ratio_text(d["ratios"][name]["vs_fan_out_16"]),
            ratio_text(d["ratios"][name]["vs_dask_1_worker"]),
            "–".join(f"{s:.1f}" for s in (min(row["rounds_s"]), max(row["rounds_s"]))) + " s",
        ]
        for name, row in d["results"].items()
    ]
    one = f"one process, fan_out {setup['per_shard_concurrency']} at once"
    return [
        f"{_n(setup['files'])} connector files migrated into a fresh MAXIR dataset per round, "
        f"{setup['latency_ms']} ms of latency on every request, {setup['shards']} shards:",
        "",
        *_table(
            ["variant", "median", "files/s", f"speed vs {one}", "speed vs 1 Dask worker", "rounds"],
            rows,
        ),
    ]


def targets(report: dict[str, Any]) -> list[str]:
    rows = []
    if "decode" in report:
        same = _same_rounds(report)
        for listing, target in DECODE_TARGETS.items():
            figure = same[listing] if same else None
            rows.append(
                [
                    f"page decode, {listing}: ≥ {target}x the older checkout",
                    ratio_text(figure) if figure else "not measured",
                    _met(figure is not None and figure["median"] >= target),
                ]
            )
    if "fanout" in report:
        cpu = report["fanout"]["ratios"]["sdk_cpu_per_call_vs_raw"]
        rows.append(
            [
                f"fan-out: client CPU per typed call ≤ {FANOUT_CPU_TARGET}x a raw worker pool",
                ratio_text(cpu),
                _at_most(cpu["median"], FANOUT_CPU_TARGET),
            ]
        )
    if "paging" in report:
        versus = report["paging"]["ratios"]["sdk_speedup_vs_raw_speedup"]
        rows.append(
            [
                f"parallel paging: speedup ≥ {PAGING_TARGET}x raw aiohttp's own",
                ratio_text(versus),
                _met(versus["median"] >= PAGING_TARGET),
            ]
        )
    if "memory" in report:
        r, res = report["memory"]["ratios"], report["memory"]["results"]
        prefetch = r["asyncsdk prefetch=1_throughput_vs_raw"]
        growth = _worst_growth(res)
        rows.append(
            [
                f"1M typed cursor listing, `prefetch=1`: ≥ {LISTING_TARGET}x a raw sequential loop",
                ratio_text(prefetch),
                _met(prefetch["median"] >= LISTING_TARGET),
            ]
        )
        rows.append(
            [
                f"1M items: memory growth < {MEMORY_TARGET_MB:.0f} MB",
                f"{growth:.1f} MB",
                _met(growth < MEMORY_TARGET_MB),
            ]
        )
    if "refresh" in report:
        f = report["refresh"]
        expiring = _expiring(report)
        rows.append(
            [
                "refreshes equal to expiries, zero failures",
                f"{expiring['refreshes']} for {f['setup']['expiries']}, "
                f"{expiring['failures']} failures",
                _met(expiring["refreshes"] == f["setup"]["expiries"] and expiring["failures"] == 0),
            ]
        )
    return _table(["target", "this run", ""], rows)


SECTIONS: dict[str, tuple[str, Callable[[dict[str, Any]], list[str]]]] = {
    "decode": ("Page decode: envelope + JSON + models", decode),
    "fanout": ("Fan-out: typed GETs through a worker pool", fanout),
    "paging": ("Paging latency", paging),
    "memory": ("Big listing: memory and throughput", memory),
    "refresh": ("Refresh under load", refresh),
    "dask": ("Dask scaling: the migration on 1, 2 and 4 worker processes", dask),
}


def figures(report: dict[str, Any]) -> str:
    """The figures block of benchmarks/README.md."""
    lines = [*machine(report), "", "### Targets", "", *targets(report)]
    chosen = [section for name, section in SECTIONS.items() if name in report]
    for number, (title, render) in enumerate(chosen, start=1):
        lines += ["", f"### {number}. {title}", "", *render(report)]
    return "\n".join(lines)


def summary(report: dict[str, Any]) -> str:
    """The summary block of the project README."""
    rows = []
    if "decode" in report:
        same = _same_rounds(report)
        if same:
            rows.append(
                [
                    "page decode (envelope + JSON + 100 models), against the code before the "
                    "converter work",
                    ", ".join(f"{n} {same[n]['median']:.2f}x" for n in DECODE_TARGETS) + " faster",
                ]
            )
    if "fanout" in report:
        r = report["fanout"]["ratios"]
        rows.append(
            [
                f"typed GETs, {report['fanout']['setup']['workers']} at a time",
                f"{r['sdk_cpu_per_call_vs_raw']['median']:.2f}x the client CPU per call of a raw "
                f"aiohttp worker pool; httpx {r['httpx_cpu_per_call_vs_sdk']['median']:.0f}x "
                "asyncsdk's",
            ]
        )
    if "paging" in report:
        r, setup = report["paging"]["ratios"], report["paging"]["setup"]
        rows.append(
            [
                f"{setup['pages']} pages, {setup['latency_ms']} ms latency, "
                f"`concurrency={setup['concurrency']}`",
                f"{r['sdk_parallel_speedup']['median']:.2f}x its own sequential time (raw "
                f"aiohttp: {r['raw_parallel_speedup']['median']:.2f}x; bound "
                f"{setup['bound']:.2f}x)",
            ]
        )
        rows.append(
            [
                "cursor listing with 10 ms of work per page, `prefetch=1`",
                f"{r['prefetch_vs_ideal_overlap']['median']:.2f}x max(latency, work) per page "
                f"({r['no_prefetch_vs_ideal_overlap']['median']:.2f}x without)",
            ]
        )
    if "memory" in report:
        m = report["memory"]
        growth = _worst_growth(m["results"])
        rows.append(
            [
                f"{_n(m['setup']['items'])} items streamed, `prefetch=1`",
                f"{m['ratios']['asyncsdk prefetch=1_throughput_vs_raw']['median']:.2f}x a raw "
                f"sequential loop's throughput; {growth:.1f} MB peak RSS growth",
            ]
        )
    if "refresh" in report:
        f = report["refresh"]
        expiring = _expiring(report)
        rows.append(
            [
                f"{_n(f['setup']['callers'])} concurrent callers across "
                f"{f['setup']['expiries']} token expiries",
                f"{expiring['refreshes']} refreshes, {expiring['failures']} failures",
            ]
        )
    return "\n".join(_table(["scenario", "asyncsdk"], rows))


def replace_block(text: str, markers: tuple[str, str], body: str) -> str:
    begin, end = markers
    head, found, rest = text.partition(begin)
    if not found or end not in rest:
        raise SystemExit(f"the markers {begin} ... {end} are missing")
    return f"{head}{begin}\n{body}\n{end}{rest.split(end, 1)[1]}"


def block(text: str, markers: tuple[str, str]) -> str:
    """What stands between the markers in ``text``."""
    begin, end = markers
    return text.split(begin, 1)[1].split(end, 1)[0].strip("\n")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__)
    parser.add_argument("results", nargs="?", default=RESULTS)
    parser.add_argument("--write", action="store_true", help="update both READMEs in place")
    args = parser.parse_args()
    with open(args.results) as source:
        report = json.load(source)
    if not args.write:
        print(figures(report), "", summary(report), sep="\n")
        return
    for path, markers, body in (
        (BENCH_README, FIGURES, figures(report)),
        (PROJECT_README, SUMMARY, summary(report)),
    ):
        with open(path) as readme:
            text = readme.read()
        with open(path, "w") as readme:
            readme.write(replace_block(text, markers, body))
        print(f"updated {path}")


if __name__ == "__main__":
    main()
