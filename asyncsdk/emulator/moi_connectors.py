"""MOI connectors and their source files (docs/wire/moi.md#connectors).

A connector's files are computed from their index rather than stored, so a connector can hold a
million files at no memory cost. ``/connectors/files/list`` pages them with an opaque cursor and
``has_more`` exactly as the seed describes (docs/wire/moi.md#d17); ``dir`` lists one level,
directories as type 10.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from aiohttp import web

from ._http import MOIError, Params, invalid, moi_ok, not_found
from ._routes import Route, add_routes
from ._state import EmulatorState

_FILE_TYPES = [2, 1, 6, 7, 5, 3, 4, 8, 2, 2, 11, 12]  # PDFs are the common case
_EXTENSIONS = {
    1: "txt",
    2: "pdf",
    3: "png",
    4: "ppt",
    5: "doc",
    6: "md",
    7: "csv",
    8: "parquet",
    11: "docx",
    12: "pptx",
}
_FOLDERS = 10  # files are spread over data/f00 .. data/f09
_REQUIRED = {
    4: ("endpoint", "access_key_id", "access_key_secret", "bucket_name"),
    5: ("endpoint", "access_key_id", "access_key_secret", "bucket_name", "region"),
}
_CONFIG_KEY = {4: "oss", 5: "s3"}


class ConnectorStore:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.connectors: dict[int, dict[str, Any]] = {}
        self.file_counts: dict[int, int] = {}
        self._next_id = 100001
        for n in range(state.config.connectors):
            source_type = 4 if n % 2 == 0 else 5
            config = {
                "endpoint": "oss-cn-hangzhou.aliyuncs.com",
                "access_key_id": f"LTAI{n:04d}emulator",
                "access_key_secret": f"emulator-secret-{n}",
                "bucket_name": f"bucket-{n}",
            }
            if source_type == 5:
                config["region"] = "us-east-1"
            self.add(f"connector-{n}", source_type, {_CONFIG_KEY[source_type]: config})

    def add(self, name: str, source_type: int, config: dict[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        connector = {
            "id": self._next_id,
            "source_type": source_type,
            "name": name,
            "status": "active",
            "created_at": now,
            "updated_at": now,
            "username": self.state.config.username,
            "related_task_ids": None,
            "config": config,
        }
        self.connectors[self._next_id] = connector
        self.file_counts[self._next_id] = self.state.config.files_per_connector
        self._next_id += 1
        return connector

    def get(self, connector_id: Any) -> dict[str, Any]:
        try:
            key = int(connector_id)
        except (TypeError, ValueError):
            raise invalid(f"connector_id must be an integer, got {connector_id!r}") from None
        if key not in self.connectors:
            raise not_found(f"connector {key} not found")
        return self.connectors[key]

    def file(self, connector_id: int, index: int) -> dict[str, Any]:
        """The index-th file of a connector: deterministic, so nothing is stored."""
        file_type = _FILE_TYPES[(index * 7 + connector_id) % len(_FILE_TYPES)]
        folder = f"data/f{index % _FOLDERS:02d}/"
        name = f"file-{index:07d}.{_EXTENSIONS[file_type]}"
        created = 1739261057 + index
        return {
            "uri": folder + name,
            "filename": name,
            "path": folder + name,
            "size": (index * 2654435761 + connector_id) % 5_000_000 + 1024,
            "type": file_type,
            "create_time": created,
            "update_time": created,
        }

    def file_by_uri(self, connector_id: int, uri: str) -> dict[str, Any] | None:
        """Find a file by its uri without scanning (the index is in the name)."""
        try:
            index = int(uri.rsplit("-", 1)[1].split(".", 1)[0])
        except (IndexError, ValueError):
            return None
        if not 0 <= index < self.file_counts.get(connector_id, 0):
            return None
        found = self.file(connector_id, index)
        return found if found["uri"] == uri else None


def _encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "pos":
            raise ValueError(cursor)
        return int(value)
    except ValueError:
        raise invalid("cursor is not one this service issued") from None


def _validate_config(source_type: int, config: Any) -> dict[str, Any]:
    if source_type not in _REQUIRED:
        raise invalid(f"source_type must be 4 (OSS) or 5 (S3), got {source_type}")
    key = _CONFIG_KEY[source_type]
    if not isinstance(config, dict) or not isinstance(config.get(key), dict):
        raise invalid(f"config.{key} is required for source_type {source_type}")
    inner = config[key]
    for name in _REQUIRED[source_type]:
        if not inner.get(name):
            raise invalid(f"config.{key}.{name} is required")
    return {key: dict(inner)}


#: Where a connector's settings may come: the seed's ``config`` wrapper or, later, top level.
_CONFIG_FIELDS = ("config", "oss", "s3")


def _read_config(params: Params) -> Any:
    # Accept the seed's {"config": {"oss": ...}} and Era C's top-level {"oss": ...}
    # (docs/wire/moi.md#d5).
    config = params.raw("config")
    if config is None:
        config = {key: params.body[key] for key in ("oss", "s3") if key in params.body}
    return config


async def create(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("name", "source_type", *_CONFIG_FIELDS))
    name = params.get_str("name")
    if not name:
        raise invalid("name is required")
    source_type = params.get_int("source_type")
    if source_type is None:
        raise invalid("source_type is required")
    config = _validate_config(source_type, _read_config(params))
    if any(c["name"] == name for c in store.connectors.values()):
        raise MOIError(409, "ErrConflict", f"a connector named {name!r} already exists")
    store.add(name, source_type, config)
    return moi_ok()  # the real service returns no id (docs/wire/moi.md#d6)


async def validate(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("source_type", "connector_id", *_CONFIG_FIELDS))
    source_type = params.get_int("source_type")
    if params.has("connector_id"):
        config = store.get(params.raw("connector_id"))["config"]
    else:
        config = _read_config(params)
    try:
        _validate_config(source_type or 0, config)
        inner = next(iter(config.values()))
        valid = not str(inner.get("endpoint", "")).startswith("invalid")
    except MOIError:
        valid = False
    return moi_ok({"valid": valid})


async def list_connectors(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("page", "page_size", "keyword", "order_by", "is_desc"))
    page = params.get_int("page", 1) or 1
    page_size = params.get_int("page_size", 10) or 10
    if page < 1 or page_size < 1:
        raise invalid("page and page_size must be >= 1")
    keyword = params.get_str("keyword") or ""
    items = [c for c in store.connectors.values() if keyword in c["name"]]
    order_by = params.get_str("order_by") or "created_at"
    if order_by not in ("created_at", "updated_at", "name", "id"):
        raise invalid(f"cannot order by {order_by!r}")
    items.sort(key=lambda c: (c[order_by], c["id"]), reverse=params.get_bool("is_desc"))
    start = (page - 1) * page_size
    return moi_ok({"connectors": items[start : start + page_size], "total": len(items)})


async def update(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    connector = store.get(request.match_info["connector_id"])
    params = await Params.read(request, ("name", *_CONFIG_FIELDS))
    if params.has("name"):
        name = params.get_str("name")
        if not name:
            raise invalid("name must not be empty")
        connector["name"] = name
    if params.has("config") or params.has("oss") or params.has("s3"):
        connector["config"] = _validate_config(connector["source_type"], _read_config(params))
    connector["updated_at"] = int(time.time())
    return moi_ok()


async def delete(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    connector = store.get(request.match_info["connector_id"])
    del store.connectors[connector["id"]]
    return moi_ok()


async def list_files(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("connector_id", "limit", "cursor", "file_types", "dir"))
    if not params.has("connector_id"):
        raise invalid("connector_id is required")
    connector_id = store.get(params.raw("connector_id"))["id"]
    limit = params.get_int("limit", 10) or 10
    if limit < 1 or limit > 1000:
        raise invalid("limit must be between 1 and 1000")
    cursor = params.get_str("cursor") or ""
    position = _decode_cursor(cursor) if cursor else 0
    wanted = set(params.get_int_list("file_types"))
    directory = params.get_str("dir")
    if directory:
        return moi_ok(_list_directory(store, connector_id, directory, wanted, position, limit))
    total = store.file_counts[connector_id]
    files: list[dict[str, Any]] = []
    while position < total and len(files) < limit:
        candidate = store.file(connector_id, position)
        position += 1
        if not wanted or candidate["type"] in wanted:
            files.append(candidate)
    has_more = position < total
    return moi_ok(
        {
            "files": files,
            "cursor": _encode_cursor(position) if has_more else "",
            "has_more": has_more,
        }
    )


ROUTES = (
    Route("POST", "/connectors", create),
    Route("POST", "/connectors/validate", validate),
    Route("GET", "/connectors/list", list_connectors),
    Route("GET", "/connectors/files/list", list_files),
    Route("PUT", "/connectors/{connector_id}", update),
    Route("DELETE", "/connectors/{connector_id}", delete),
)


def _store(state: EmulatorState) -> ConnectorStore:
    assert state.moi_connectors is not None
    return state.moi_connectors


def setup(app: web.Application, state: EmulatorState) -> ConnectorStore:
    """Make the connector store and serve :data:`ROUTES`."""
    state.moi_connectors = store = ConnectorStore(state)
    add_routes(app, state, ROUTES)
    return store


def _list_directory(
    store: ConnectorStore,
    connector_id: int,
    directory: str,
    wanted: set[int],
    position: int,
    limit: int,
) -> dict[str, Any]:
    """One level under ``directory``: the folders of data/, or the files of one folder, paged
    by the same cursor as the whole listing (a position in the connector's file index)."""
    directory = directory.rstrip("/") + "/"
    if directory == "data/":
        folders = [
            {
                "uri": f"data/f{n:02d}/",
                "filename": f"f{n:02d}",
                "path": f"data/f{n:02d}/",
                "size": 0,
                "type": 10,
                "create_time": 1739261057,
                "update_time": 1739261057,
            }
            for n in range(_FOLDERS)
        ]
        return {"files": folders, "cursor": "", "has_more": False}
    total = store.file_counts[connector_id]
    files: list[dict[str, Any]] = []
    while position < total and len(files) < limit:
        candidate = store.file(connector_id, position)
        position += 1
        if candidate["uri"].startswith(directory) and (not wanted or candidate["type"] in wanted):
            files.append(candidate)
    has_more = position < total
    return {
        "files": files,
        "cursor": _encode_cursor(position) if has_more else "",
        "has_more": has_more,
    }
