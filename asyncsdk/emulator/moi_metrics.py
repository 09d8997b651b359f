"""MOI metrics (docs/wire/moi.md#metrics), derived from what the emulator has seen happen.

Served on the three documented paths (docs/wire/moi.md#d4): ``/metric/observice`` (the public docs,
with the usual
tokens), ``/metric/runtime`` (LS) and ``/ob/metrics`` (the seed's in-cluster host, which shows no
auth headers, so the emulator does not ask for any there).

The answer has ``(end - start) / interval`` points at whole multiples of ``interval``, the last
one at or before ``end``, as in the documented example; a point covers ``[t, t + interval)``
and is ``null`` when nothing happened in it. Load metrics come from the raw volumes' files (what
load tasks loaded), processing metrics from finished job runs; the load-task metrics have no
source in the emulator and are always null.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from ._http import Params, invalid, moi_ok
from ._processing import ProcessingStore
from ._routes import Route, add_routes
from ._state import EmulatorState

_MAX_POINTS = 11_000
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:\d{2})$"
)
_LOAD = (
    "PipelineLoadFileCount",
    "PipelineLoadFileSize",
    "PipelineLoadFileLatency",
    "PipelineLoadFileThroughput",
    "PipelineLoadFilePerSecond",
    "PipelineLoadFileSuccessRate",
)
_LOAD_TASK = ("PipelineLoadTaskCount", "PipelineLoadTaskLatency", "PipelineLoadTaskTimeoutRate")
_PROCESS = ("PipelineProcessFinishJobCount", "PipelineProcessFinishJobLatency")
_PER_WORKFLOW = ("PipelineProcessWorkflowSuccessRate", "PipelineProcessWorkflowTimeoutRate")
KNOWN = frozenset(_LOAD + _LOAD_TASK + _PROCESS + _PER_WORKFLOW)


def _parse(name: str, value: Any) -> float:
    if not isinstance(value, str):
        raise invalid(f"{name} must be an RFC 3339 time")
    match = _RFC3339.match(value.strip())
    if match is None:
        raise invalid(f"{name} must be an RFC 3339 time, got {value!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if offset in ("Z", "z"):
        zone = UTC
    else:
        sign = -1 if offset[0] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    moment = datetime(
        int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=zone
    )
    return moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


def _rfc3339(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# (time, value) events, and how a bucket of them becomes one number.
Events = list[tuple[float, float]]
Reduce = Callable[[list[float], int], float]


def _mean(values: list[float], _: int) -> float:
    return sum(values) / len(values)


def _reducers() -> dict[str, Reduce]:
    return {
        "PipelineLoadFileCount": lambda v, _: float(len(v)),
        "PipelineLoadFileSize": lambda v, _: float(sum(v)),
        "PipelineLoadFileLatency": _mean,
        "PipelineLoadFileThroughput": lambda v, interval: sum(v) / interval,
        "PipelineLoadFilePerSecond": lambda v, interval: len(v) / interval,
        "PipelineLoadFileSuccessRate": _mean,
        "PipelineProcessFinishJobCount": lambda v, _: float(len(v)),
        "PipelineProcessFinishJobLatency": _mean,
        "PipelineProcessWorkflowSuccessRate": _mean,
        "PipelineProcessWorkflowTimeoutRate": _mean,
    }


_REDUCERS = _reducers()


def load_events(state: EmulatorState, name: str) -> Events:
    events: Events = []
    for files in state.raw_volumes.files.values():
        for file in files.values():
            status = file.get("status", 5)
            ended = file.get("end_time") or file.get("update_time")
            if not ended or status not in (4, 5):
                continue
            if name == "PipelineLoadFileSuccessRate":
                events.append((float(ended), 1.0 if status == 5 else 0.0))
            elif status == 5:
                started = float(file.get("start_time") or ended)
                value = {
                    "PipelineLoadFileSize": float(file.get("size", 0)),
                    "PipelineLoadFileThroughput": float(file.get("size", 0)),
                    "PipelineLoadFileLatency": float(ended) - started,
                }.get(name, 1.0)
                events.append((float(ended), value))
    return events


def job_events(store: ProcessingStore, name: str, workflow_id: str | None = None) -> Events:
    events: Events = []
    for ended, seconds, succeeded, run_workflow in store.job_runs:
        if workflow_id is not None and run_workflow != workflow_id:
            continue
        value = {
            "PipelineProcessFinishJobLatency": seconds,
            "PipelineProcessWorkflowSuccessRate": 1.0 if succeeded else 0.0,
            "PipelineProcessWorkflowTimeoutRate": 0.0,  # nothing times out here
        }.get(name, 1.0)
        events.append((ended, value))
    return events


def points(name: str, events: Events, stamps: list[int], interval: int) -> list[Any]:
    buckets: dict[int, list[float]] = {stamp: [] for stamp in stamps}
    first = stamps[0]
    for at, value in events:
        stamp = first + int((at - first) // interval) * interval
        if stamp in buckets:
            buckets[stamp].append(value)
    reduce = _REDUCERS.get(name)
    return [
        {
            "timestamp": _rfc3339(stamp),
            "value": None
            if reduce is None or not buckets[stamp]
            else round(reduce(buckets[stamp], interval), 6),
        }
        for stamp in stamps
    ]


async def query(state: EmulatorState, request: web.Request) -> web.Response:
    assert state.processing is not None
    store = state.processing
    params = await Params.read(request, ("start", "end", "interval", "metrics", "account"))
    store.advance()
    start = _parse("start", params.raw("start"))
    end = _parse("end", params.raw("end"))
    interval = params.get_int("interval")
    if interval is None or interval <= 0:
        raise invalid("interval must be a positive number of seconds")
    if end <= start:
        raise invalid("end must be after start")
    count = max(1, int((end - start) // interval))
    if count > _MAX_POINTS:
        raise invalid(f"too many points ({count}); widen the interval")
    metrics = params.raw("metrics")
    if not isinstance(metrics, list) or not metrics:
        raise invalid("metrics must name at least one metric")
    names = []
    for metric in metrics:
        name = metric.get("name") if isinstance(metric, dict) else None
        if name not in KNOWN:
            raise invalid(f"unknown metric {name!r}")
        names.append(name)
    account = params.get_str("account") or state.config.account_name
    ours = account == state.config.account_name
    last = int(end // interval) * interval
    stamps = [last - (count - 1 - n) * interval for n in range(count)]
    label = [{"labelKey": "user_id", "labelValue": account}]
    series = []
    for name in names:
        if name in _PER_WORKFLOW and ours:
            workflows = sorted(
                {w for ended, _, _, w in store.job_runs if stamps[0] <= ended < last + interval}
            )
            for workflow_id in workflows:
                labels = [*label, {"labelKey": "workflow_id", "labelValue": workflow_id}]
                values = points(name, job_events(store, name, workflow_id), stamps, interval)
                series.append({"name": name, "agg": "", "labels": labels, "values": values})
            if workflows:
                continue
        if not ours:
            events: Events = []
        elif name in _LOAD:
            events = load_events(state, name)
        elif name in _PROCESS or name in _PER_WORKFLOW:
            events = job_events(store, name)
        else:
            events = []
        values = points(name if events else "", events, stamps, interval)
        series.append({"name": name, "agg": "", "labels": label, "values": values})
    return moi_ok(
        {
            "start": _rfc3339(end - (count - 1) * interval),
            "end": _rfc3339(end),
            "metrics": series,
        }
    )


#: One query, under the seed's path, the runtime path and the in-cluster one.
ROUTES = tuple(
    Route("POST", path, query) for path in ("/metric/observice", "/metric/runtime", "/ob/metrics")
)


def setup(app: web.Application, state: EmulatorState) -> None:
    add_routes(app, state, ROUTES)
