"""MOI data-explore volumes (docs/wire/moi.md#volumes).

Raw volumes live on the Go service (RPC-style POSTs, ``"code":"OK"``, Go-style errors) and are
the shared :class:`~._state.RawVolumeStore` that load tasks write into. A file's download link
is a presigned link on the blob port (another origin), whose bytes are generated and streamed.

Processed volumes live on BYOA (``"code":"ok"``, FastAPI errors) in the processing store, where
workflows' jobs put their files and blocks. ``…/raws`` answers a ZIP with a
``Content-Disposition`` filename (docs/wire/moi.md#d13); deleting blocks answers 204
(docs/wire/moi.md#d14).
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from typing import Any
from urllib.parse import quote

from aiohttp import web

from ._blobs import Blob
from ._byoa import (
    body_list,
    body_str,
    byoa_not_found,
    byoa_route,
    missing,
    unprocessable,
)
from ._http import MOIError, Params, byoa_ok, invalid, moi_ok, not_found, refuse_unknown_keys
from ._processing import ProcessingStore
from ._routes import Route, add_routes
from ._state import EmulatorState

_PREFIX = "/byoa/api/v1/explore/volumes"
_LINK_SECONDS = 3600
_FILE_SORTS = ("created_at", "updated_at", "file_name", "file_size", "file_status")


def raw_volume_or_404(state: EmulatorState, params: Params, *names: str) -> dict[str, Any]:
    raw = state.raw_volumes
    for name in names:
        if params.has(name):
            volume_id = params.get_str(name) or ""
            volume = raw.volumes.get(volume_id)
            if volume is None:
                raise not_found(f"volume {volume_id} not found")
            return volume
    raise invalid(f"{names[0]} is required")


async def raw_create(state: EmulatorState, request: web.Request) -> web.Response:
    raw = state.raw_volumes
    params = await Params.read(request, ("name",))
    name = params.get_str("name")
    if not name:
        raise invalid("name is required")
    if raw.by_name(name) is not None:
        raise MOIError(409, "ErrConflict", f"a volume named {name!r} already exists")
    raw.create(name)
    return moi_ok()  # no id (docs/wire/moi.md#d6)


async def raw_list_volumes(state: EmulatorState, request: web.Request) -> web.Response:
    raw = state.raw_volumes
    await Params.read(request, ())
    volumes = list(raw.volumes.values())
    return moi_ok({"total": len(volumes), "volumes": volumes})


async def raw_describe(state: EmulatorState, request: web.Request) -> web.Response:
    raw = state.raw_volumes
    params = await Params.read(request, ("id", "volume_id"))
    # The docs send "id"; the sibling calls say "volume_id": take either (docs/wire/moi.md#d26).
    volume = raw_volume_or_404(state, params, "id", "volume_id")
    files = list(raw.files[volume["id"]].values())
    return moi_ok({"total": len(files), "items": files})


async def raw_file_link(state: EmulatorState, request: web.Request) -> web.Response:
    raw = state.raw_volumes
    params = await Params.read(request, ("file_id", "volume_id"))
    file_id = params.get_str("file_id")
    if not file_id:
        raise invalid("file_id is required")
    if params.has("volume_id"):
        volumes = [raw_volume_or_404(state, params, "volume_id")]
    else:  # LS needs only file_id
        volumes = list(raw.volumes.values())
    for volume in volumes:
        file = raw.files[volume["id"]].get(file_id)
        if file is not None:
            break
    else:
        raise not_found(f"file {file_id} not found")
    key = f"raw/{volume['id']}/{file_id}"
    if key not in state.blobs.blobs:
        state.blobs.put(key, Blob(file.get("name", file_id), int(file.get("size", 0))))
    link, _ = state.blobs.presign(key, _LINK_SECONDS)
    return moi_ok({"link": link})


async def raw_delete_files(state: EmulatorState, request: web.Request) -> web.Response:
    raw = state.raw_volumes
    params = await Params.read(request, ("volume_id", "file_ids"))
    volume = raw_volume_or_404(state, params, "volume_id")
    if not params.has("file_ids"):
        raise invalid("file_ids is required")
    file_ids = params.get_str_list("file_ids")
    removed = [f for f in file_ids if raw.remove_file(volume["id"], f)]
    for file_id in removed:
        state.blobs.blobs.pop(f"raw/{volume['id']}/{file_id}", None)
    if file_ids and not removed:
        raise not_found("none of the files exist")
    return moi_ok({})


def _paging(params: Params) -> tuple[int, int]:
    """Body ``offset``/``limit`` (defaults 0 and 30, docs/wire/moi.md#d7)."""
    offset = params.get_int("offset", 0)
    limit = params.get_int("limit", 30)
    assert offset is not None and limit is not None
    if offset < 0:
        raise unprocessable(["body", "offset"], "Input should be greater than or equal to 0")
    if limit < 1:
        raise unprocessable(["body", "limit"], "Input should be greater than or equal to 1")
    return offset, limit


def _object(params: Params, name: str, known: tuple[str, ...]) -> dict[str, Any]:
    """A body object whose keys are all in ``known`` (refused by name otherwise, when strict)."""
    value = params.raw(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise unprocessable(["body", name], "Input should be a valid dictionary")
    refuse_unknown_keys(value, name, known)
    return value


def _ints(source: dict[str, Any], key: str, where: str) -> set[int] | None:
    value = source.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise unprocessable(["body", where, key], "Input should be a list of integers")
    return set(value)


def volume_or_404(store: ProcessingStore, volume_id: str) -> dict[str, Any]:
    volume = store.volumes.get(volume_id)
    if volume is None:
        raise byoa_not_found(f"volume {volume_id} not found")
    return volume


def file_or_404(store: ProcessingStore, request: web.Request) -> dict[str, Any]:
    volume = volume_or_404(store, request.match_info["volume_id"])
    record = store.files.get(request.match_info["file_id"])
    if record is None or record["deleted"] or record["target_volume_id"] != volume["id"]:
        raise byoa_not_found(f"file {request.match_info['file_id']} not found")
    return record


@byoa_route
async def create(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("name", "parent_volume_id"))
    name = body_str(params, "name")
    if not name:
        raise unprocessable(["body", "name"], "String should have at least 1 character")
    parent = body_str(params, "parent_volume_id", default="")
    if parent:
        volume_or_404(store, parent)
    volume = store.add_volume(name, parent)
    return byoa_ok({key: volume[key] for key in ("id", "name", "created_at", "updated_at")})


@byoa_route
async def list_volumes(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("workflow_using",))
    volumes = list(store.volumes.values())
    if params.get_bool("workflow_using"):
        used = {w["target_volume_id"] for w in store.workflows.values()}
        volumes = [v for v in volumes if v["id"] in used]
    return byoa_ok({"total": len(volumes), "volumes": volumes})


@byoa_route
async def children(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    volume = volume_or_404(store, request.match_info["volume_id"])
    volumes = [v for v in store.volumes.values() if v["parent_volume_id"] == volume["id"]]
    return byoa_ok({"total": len(volumes), "volumes": volumes})


@byoa_route
async def delete_volume(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    store.advance()
    volume = volume_or_404(store, request.match_info["volume_id"])
    store.delete_volume(volume["id"])
    return byoa_ok(None)


@byoa_route
async def list_files(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("offset", "limit", "filters", "sorter"))
    store.advance()
    volume = volume_or_404(store, request.match_info["volume_id"])
    offset, limit = _paging(params)
    filters = _object(params, "filters", ("types", "status", "exclude_status"))
    sorter = _object(params, "sorter", ("sort_by", "is_desc"))
    types = _ints(filters, "types", "filters")
    status = _ints(filters, "status", "filters")
    exclude = _ints(filters, "exclude_status", "filters") or set()
    records = [
        r
        for r in store.volume_files(volume["id"])
        if (types is None or r["file_type"] in types)
        and (status is None or r["status"] in status)
        and r["status"] not in exclude
    ]
    sort_by = sorter.get("sort_by") or "created_at"
    if sort_by not in _FILE_SORTS:
        raise unprocessable(["body", "sorter", "sort_by"], f"cannot sort by {sort_by!r}")
    descending = sorter.get("is_desc", True) is not False
    field = {"created_at": "created", "updated_at": "updated", "file_status": "status"}.get(
        sort_by, sort_by
    )
    # Ties broken by creation order, so offset paging is stable.
    records.sort(key=lambda r: (r[field], r["seq"]), reverse=descending)
    page = records[offset : offset + limit]
    items = [store.render_volume_file(r) for r in page]
    return byoa_ok({"total": len(records), "items": items})


@byoa_route
async def delete_file(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    store.advance()
    record = file_or_404(store, request)
    store.remove_file(record["id"])
    return byoa_ok(None)


@byoa_route
async def raws(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    store.advance()
    record = file_or_404(store, request)
    blocks = store.file_blocks(record["id"])
    stem = record["file_name"].rsplit(".", 1)[0] or record["id"]
    folder = f"{stem}-{record['id']}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        parse = {"file_id": record["id"], "file_name": record["file_name"], "blocks": blocks}
        archive.writestr(f"{folder}/{stem}_parse.json", json.dumps(parse, ensure_ascii=False))
        archive.writestr(f"{folder}/{stem}.md", "\n\n".join(b["content"] for b in blocks))
    name = f"{folder}.zip"
    return web.Response(
        body=buffer.getvalue(),
        content_type="application/zip",
        headers={
            # An ASCII fallback and the UTF-8 name (file names are often Chinese).
            "Content-Disposition": f'attachment; filename="{record["id"]}.zip"; '
            f"filename*=UTF-8''{quote(name)}",
        },
    )


@byoa_route
async def list_blocks(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("offset", "limit", "filters"))
    store.advance()
    record = file_or_404(store, request)
    offset, limit = _paging(params)
    filters = _object(params, "filters", ("types", "search_content", "block_ids"))
    blocks = store.file_blocks(record["id"])
    kinds = filters.get("types")
    if kinds:
        blocks = [b for b in blocks if b["content_type"] in kinds]
    search = filters.get("search_content")
    if search:
        blocks = [b for b in blocks if search in b["content"]]
    ids = filters.get("block_ids")
    if ids:
        blocks = [b for b in blocks if b["id"] in ids]
    return byoa_ok({"total": len(blocks), "items": blocks[offset : offset + limit]})


@byoa_route
async def delete_blocks(state: EmulatorState, request: web.Request) -> web.StreamResponse:
    store = _store(state)
    params = await Params.read(request, ("ids",))
    store.advance()
    record = file_or_404(store, request)
    if not params.has("ids"):
        raise missing("body", "ids")
    ids = body_list(params, "ids", str)
    blocks = store.blocks.get(record["id"], {})
    for block_id in ids:
        blocks.pop(block_id, None)  # already gone is fine: deleting is repeatable
    return web.Response(status=204, headers={"X-Request-Id": str(uuid.uuid4())})


def _store(state: EmulatorState) -> ProcessingStore:
    assert state.processing is not None
    return state.processing


#: The Go service's raw ("origin") volume RPCs, and BYOA's processed volumes.
ROUTES = (
    Route("POST", "/CreateOriginVolume", raw_create),
    Route("POST", "/DescribeOriginVolumes", raw_list_volumes),
    Route("POST", "/DescribeOriginVolume", raw_describe),
    Route("POST", "/GetOriginVolumeFileLink", raw_file_link),
    Route("POST", "/DeleteOriginVolumeFiles", raw_delete_files),
    Route("POST", _PREFIX, create),
    Route("GET", _PREFIX, list_volumes),
    Route("GET", _PREFIX + "/{volume_id}", children),
    Route("DELETE", _PREFIX + "/{volume_id}", delete_volume),
    Route("POST", _PREFIX + "/{volume_id}/files", list_files),
    Route("DELETE", _PREFIX + "/{volume_id}/files/{file_id}", delete_file),
    Route("GET", _PREFIX + "/{volume_id}/files/{file_id}/raws", raws),
    Route("POST", _PREFIX + "/{volume_id}/files/{file_id}/blocks", list_blocks),
    Route("DELETE", _PREFIX + "/{volume_id}/files/{file_id}/blocks", delete_blocks),
)


def setup(app: web.Application, state: EmulatorState) -> None:
    add_routes(app, state, ROUTES)
