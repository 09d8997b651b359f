"""The benchmark figures in both READMEs are exactly what ``benchmarks/results.json`` holds:
rendered by ``python -m benchmarks.report --write``, never copied by hand, all from one run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from benchmarks import report


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    with open(report.RESULTS) as source:
        loaded: dict[str, Any] = json.load(source)
    return loaded


def readme(path: str) -> str:
    with open(path) as text:
        return text.read()


def test_the_benchmark_readme_shows_the_figures_of_results_json(results: dict[str, Any]) -> None:
    shown = report.block(readme(report.BENCH_README), report.FIGURES)
    assert shown == report.figures(results), "run: python -m benchmarks.report --write"


def test_the_project_readme_summary_shows_the_same_run(results: dict[str, Any]) -> None:
    shown = report.block(readme(report.PROJECT_README), report.SUMMARY)
    assert shown == report.summary(results), "run: python -m benchmarks.report --write"


def test_the_figures_come_from_one_full_run(results: dict[str, Any]) -> None:
    # One run of every scenario (not --quick, not a subset stitched from several files).
    assert results["quick"] is False
    for scenario in ("decode", "fanout", "paging", "memory", "refresh"):
        assert scenario in results, f"{scenario} missing from results.json"


def test_a_ratio_is_shown_as_its_median_and_range() -> None:
    assert report.ratio_text({"median": 1.234, "min": 1.1, "max": 1.5}) == "1.23x (1.10–1.50)"
