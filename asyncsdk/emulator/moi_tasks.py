"""MOI load tasks and their files (docs/wire/moi.md#tasks), with the task state machine
(docs/wire/moi.md#task-lifecycle).

Files move on their own, by the clock: waiting (1) → uploading (2) → succeeded (5) or failed (4,
at ``task_file_failure_rate``), each taking about ``task_file_seconds``. States are worked out
lazily from timestamps whenever a request arrives, so nothing runs in the background. Pause
moves a task to pausing (2) then paused (3), freezing unfinished files as paused (3); resume puts
it back to running (1); retry sends failed files through retrying (6) → uploading → succeeded.
A once-task (interval type 4) is finished (4) when all its files are. Succeeded files appear in
the task's raw volume.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from aiohttp import web

from ._http import (
    Params,
    dumps,
    invalid,
    moi_ok,
    moi_ok_encoded,
    not_found,
    refuse_unknown_keys,
)
from ._routes import Route, add_routes
from ._state import EmulatorState
from .moi_connectors import ConnectorStore

RUNNING, PAUSING, PAUSED, FINISHED = 1, 2, 3, 4
WAITING, UPLOADING, F_PAUSED, FAILED, SUCCEEDED, RETRYING = 1, 2, 3, 4, 5, 6
_ONCE = 4
_PAUSING_SECONDS = 0.2
_ORDER_FIELDS = ("end_at", "created_at", "updated_at")
_COMMON_FIELDS = ("load_mode_config", "uris")
_MODE_FIELDS = ("load_interval_type", "interval")
_CREATE_FIELDS = ("source_connector_id", "volume_id", "source_config", "name", "config_type")
_LIST_PARAMS = (
    "page",
    "page_size",
    "status",
    "load_interval_types",
    "interval_types",
    "keyword",
    "order_by",
    "is_desc",
)
#: The current service names task statuses in ``/task/get`` (the vendor's Go model types
#: ``status`` as a string).
_STATUS_NAMES = {RUNNING: "running", PAUSING: "pausing", PAUSED: "paused", FINISHED: "finished"}
V = TypeVar("V")


class TaskStore:
    def __init__(self, state: EmulatorState, connectors: ConnectorStore) -> None:
        self.state = state
        self.connectors = connectors
        self.tasks: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, dict[str, Any]]] = {}
        # Per file: when its current step ends and what it becomes (lazy state machine).
        self.schedule: dict[str, dict[str, tuple[float, int]]] = {}
        self.paused_at: dict[str, float] = {}
        # Tasks with transitions pending, so a request's catch-up touches only those.
        self.active: set[str] = set()
        # Bumped on every change; filtered, sorted listings are cached per version, because a
        # 5,000-task listing re-sorted on each page request made the emulator, not the client
        # under test, the bottleneck of the paging benchmark.
        self.version = 0
        self._views: dict[tuple[Any, ...], tuple[int, object]] = {}
        self._seed()

    # -- seeding ------------------------------------------------------------------------------

    def _seed(self) -> None:
        """Historical tasks: finished, running and paused ones, each with a few settled files."""
        config = self.state.config
        if not self.connectors.connectors or not self.state.raw_volumes.volumes:
            return
        rng = self.state.rng
        connectors = list(self.connectors.connectors.values())
        volumes = list(self.state.raw_volumes.volumes.values())
        base = int(time.time()) - 86400 * 30
        for n in range(config.tasks):
            connector = connectors[n % len(connectors)]
            volume = volumes[n % len(volumes)]
            created = base + n * 60
            status = (FINISHED, FINISHED, RUNNING, PAUSED)[n % 4]
            interval_type = (_ONCE, 1, 2, 3)[n % 4] if status != FINISHED else _ONCE
            task = self._new_task(connector, volume, interval_type, 0, [f"data/f{n % 10:02d}/"])
            task.update(
                status=status,
                created_at=created,
                updated_at=created + 30,
                start_at=created,
                end_at=created + 600 if status == FINISHED else 0,
            )
            files = self.files[task["id"]]
            per_task = config.files_per_seeded_task
            for i in range(per_task):
                failed = rng.random() < 0.1
                source = self.connectors.file(connector["id"], n * per_task + i)
                file = self._new_file(task, source)
                file.update(
                    status=FAILED if failed else SUCCEEDED,
                    start_time=created + i,
                    end_time=created + i + 5,
                    update_time=created + i + 5,
                    reason="emulated failure: source read timed out" if failed else "",
                )
                files[file["id"]] = file

    # -- construction -------------------------------------------------------------------------

    def _new_task(
        self,
        connector: dict[str, Any],
        volume: dict[str, Any],
        interval_type: int,
        interval: int,
        uris: list[str],
        name: str = "",
    ) -> dict[str, Any]:
        now = int(time.time())
        task = {
            "id": self.state.snowflake(),
            "name": name,
            "source_connector_id": connector["id"],
            "source_connector_type": connector["source_type"],
            "connector_name": connector["name"],
            "volume_id": volume["id"],
            "volume_name": volume["name"],
            "status": RUNNING,
            "creator": self.state.config.username,
            "source_config": {
                "common_file_task_config": {
                    "load_mode_config": {"load_interval_type": interval_type, "interval": interval},
                    "uris": uris,
                }
            },
            "start_at": now,
            "end_at": 0,
            "created_at": now,
            "updated_at": now,
        }
        self.tasks[task["id"]] = task
        self.files[task["id"]] = {}
        self.schedule[task["id"]] = {}
        return task

    def _new_file(self, task: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.state.snowflake(),
            "name": source["filename"],
            "type": source["type"],
            "status": WAITING,
            "size": source["size"],
            "update_time": int(time.time()),
            "start_time": 0,
            "end_time": 0,
            "other_metadata": "",
            "reason": "",
            "user": self.state.config.username,
            "path": f"/{task['volume_name']}/{source['filename']}",
        }

    def create(
        self,
        connector: dict[str, Any],
        volume: dict[str, Any],
        interval_type: int,
        interval: int,
        uris: list[str],
        name: str,
    ) -> dict[str, Any]:
        task = self._new_task(connector, volume, interval_type, interval, uris, name)
        step = self.state.config.task_file_seconds
        now = time.time()
        for source in self._matching(connector["id"], uris):
            file = self._new_file(task, source)
            self.files[task["id"]][file["id"]] = file
            # Files are picked up one after another, a small stagger apart.
            self.schedule[task["id"]][file["id"]] = (
                now + step * self.state.rng.random(),
                UPLOADING,
            )
        if self.files[task["id"]]:
            self.active.add(task["id"])
        else:
            self._settle_task(task)
        self.version += 1
        return task

    def _matching(self, connector_id: int, uris: list[str]) -> list[dict[str, Any]]:
        total = self.connectors.file_counts.get(connector_id, 0)
        found: dict[str, dict[str, Any]] = {}
        for uri in uris:
            exact = self.connectors.file_by_uri(connector_id, uri)
            if exact is not None:
                found[exact["uri"]] = exact
                continue
            prefix = "" if uri in ("", "/") else uri
            for index in range(total):
                candidate = self.connectors.file(connector_id, index)
                if candidate["uri"].startswith(prefix):
                    found[candidate["uri"]] = candidate
        return list(found.values())

    # -- the lazy state machine ---------------------------------------------------------------

    def advance(self) -> None:
        """Apply every transition whose time has come."""
        now = time.time()
        for task_id in list(self.active):
            task = self.tasks.get(task_id)
            if task is None:
                self.active.discard(task_id)
                continue
            if task["status"] in (PAUSING, PAUSED):
                continue
            steps = self.schedule[task_id]
            for file_id, (due, becomes) in list(steps.items()):
                if due <= now:
                    self._step(task, self.files[task_id][file_id], becomes, due)
            if not steps:
                self.active.discard(task_id)
                self._settle_task(task)
        for task_id, since in list(self.paused_at.items()):
            task = self.tasks.get(task_id)
            if task is not None and task["status"] == PAUSING and now - since >= _PAUSING_SECONDS:
                task["status"] = PAUSED
                task["updated_at"] = int(now)
                del self.paused_at[task_id]
                self.version += 1

    def view(self, key: tuple[Any, ...], build: Callable[[], V]) -> V:
        """What ``build()`` makes (a listing, an encoded page), cached until the next change."""
        cached = self._views.get(key)
        if cached is not None and cached[0] == self.version:
            return cast(V, cached[1])
        if len(self._views) > 256:
            self._views.clear()
        value = build()
        self._views[key] = (self.version, value)
        return value

    def _step(self, task: dict[str, Any], file: dict[str, Any], becomes: int, at: float) -> None:
        steps = self.schedule[task["id"]]
        self.version += 1
        file["status"] = becomes
        file["update_time"] = int(at)
        if becomes == UPLOADING:
            file["start_time"] = file["start_time"] or int(at)
            retried = file.pop("_retried", False)
            fails = (
                not retried and self.state.rng.random() < self.state.config.task_file_failure_rate
            )
            steps[file["id"]] = (
                at + self.state.config.task_file_seconds,
                FAILED if fails else SUCCEEDED,
            )
            return
        del steps[file["id"]]
        file["end_time"] = int(at)
        if becomes == FAILED:
            file["reason"] = "emulated failure: source read timed out"
        elif becomes == SUCCEEDED:
            file["reason"] = ""
            self.state.raw_volumes.add_file(task["volume_id"], dict(file))

    def _settle_task(self, task: dict[str, Any]) -> None:
        mode = task["source_config"]["common_file_task_config"]["load_mode_config"]
        if mode["load_interval_type"] == _ONCE and task["status"] == RUNNING:
            self.version += 1
            task["status"] = FINISHED
            task["end_at"] = int(time.time())
            task["updated_at"] = task["end_at"]

    def pause(self, task: dict[str, Any]) -> None:
        if task["status"] == FINISHED:
            raise invalid("a finished task cannot be paused")
        if task["status"] in (PAUSING, PAUSED):
            return
        self.version += 1
        task["status"] = PAUSING
        task["updated_at"] = int(time.time())
        self.paused_at[task["id"]] = time.time()
        for file_id in self.schedule[task["id"]]:
            self.files[task["id"]][file_id]["status"] = F_PAUSED

    def resume(self, task: dict[str, Any]) -> None:
        if task["status"] not in (PAUSING, PAUSED):
            return
        self.paused_at.pop(task["id"], None)
        self.version += 1
        task["status"] = RUNNING
        task["updated_at"] = int(time.time())
        now = time.time()
        steps = self.schedule[task["id"]]
        for file_id in steps:
            self.files[task["id"]][file_id]["status"] = WAITING
            steps[file_id] = (now + self.state.config.task_file_seconds, UPLOADING)

    def retry(self, task: dict[str, Any], file_ids: list[str]) -> None:
        files = self.files[task["id"]]
        missing = [f for f in file_ids if f not in files]
        if missing:
            raise not_found(f"task {task['id']} has no file {missing[0]}")
        now = time.time()
        for file_id in file_ids:
            file = files[file_id]
            if file["status"] != FAILED:
                continue  # only failed files are retried; the rest are left alone
            file.update(status=RETRYING, end_time=0, update_time=int(now), _retried=True)
            self.schedule[task["id"]][file_id] = (
                now + self.state.config.task_file_seconds,
                UPLOADING,
            )
        self.active.add(task["id"])
        self.version += 1
        if task["status"] == FINISHED:
            task["status"] = RUNNING
            task["end_at"] = 0

    def render_current(self, task: dict[str, Any]) -> dict[str, Any]:
        """``/task/get``'s answer in the current generation: the task itself, with the status
        named and the times as RFC 3339 strings (unset times left out), plus the fields the
        vendor's model adds (``volume_path``, ``source_files``, ``load_results``).

        The shape is the vendor's Go model ``TaskInfoResponse`` (matrixorigin/moi-go-sdk,
        ``models.go`` at b28c3bb), whose tests read the answer's ``id`` directly; the seed-era
        spec wraps the task as ``{"task": ...}`` instead.
        """
        files = self.files.get(task["id"], {}).values()
        out: dict[str, Any] = {
            "id": task["id"],
            "source_connector_id": int(task["source_connector_id"]),
            "source_connector_type": str(task["source_connector_type"]),
            "volume_id": task["volume_id"],
            "volume_name": task["volume_name"],
            "volume_path": {"id_list": [task["volume_id"]], "name_list": [task["volume_name"]]},
            "name": task["name"],
            "creator": task["creator"],
            "status": _STATUS_NAMES.get(task["status"], str(task["status"])),
            "source_config": task["source_config"],
            "connector_name": task["connector_name"],
            "source_files": [[f["name"] for f in files]],
            "load_results": [
                {"lines": 1, "reason": f["reason"]} for f in files if f["status"] == SUCCEEDED
            ],
        }
        for key in ("start_at", "end_at", "created_at", "updated_at"):
            if task[key]:
                out[key] = _rfc3339(task[key])
        return out

    def get(self, task_id: Any) -> dict[str, Any]:
        if task_id is None or str(task_id).strip() == "":
            raise invalid("task_id is required")
        task = self.tasks.get(str(task_id))
        if task is None:
            raise not_found(f"task {task_id} not found")
        return task


def _rfc3339(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _interval_type(task: dict[str, Any]) -> int:
    mode = task["source_config"]["common_file_task_config"]["load_mode_config"]
    return int(mode["load_interval_type"])


def _public(file: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in file.items() if not k.startswith("_")}


async def create(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, _CREATE_FIELDS)
    if params.get_int("config_type", 1) != 1:
        raise invalid("config_type must be 1 (a file load task)")
    connector = store.connectors.get(params.raw("source_connector_id"))
    volume_id = params.get_str("volume_id")
    if not volume_id or volume_id not in state.raw_volumes.volumes:
        raise invalid(f"volume {volume_id!r} does not exist")
    source = params.raw("source_config")
    if not isinstance(source, dict) or not isinstance(source.get("common_file_task_config"), dict):
        raise invalid("source_config.common_file_task_config is required")
    common = source["common_file_task_config"]
    mode = common.get("load_mode_config") or {}
    refuse_unknown_keys(source, "source_config", ("common_file_task_config",))
    refuse_unknown_keys(common, "source_config.common_file_task_config", _COMMON_FIELDS)
    if isinstance(mode, dict):
        refuse_unknown_keys(mode, "load_mode_config", _MODE_FIELDS)
    uris = common.get("uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        raise invalid("source_config.common_file_task_config.uris must be a list of strings")
    interval_type = int(mode.get("load_interval_type", _ONCE))
    if interval_type not in (1, 2, 3, 4):
        raise invalid(f"load_interval_type {interval_type} is not one of 1, 2, 3, 4")
    store.create(
        connector,
        state.raw_volumes.volumes[volume_id],
        interval_type,
        int(mode.get("interval", 0) or 0),
        uris,
        params.get_str("name") or "",
    )
    return moi_ok()  # no id comes back (docs/wire/moi.md#d6)


async def list_tasks(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, _LIST_PARAMS)
    page = params.get_int("page", 1) or 1
    page_size = params.get_int("page_size", 10) or 10
    if page < 1 or page_size < 1:
        raise invalid("page and page_size must be >= 1")
    statuses = set(params.get_int_list("status"))
    # The seed says load_interval_types, the generated spec interval_types (docs/wire/moi.md#d10).
    kinds = set(params.get_int_list("load_interval_types") or params.get_int_list("interval_types"))
    keyword = params.get_str("keyword") or ""
    order_by = params.get_str("order_by") or "created_at"
    if order_by not in _ORDER_FIELDS:
        raise invalid(f"order_by must be one of {', '.join(_ORDER_FIELDS)}")
    desc = params.get_bool("is_desc")

    def build() -> list[dict[str, Any]]:
        items = [
            t
            for t in store.tasks.values()
            if (not statuses or t["status"] in statuses)
            and (not kinds or _interval_type(t) in kinds)
            and (keyword in t["creator"] or keyword in t["volume_name"])
        ]
        items.sort(key=lambda t: (t[order_by], t["id"]), reverse=desc)
        return items

    key = ("tasks", frozenset(statuses), frozenset(kinds), keyword, order_by, desc)
    items = store.view(key, build)
    start = (page - 1) * page_size
    # Pages are encoded once per version too: JSON for a hundred tasks costs more server
    # time than a benchmark's whole client-side budget per page.
    encoded = store.view(
        (*key, page, page_size),
        lambda: dumps({"tasks": items[start : start + page_size], "total": len(items)}),
    )
    return moi_ok_encoded(encoded)


async def get(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("task_id",))
    task = store.get(params.raw("task_id"))
    if state.config.api == "current":
        return moi_ok(store.render_current(task))
    return moi_ok({"task": task})


async def update(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("task_id", "load_mode_config", "uris"))
    task = store.get(params.raw("task_id"))
    common = task["source_config"]["common_file_task_config"]
    mode = params.raw("load_mode_config")
    if mode is not None:
        if not isinstance(mode, dict):
            raise invalid("load_mode_config must be an object")
        refuse_unknown_keys(mode, "load_mode_config", _MODE_FIELDS)
        common["load_mode_config"] = {
            "load_interval_type": int(mode.get("load_interval_type", _ONCE)),
            "interval": int(mode.get("interval", 0) or 0),
        }
    uris = params.raw("uris")
    if uris is not None:
        if not isinstance(uris, list) or not uris:
            raise invalid("uris must be a non-empty list")
        common["uris"] = [str(u) for u in uris]
    task["updated_at"] = int(time.time())
    store.version += 1
    return moi_ok()


async def _task_of(state: EmulatorState, request: web.Request) -> dict[str, Any]:
    params = await Params.read(request, ("task_id",))
    return _store(state).get(params.raw("task_id"))


async def delete(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    task = await _task_of(state, request)
    store.version += 1
    del store.tasks[task["id"]]
    store.schedule.pop(task["id"], None)
    store.paused_at.pop(task["id"], None)
    return moi_ok()


async def pause(state: EmulatorState, request: web.Request) -> web.Response:
    _store(state).pause(await _task_of(state, request))
    return moi_ok()


async def resume(state: EmulatorState, request: web.Request) -> web.Response:
    _store(state).resume(await _task_of(state, request))
    return moi_ok()


async def retry(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("task_id", "ids"))
    task = store.get(params.raw("task_id"))
    ids = params.raw("ids")
    if not isinstance(ids, list) or not ids:
        raise invalid("ids must be a non-empty list of task file ids")
    store.retry(task, [str(i) for i in ids])
    return moi_ok()


async def files(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("task_id", "page", "page_size", "status"))
    task = store.get(params.raw("task_id"))
    page = params.get_int("page", 1) or 1
    page_size = params.get_int("page_size", 10) or 10
    if page < 1 or page_size < 1:
        raise invalid("page and page_size must be >= 1")
    statuses = set(params.get_int_list("status"))
    everything = list(store.files.get(task["id"], {}).values())
    items = [f for f in everything if not statuses or f["status"] in statuses]
    start = (page - 1) * page_size
    succeeded = sum(1 for f in everything if f["status"] == SUCCEEDED)
    failed = sum(1 for f in everything if f["status"] == FAILED)
    return moi_ok(
        {
            "total": len(items),
            "total_success": succeeded,
            "total_failed": failed,
            "total_sum": len(everything),
            "files": [_public(f) for f in items[start : start + page_size]],
        }
    )


ROUTES = (
    Route("POST", "/task", create),
    Route("GET", "/task/list", list_tasks),
    Route("GET", "/task/get", get),
    Route("POST", "/task/update", update),
    Route("POST", "/task/delete", delete),
    Route("POST", "/task/delete/", delete),  # an Era-A example's spelling
    Route("POST", "/task/pause", pause),
    Route("POST", "/task/resume", resume),
    Route("POST", "/task/retry", retry),
    Route("GET", "/task/files", files),
)


def _store(state: EmulatorState) -> TaskStore:
    assert state.moi_tasks is not None
    return state.moi_tasks


def setup(app: web.Application, state: EmulatorState, connectors: ConnectorStore) -> TaskStore:
    """Make the task store, keep it ticking, and serve :data:`ROUTES`."""
    state.moi_tasks = store = TaskStore(state, connectors)
    state.tickers.append(store.advance)
    add_routes(app, state, ROUTES)
    return store
