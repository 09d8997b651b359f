"""MOI processing on the BYOA service: workflows and jobs.

One generation's paths are served, over one store: ``index_workflow`` / ``index_workflow_job``
(the seed) or ``workflow_meta`` / ``workflow_job`` (May 2025 on, ``api="current"``).
Workflow update answers on PUT and POST; job-file retry takes the body ``files`` or the query
``file_ids``. A create answers ``data: null``, without the new id.

Job listings page by ``page_num`` in the seed (the service's own OpenAPI spec) and by ``page``
in the current generation (the vendor's own clients). The real service, a FastAPI app, ignores a
query parameter it does not declare, so a client may send both names with the same number; the
emulator accepts the other generation's name only as such a duplicate, and refuses it alone
(it would be ignored: every page would be page 1) or disagreeing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ._byoa import (
    ByoaError,
    body_list,
    body_str,
    byoa_not_found,
    byoa_route,
    missing,
    query_int,
    required,
    unprocessable,
)
from ._http import ParamError, Params, byoa_ok
from ._processing import FILE_COUNTERS, ProcessingStore, millis
from ._routes import Route, add_routes
from ._state import EmulatorState

_PREFIX = "/byoa/api/v1"
_BASES = {
    "seed": ("index_workflow", "index_workflow_job"),
    "current": ("workflow_meta", "workflow_job"),
}
_SORTABLE = ("created_at", "updated_at", "name", "priority")
_WORKFLOW_FIELDS = (
    "name",
    "source_volume_ids",
    "source_volume_names",
    "file_types",
    "process_mode",
    "workflow",
    "priority",
    "create_target_volume_name",
    "target_volume_id",
    "target_volume_name",
)
_WORKFLOW_LIST_PARAMS = (
    "offset",
    "limit",
    "name_search",
    "status",
    "process_modes",
    "file_types",
    "priority",
    "creator",
    "sort_field",
    "sort_order",
)
#: Job-list filters: the seed's OpenAPI spec's, plus the vendor clients' in the current API.
_JOB_FILTERS = {
    "seed": ("workflow_id", "name_search", "file_types", "priority", "sort_field", "sort_order"),
    "current": (
        "workflow_id",
        "name_search",
        "file_types",
        "priority",
        "sort_field",
        "sort_order",
        "source_file_id",
        "status",
    ),
}
#: Which page-number parameter each generation reads.
_PAGE_PARAM = {"seed": "page_num", "current": "page"}
_JOB_SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "created_at": lambda j: j["start"],
    "start_time": lambda j: j["start"],
    "end_time": lambda j: j["end"] if j["end"] is not None else float("inf"),
    "priority": lambda j: j["priority"],
}
_JOB_STATUS_NAMES = {"unknown": 0, "running": 1, "completed": 2, "failed": 3}


def _page_number(params: Params, api: str) -> int:
    """The page asked for, by this generation's parameter name (see the module docstring)."""
    own = _PAGE_PARAM[api]
    other = _PAGE_PARAM["current" if api == "seed" else "seed"]
    if params.has(own):
        page = query_int(params, (own,), 1, 1)
        if params.has(other) and params.get_int(other) != page:
            raise ParamError(f"{other}={params.raw(other)!r} disagrees with {own}={page}")
        return page
    if params.has(other):
        raise ParamError(
            f"this service pages by {own!r}; {other!r} alone would be ignored", unknown=True
        )
    return 1


def _job_status(params: Params) -> int | None:
    """The current generation's ``status`` filter: a number or a name (``"running"``)."""
    value = params.get_str("status")
    if value is None or value == "":
        return None
    if value.strip().isdigit():
        return int(value)
    if value.lower() in _JOB_STATUS_NAMES:
        return _JOB_STATUS_NAMES[value.lower()]
    raise unprocessable(
        ["query", "status"], f"Input should be one of {', '.join(_JOB_STATUS_NAMES)} or a number"
    )


def _process_mode(params: Params) -> dict[str, int]:
    value = required(params, "process_mode")
    if not isinstance(value, dict):
        raise unprocessable(["body", "process_mode"], "Input should be a valid dictionary")
    out = {}
    for key in ("interval", "offset"):
        if key not in value:
            raise missing("body", f"process_mode.{key}")
        if isinstance(value[key], bool) or not isinstance(value[key], int):
            raise unprocessable(["body", "process_mode", key], "Input should be a valid integer")
        out[key] = value[key]
    return out


def _graph(params: Params) -> dict[str, Any]:
    value = required(params, "workflow")
    if not isinstance(value, dict):
        raise unprocessable(["body", "workflow"], "Input should be a valid dictionary")
    return value  # stored opaquely and echoed back (docs/wire/moi.md#workflow-config)


def workflow_or_404(store: ProcessingStore, workflow_id: str) -> dict[str, Any]:
    workflow = store.workflows.get(workflow_id)
    if workflow is None:
        raise byoa_not_found(f"workflow {workflow_id} not found")
    return workflow


def job_or_404(store: ProcessingStore, job_id: str) -> dict[str, Any]:
    job = store.jobs.get(job_id)
    if job is None:
        raise byoa_not_found("作业不存在")  # the service's own words: "job does not exist"
    return job


def target(store: ProcessingStore, params: Params, fields: dict[str, Any]) -> None:
    """Resolve the target volume: a new one by name, or an existing one by id."""
    new_name = body_str(params, "create_target_volume_name", default="")
    if new_name:
        created = store.add_volume(new_name)
        fields["target_volume_id"] = created["id"]
        fields["target_volume_name"] = created["name"]
        return
    volume_id = body_str(params, "target_volume_id")
    existing = store.volumes.get(volume_id)
    if existing is None:
        raise byoa_not_found(f"target volume {volume_id} not found")
    fields["target_volume_id"] = volume_id
    fields["target_volume_name"] = (
        body_str(params, "target_volume_name", default="") or existing["name"]
    )


def sources(state: EmulatorState, params: Params) -> tuple[list[str], list[str]]:
    ids = body_list(params, "source_volume_ids", str)
    names = body_list(params, "source_volume_names", str)
    for volume_id in ids:
        if volume_id not in state.raw_volumes.volumes:
            raise byoa_not_found(f"source volume {volume_id} not found")
    return ids, names


def unique_name(store: ProcessingStore, name: str, exclude: str | None = None) -> None:
    if not name:
        raise unprocessable(["body", "name"], "String should have at least 1 character")
    if any(w["name"] == name and w["id"] != exclude for w in store.workflows.values()):
        raise ByoaError(409, f"a workflow named {name!r} already exists")


@byoa_route
async def create(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, _WORKFLOW_FIELDS)
    store.advance()
    name = body_str(params, "name")
    unique_name(store, name)
    source_ids, source_names = sources(state, params)
    fields: dict[str, Any] = {
        "name": name,
        "source_volume_ids": source_ids,
        "source_volume_names": source_names,
        "file_types": body_list(params, "file_types", int),
        "process_mode": _process_mode(params),
        "workflow": _graph(params),
        "priority": params.get_int("priority", 300),
    }
    target(store, params, fields)
    workflow = store.add_workflow(fields)
    if workflow["process_mode"]["interval"] == 0:
        store.start_job(workflow)  # run once, right away (docs/wire/moi.md#d8)
    return byoa_ok(None)


@byoa_route
async def list_workflows(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, _WORKFLOW_LIST_PARAMS)
    store.advance()
    offset = query_int(params, ("offset",), 0, 0)
    limit = query_int(params, ("limit",), 20, 1)
    items = list(store.workflows.values())
    search = params.get_str("name_search")
    if search:
        items = [w for w in items if search in w["name"]]
    statuses = set(params.get_int_list("status"))
    if statuses:
        items = [w for w in items if w["status"] in statuses]
    modes = set(params.get_int_list("process_modes"))
    if modes:
        items = [w for w in items if w["process_mode"]["interval"] in modes]
    types = set(params.get_int_list("file_types"))
    if types:
        items = [w for w in items if types & set(w["file_types"])]
    priorities = set(params.get_int_list("priority"))
    if priorities:
        items = [w for w in items if w["priority"] in priorities]
    creator = params.get_str("creator")
    if creator:
        items = [w for w in items if w["creator"] == creator]
    sort_field = params.get_str("sort_field") or "created_at"
    if sort_field not in _SORTABLE:
        raise unprocessable(["query", "sort_field"], f"cannot sort by {sort_field!r}")
    sort_order = params.get_str("sort_order") or "descend"
    if sort_order not in ("ascend", "descend"):
        raise unprocessable(["query", "sort_order"], "Input should be 'ascend' or 'descend'")
    items.sort(key=lambda w: (w[sort_field], w["seq"]), reverse=sort_order == "descend")
    page = items[offset : offset + limit]
    return byoa_ok(
        {
            "total": len(items),
            "workflows": [store.render_workflow(w, detail=False) for w in page],
        }
    )


@byoa_route
async def get_workflow(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    store.advance()
    workflow = workflow_or_404(store, request.match_info["workflow_id"])
    return byoa_ok(store.render_workflow(workflow, detail=True))


@byoa_route
async def update_workflow(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    workflow = workflow_or_404(store, request.match_info["workflow_id"])
    params = await Params.read(request, _WORKFLOW_FIELDS)
    store.advance()
    changes: dict[str, Any] = {}
    if params.has("name"):
        changes["name"] = body_str(params, "name")
        unique_name(store, changes["name"], exclude=workflow["id"])
    if params.has("source_volume_ids") or params.has("source_volume_names"):
        changes["source_volume_ids"], changes["source_volume_names"] = sources(state, params)
    if params.has("file_types"):
        changes["file_types"] = body_list(params, "file_types", int)
    if params.has("process_mode"):
        changes["process_mode"] = _process_mode(params)
    if params.has("workflow"):
        changes["workflow"] = _graph(params)
    if params.has("priority"):
        changes["priority"] = params.get_int("priority", 300)
    if params.get_str("create_target_volume_name") or params.get_str("target_volume_id"):
        target(store, params, changes)
    elif params.has("target_volume_name"):
        changes["target_volume_name"] = body_str(params, "target_volume_name")
    workflow.update(changes)
    workflow["updated_at"] = millis(time.time())
    return byoa_ok(None)


@byoa_route
async def delete_workflow(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("delete_data",))
    store.advance()
    workflow = workflow_or_404(store, request.match_info["workflow_id"])
    store.delete_workflow(workflow["id"], params.get_bool("delete_data"))
    return byoa_ok(None)


@byoa_route
async def list_jobs(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    api = state.config.api
    params = await Params.read(request, (*_JOB_FILTERS[api], "page", "page_num", "page_size"))
    store.advance()
    page = _page_number(params, api)
    # The seed's spec defaults to 10 a page, the vendor's clients document 20.
    page_size = query_int(params, ("page_size",), 10 if api == "seed" else 20, 1)
    items = list(store.jobs.values())
    workflow_id = params.get_str("workflow_id")
    if workflow_id:
        items = [j for j in items if j["workflow_id"] == workflow_id]
    search = params.get_str("name_search")
    if search:
        items = [
            j
            for j in items
            if search in j["workflow_name"]
            or search in j["target_volume_name"]
            or any(search in n for n in j["source_volume_names"])
        ]
    wanted = set(params.get_int_list("file_types"))
    if wanted:
        items = [j for j in items if wanted & set(j["file_types"])]
    priorities = set(params.get_int_list("priority"))
    if priorities:
        items = [j for j in items if j["priority"] in priorities]
    status = _job_status(params) if api == "current" else None
    if status is not None:
        items = [j for j in items if j["status"] == status]
    source_file_id = params.get_str("source_file_id") if api == "current" else None
    if source_file_id:
        items = [
            j
            for j in items
            if any(store.files[f]["source_file_id"] == source_file_id for f in j["file_ids"])
        ]
    sort_field = params.get_str("sort_field") or "created_at"
    if sort_field not in _JOB_SORT_KEYS:
        raise unprocessable(["query", "sort_field"], f"cannot sort by {sort_field!r}")
    sort_key = _JOB_SORT_KEYS[sort_field]
    sort_order = (params.get_str("sort_order") or "desc").lower()
    if sort_order not in ("asc", "desc", "ascend", "descend"):
        raise unprocessable(["query", "sort_order"], "Input should be 'asc' or 'desc'")
    # Newest first unless told otherwise; ties broken by creation order, so pages are
    # stable.
    items.sort(key=lambda j: (sort_key(j), j["seq"]), reverse=sort_order.startswith("desc"))
    start = (page - 1) * page_size
    return byoa_ok(
        {"total": len(items), "jobs": [render(state, j) for j in items[start : start + page_size]]}
    )


def render(state: EmulatorState, job: dict[str, Any]) -> dict[str, Any]:
    out = _store(state).render_job(job, detail=False)
    trigger = job.get("trigger_task_id")
    if state.config.api == "current" and trigger is not None:
        # The vendor's clients read description.triggerTaskID, a string or a number.
        out["description"] = {"triggerTaskID": int(trigger) if trigger.isdigit() else trigger}
    return out


@byoa_route
async def get_job(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    store.advance()
    job = job_or_404(store, request.match_info["job_id"])
    return byoa_ok(store.render_job(job, detail=True))


@byoa_route
async def job_files(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    # Job files page by page_num in both generations (the vendor's clients do not list
    # them; the OpenAPI spec of the renamed paths says page_num).
    params = await Params.read(request, ("page_num", "page_size", "statuses", "status"))
    store.advance()
    job = job_or_404(store, request.match_info["job_id"])
    page = query_int(params, ("page_num",), 1, 1)
    page_size = query_int(params, ("page_size",), 10, 1)
    records = [store.files[f] for f in job["file_ids"]]
    counters = dict.fromkeys(FILE_COUNTERS.values(), 0)
    for record in records:
        counters[FILE_COUNTERS[record["status"]]] += 1
    wanted = set(params.get_int_list("statuses")) | set(params.get_int_list("status"))
    chosen = [r for r in records if not wanted or r["status"] in wanted]
    start = (page - 1) * page_size
    return byoa_ok(
        {
            "files": [store.render_job_file(r) for r in chosen[start : start + page_size]],
            "file_total": len(chosen),
            "total": len(records),
            **counters,
        }
    )


@byoa_route
async def retry_files(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("files", "file_ids"))
    store.advance()
    job = job_or_404(store, request.match_info["job_id"])
    if "files" in params.body:
        ids = body_list(params, "files", str)
    else:
        ids = [
            part for value in params.get_str_list("file_ids") for part in value.split(",") if part
        ]
        if not ids:
            raise missing("body", "files")
    if not ids:
        raise unprocessable(["body", "files"], "List should have at least 1 item")
    known = set(job["file_ids"])
    for file_id in ids:
        if file_id not in known:
            raise byoa_not_found(f"file {file_id} is not a file of job {job['id']}")
    store.retry(job, ids)
    return byoa_ok(None)


def _store(state: EmulatorState) -> ProcessingStore:
    assert state.processing is not None
    return state.processing


def routes(api: str) -> tuple[Route, ...]:
    """The BYOA workflow and job endpoints, under one generation's path names."""
    workflows = f"{_PREFIX}/{_BASES[api][0]}"
    workflow = f"{workflows}/{{workflow_id}}"
    jobs = f"{_PREFIX}/{_BASES[api][1]}"
    job = f"{jobs}/{{job_id}}"
    return (
        Route("POST", workflows, create),
        Route("GET", workflows, list_workflows),
        Route("GET", workflow, get_workflow),
        Route("PUT", workflow, update_workflow),
        Route("POST", workflow, update_workflow),  # documented as POST, the example used PUT
        Route("DELETE", workflow, delete_workflow),
        Route("GET", jobs, list_jobs),
        Route("GET", job, get_job),
        Route("GET", f"{job}/files", job_files),
        Route("POST", f"{job}/files", retry_files),
    )


def setup(app: web.Application, state: EmulatorState) -> None:
    add_routes(app, state, routes(state.config.api))
