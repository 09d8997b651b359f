"""MAXIR AI / Powerdrill Open API v2: datasets, data sources, file upload
(docs/wire/maxir.md#endpoints).

Served under ``/v2/team`` as a sub-application with its own middleware, so MAXIR's conventions
never leak into MOI's routes:

* the project API key in ``x-pd-api-key`` (missing → HTTP 403 / code 1003, unknown → 403 /
  1004, docs/wire/maxir.md#m24); ``user_id`` required on every call (query on GET, JSON body or
  form field otherwise, the query also tolerated; missing → 300001 / HTTP 400,
  docs/wire/maxir.md#m6);
* the envelope ``{"code": 0, "data": ...}``, errors ``{"code": <int>, "msg": ...}`` with the
  documented HTTP status per code (docs/wire/maxir.md#m2: 300001 → 400, 300002–300011 → 200, 100x →
  403, 201 → 429, 9999 → 500);
* ``x-pd-trace-id`` on every answer; the caller's ``x-pd-external-trace-id`` (≤ 128
  characters) is logged next to it in :attr:`MaxirStore.traces`, so a test can follow a call
  from the client to the emulator and back.

Data sources move through states over time (docs/wire/maxir.md#m5): a new one reports ``invalid``
for ``maxir_waiting_seconds`` (the enum text's "awaiting processing"; 0 by default, so the
reference's lifecycle applies), then ``synching`` for ``maxir_sync_seconds``, then ``synched``
(or ``invalid`` for a ``maxir_invalid_share`` of them, as for content the service cannot read).
Seeded data sources are a snapshot: their statuses (mostly synched, some synching, some invalid)
never change. Listings are newest first, a stable order (docs/wire/maxir.md#m20). Every data source
has a blob on the emulator's blob host, so presigned links can be downloaded.
"""

from __future__ import annotations

import mimetypes
import string
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import BodyPartReader, web
from attrs import define

from ._blobs import Blob
from ._http import ParamError, Params, json_response
from ._routes import Route, add_routes
from ._state import EmulatorState

__all__ = ["PREFIX", "MaxirError", "MaxirStore", "TraceRecord", "setup"]

PREFIX = "/v2/team"
API_KEY_HEADER = "x-pd-api-key"
TRACE_ID_HEADER = "x-pd-trace-id"
EXTERNAL_TRACE_ID_HEADER = "x-pd-external-trace-id"

_EXTENSIONS = (
    "csv",
    "tsv",
    "md",
    "mdx",
    "json",
    "txt",
    "pdf",
    "pptx",
    "ppt",
    "doc",
    "docx",
    "xls",
    "xlsx",
)
_STATUSES = ("synching", "synched", "invalid")
_NAME_LIMIT = 128
# MAXIR's limit (docs/wire/maxir.md#limits); longer values are truncated, not rejected
_DESCRIPTION_LIMIT = 5000
_SEARCH_LIMIT = 128
_TRACE_LIMIT = 128
_ID_ALPHABET = string.ascii_lowercase + string.digits

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class MaxirError(Exception):
    """Raised inside a MAXIR handler; the sub-application's middleware answers with it."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg

    @property
    def status(self) -> int:
        """The HTTP status the docs give this code (docs/wire/maxir.md#m2)."""
        if self.code == 300001 or 210000 <= self.code < 220000:
            return 400
        if self.code in (1002, 1003, 1004):
            return 403
        if self.code == 201:
            return 429
        if self.code == 9999:
            return 500
        return 200


def invalid_params(detail: str) -> MaxirError:
    return MaxirError(300001, f"Invalid parameters {detail}")


def no_permission(detail: str) -> MaxirError:
    return MaxirError(300002, f"No permissions {detail}")


def not_found(resource: str) -> MaxirError:
    return MaxirError(300003, f"{resource} not found")


@define
class TraceRecord:
    """One MAXIR request as the emulator answered it (no credentials recorded)."""

    trace_id: str
    external_trace_id: str | None
    method: str
    path: str
    code: int


def _ok(data: Any) -> web.Response:
    return json_response({"code": 0, "data": data})


def _iso_millis(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _extension(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return extension.lower() if dot and stem else ""


class MaxirStore:
    """Datasets, data sources and uploads of one emulated project."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        config = state.config
        self.api_key = config.maxir_api_key
        self.users = {config.maxir_user_id, *config.maxir_other_user_ids}
        #: id -> dataset; insertion order is creation order.
        self.datasets: dict[str, dict[str, Any]] = {}
        #: dataset id -> data source id -> data source; insertion order is creation order.
        self.sources: dict[str, dict[str, dict[str, Any]]] = {}
        #: file_object_key -> {"name", "data", "user_id"}
        self.uploads: dict[str, dict[str, Any]] = {}
        #: Recent requests with their trace ids, oldest first.
        self.traces: deque[TraceRecord] = deque(maxlen=config.request_log_size)
        self._serial = 0
        self._seed()

    # -- ids and records ----------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        # cuid-like, as in the examples (``dset-cm...``, ``ds-cm...``); unique by the serial,
        # repeatable by the seed.
        self._serial += 1
        bits = self.state.rng.getrandbits(64)
        tail = ""
        for _ in range(12):
            bits, digit = divmod(bits, 36)
            tail += _ID_ALPHABET[digit]
        return f"{prefix}-cm{self._serial:08d}{tail}"

    def add_dataset(self, name: str, description: str, owner: str) -> dict[str, Any]:
        dataset = {
            "id": self.new_id("dset"),
            "name": name[:_NAME_LIMIT],
            "description": description[:_DESCRIPTION_LIMIT],
            "owner": owner,
        }
        self.datasets[dataset["id"]] = dataset
        self.sources[dataset["id"]] = {}
        return dataset

    def add_source(
        self,
        dataset_id: str,
        name: str,
        *,
        size: int,
        data: bytes | None = None,
        from_url: bool = False,
        fixed_status: str | None = None,
    ) -> dict[str, Any]:
        config = self.state.config
        source_id = self.new_id("ds")
        blob_key = f"maxir/{dataset_id}/{source_id}/{name}"
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.state.blobs.put(blob_key, Blob(name, size, content_type, data))
        source = {
            "id": source_id,
            "dataset_id": dataset_id,
            "name": name,
            "size": size,
            "from_url": from_url,
            "created": time.monotonic(),
            "fixed_status": fixed_status,
            "doomed": self.state.rng.random() < config.maxir_invalid_share,
            "blob_key": blob_key,
        }
        self.sources[dataset_id][source_id] = source
        return source

    def status_of(self, source: dict[str, Any]) -> str:
        if source["fixed_status"] is not None:
            return str(source["fixed_status"])
        config = self.state.config
        elapsed = time.monotonic() - source["created"]
        if elapsed < config.maxir_waiting_seconds:
            return "invalid"  # "awaiting processing" (the enum text's meaning)
        if elapsed < config.maxir_waiting_seconds + config.maxir_sync_seconds:
            return "synching"
        return "invalid" if source["doomed"] else "synched"

    def dto(self, source: dict[str, Any], status: str | None = None) -> dict[str, Any]:
        """The wire shape (DatasourceDTO, with Powerdrill's ``size``)."""
        status = status or self.status_of(source)
        # A URL's size is known once the service has fetched it.
        known = not source["from_url"] or status == "synched"
        return {
            "id": source["id"],
            "dataset_id": source["dataset_id"],
            "name": source["name"],
            "type": "FILE",
            "status": status,
            "size": source["size"] if known else None,
        }

    def remove_source(self, dataset_id: str, source_id: str) -> None:
        source = self.sources[dataset_id].pop(source_id)
        self.state.blobs.blobs.pop(source["blob_key"], None)

    def remove_dataset(self, dataset_id: str) -> None:
        for source_id in list(self.sources[dataset_id]):
            self.remove_source(dataset_id, source_id)
        del self.sources[dataset_id]
        del self.datasets[dataset_id]

    # -- lookups that answer the documented errors -------------------------------------------

    def dataset(self, dataset_id: str) -> dict[str, Any]:
        dataset = self.datasets.get(dataset_id)
        if dataset is None:
            raise not_found("dataset")
        return dataset

    def owned_dataset(self, dataset_id: str, user_id: str) -> dict[str, Any]:
        dataset = self.dataset(dataset_id)
        if dataset["owner"] != user_id:
            raise no_permission("only the dataset's creator may change it")
        return dataset

    def source(self, dataset_id: str, source_id: str) -> dict[str, Any]:
        self.dataset(dataset_id)
        source = self.sources[dataset_id].get(source_id)
        if source is None:
            raise not_found("datasource")
        return source

    def _seed(self) -> None:
        config = self.state.config
        for d in range(config.maxir_datasets):
            dataset = self.add_dataset(
                f"dataset-{d}", f"Seeded dataset {d} of the emulator", config.maxir_user_id
            )
            for i in range(config.maxir_datasources_per_dataset):
                if i % 20 == 7:
                    status = "invalid"
                elif i % 10 == 3:
                    status = "synching"
                else:
                    status = "synched"
                extension = _EXTENSIONS[i % len(_EXTENSIONS)]
                self.add_source(
                    dataset["id"],
                    f"source-{i:05d}.{extension}",
                    size=(i * 2654435761 + d) % 200_000 + 512,
                    fixed_status=status,
                )


# -- request parsing ----------------------------------------------------------------------------


def _user(store: MaxirStore, params: Params) -> str:
    user_id = params.get_str("user_id")
    if not user_id:
        raise invalid_params("user_id is required")
    if user_id not in store.users:
        raise no_permission(f"user {user_id} is not a member of this team")
    return user_id


def _page(params: Params, max_page_size: int | None) -> tuple[int, int]:
    number = params.get_int("page_number", 1)
    size = params.get_int("page_size", 10)
    assert number is not None and size is not None
    if number < 1:
        raise invalid_params("page_number must be >= 1")
    if size < 1:
        raise invalid_params("page_size must be >= 1")
    if max_page_size is not None:
        size = min(size, max_page_size)  # an undocumented cap, applied silently and echoed
    return number, size


def _paged(records: list[Any], number: int, size: int) -> dict[str, Any]:
    start = (number - 1) * size
    return {
        "total_items": len(records),
        "page_size": size,
        "page_number": number,
        "records": records[start : start + size],
    }


def _text(params: Params, name: str) -> str | None:
    value = params.raw(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_params(f"{name} must be a string")
    return value


_SOURCE_FIELDS = ("user_id", "name", "type", "url", "file_object_key")


def _source_name(params: Params) -> str:
    name = _text(params, "name")
    if not name or not name.strip():
        raise invalid_params("name is required")
    name = name[:_NAME_LIMIT]  # truncated, not rejected (docs/wire/maxir.md#m16)
    if _extension(name) not in _EXTENSIONS:
        raise MaxirError(300004, "Invalid file extension")
    return name


# -- routes -------------------------------------------------------------------------------------


# -- datasets ---------------------------------------------------------------------------


async def create_dataset(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("user_id", "name", "description"))
    user_id = _user(store, params)
    name = _text(params, "name")
    if not name or not name.strip():
        raise invalid_params("name is required")
    dataset = store.add_dataset(name, _text(params, "description") or "", user_id)
    return _ok({"id": dataset["id"]})


async def list_datasets(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("user_id", "page_number", "page_size", "search"))
    _user(store, params)
    number, size = _page(params, state.config.maxir_max_page_size)
    search = params.get_str("search") or ""
    if len(search) > _SEARCH_LIMIT:
        raise invalid_params(f"search must be at most {_SEARCH_LIMIT} characters")
    needle = search.lower()
    records = [
        {"id": d["id"], "name": d["name"], "description": d["description"]}
        for d in reversed(store.datasets.values())
        if needle in d["name"].lower() or needle in d["description"].lower()
    ]
    return _ok(_paged(records, number, size))


async def update_dataset(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("user_id", "name", "description"))
    user_id = _user(store, params)
    dataset = store.owned_dataset(request.match_info["dataset_id"], user_id)
    name, description = _text(params, "name"), _text(params, "description")
    if not (name and name.strip()) and not (description and description.strip()):
        raise invalid_params("name or description is required")
    if name and name.strip():
        dataset["name"] = name[:_NAME_LIMIT]
    if description is not None:
        dataset["description"] = description[:_DESCRIPTION_LIMIT]
    return _ok({})


async def delete_dataset(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("user_id",))
    user_id = _user(store, params)
    dataset = store.owned_dataset(request.match_info["dataset_id"], user_id)
    store.remove_dataset(dataset["id"])
    return _ok({})


async def overview(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("user_id",))
    _user(store, params)
    dataset = store.dataset(request.match_info["dataset_id"])
    names = [s["name"] for s in store.sources[dataset["id"]].values()]
    return _ok(
        {
            "id": dataset["id"],
            "name": dataset["name"],
            "description": dataset["description"],
            "summary": f"{dataset['name']} holds {len(names)} files.",
            "exploration_questions": [
                f"What are the main trends in {dataset['name']}?",
                "Which files contribute most to the totals?",
            ],
            "keywords": sorted({_extension(n) for n in names})[:5],
        }
    )


async def dataset_status(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("user_id",))
    _user(store, params)
    dataset = store.dataset(request.match_info["dataset_id"])
    counts = dict.fromkeys(_STATUSES, 0)
    for source in store.sources[dataset["id"]].values():
        counts[store.status_of(source)] += 1
    return _ok(
        {
            "synched_count": counts["synched"],
            "invalid_count": counts["invalid"],
            "synching_count": counts["synching"],
        }
    )


# -- data sources -------------------------------------------------------------------------


def new_source(store: MaxirStore, params: Params, dataset_id: str, name: str) -> dict[str, Any]:
    kind = params.get_str("type")
    if kind != "FILE":
        raise invalid_params("type must be FILE")
    url, key = _text(params, "url"), _text(params, "file_object_key")
    if (url is None) == (key is None):
        raise invalid_params("exactly one of url and file_object_key is required")
    if url is not None:
        if not url.lower().startswith(("http://", "https://")):
            raise invalid_params("url must be an http(s) URL")
        # The emulator cannot fetch the URL: its content is generated, sized by the URL.
        size = sum(url.encode()) * 37 % 500_000 + 1024
        return store.add_source(dataset_id, name, size=size, from_url=True)
    assert key is not None
    upload = store.uploads.get(key)
    if upload is None:
        raise invalid_params("file_object_key does not name an uploaded file")
    data: bytes = upload["data"]
    return store.add_source(dataset_id, name, size=len(data), data=data)


async def create_source(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, _SOURCE_FIELDS)
    user_id = _user(store, params)
    dataset = store.owned_dataset(request.match_info["dataset_id"], user_id)
    name = _source_name(params)
    return _ok(store.dto(new_source(store, params, dataset["id"], name)))


async def create_standalone_source(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, _SOURCE_FIELDS)
    user_id = _user(store, params)
    name = _source_name(params)
    # Check the body before making the dataset, so a bad request leaves nothing behind.
    probe = _text(params, "url"), _text(params, "file_object_key")
    if (probe[0] is None) == (probe[1] is None):
        raise invalid_params("exactly one of url and file_object_key is required")
    dataset = store.add_dataset(name.rpartition(".")[0], "", user_id)
    try:
        source = new_source(store, params, dataset["id"], name)
    except MaxirError:
        store.remove_dataset(dataset["id"])
        raise
    return _ok(store.dto(source))


async def list_sources(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("user_id", "page_number", "page_size", "status"))
    _user(store, params)
    dataset = store.dataset(request.match_info["dataset_id"])
    number, size = _page(params, state.config.maxir_max_page_size)
    wanted: set[str] = set()
    for item in params.get_str_list("status"):
        for value in item.split(","):
            if value.strip() not in _STATUSES:
                raise invalid_params(f"status {value!r} is not one of {', '.join(_STATUSES)}")
            wanted.add(value.strip())
    # Each status is computed once, so a record never shows another state than the one it
    # was filtered by; only the page's records are rendered (5,000 sources page cheaply).
    sources: list[tuple[dict[str, Any], str | None]] = [
        (s, None) for s in reversed(store.sources[dataset["id"]].values())
    ]
    if wanted:
        sources = [(s, status) for s, _ in sources if (status := store.status_of(s)) in wanted]
    page = _paged(sources, number, size)
    page["records"] = [store.dto(s, status) for s, status in page["records"]]
    return _ok(page)


async def get_source(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("user_id",))
    _user(store, params)
    info = request.match_info
    return _ok(store.dto(store.source(info["dataset_id"], info["datasource_id"])))


async def delete_source(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("user_id",))
    user_id = _user(store, params)
    info = request.match_info
    source = store.source(info["dataset_id"], info["datasource_id"])
    store.owned_dataset(info["dataset_id"], user_id)
    store.remove_source(source["dataset_id"], source["id"])
    return _ok({})


async def presign(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    params = await Params.read(request, ("user_id", "expires_in"))
    _user(store, params)
    expires_in = params.get_int("expires_in", 600)
    assert expires_in is not None
    if expires_in < 60:
        raise invalid_params("expires_in must be at least 60")
    info = request.match_info
    source = store.source(info["dataset_id"], info["datasource_id"])
    url, expires = store.state.blobs.presign(source["blob_key"], expires_in)
    return _ok({"presigned_url": url, "expires_at": _iso_millis(expires)})


async def upload(state: EmulatorState, request: web.Request) -> web.Response:
    store = _store(state)
    if not request.content_type.startswith("multipart/"):
        raise invalid_params("the body must be multipart/form-data")
    fields: dict[str, str] = {}
    filename: str | None = None
    content: bytes | None = None
    part_type: str | None = None
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            raise invalid_params("nested multipart bodies are not supported")
        if part.name == "file":
            filename = part.filename
            part_type = part.headers.get("Content-Type")
            content = bytes(await part.read())
        elif part.name:
            fields[part.name] = await part.text()
    user_id = fields.get("user_id")
    if not user_id:
        user_id = request.query.get("user_id")  # tolerated, as on the JSON endpoints
    if not user_id:
        raise invalid_params("user_id is required")
    if user_id not in store.users:
        raise no_permission(f"user {user_id} is not a member of this team")
    if content is None or not filename:
        raise invalid_params("file is required")
    extension = _extension(filename)
    if extension not in _EXTENSIONS:
        raise MaxirError(300004, "Invalid file extension")
    if not content:
        raise MaxirError(300005, "Empty file")
    key = f"temp/user/{user_id}/{uuid.uuid4()}.{extension}"
    # The part's content type is kept so tests can see what a client sent.
    store.uploads[key] = {
        "name": filename,
        "data": content,
        "user_id": user_id,
        "content_type": part_type,
    }
    return _ok({"file_object_key": key})


def _store(state: EmulatorState) -> MaxirStore:
    assert state.maxir is not None
    return state.maxir


#: Relative to ``/v2/team``.
ROUTES = (
    Route("POST", "/datasets", create_dataset),
    Route("GET", "/datasets", list_datasets),
    Route("POST", "/datasets/{dataset_id}", update_dataset),
    Route("DELETE", "/datasets/{dataset_id}", delete_dataset),
    Route("GET", "/datasets/{dataset_id}/overview", overview),
    Route("GET", "/datasets/{dataset_id}/status", dataset_status),
    Route("POST", "/datasets/{dataset_id}/datasources", create_source),
    Route("GET", "/datasets/{dataset_id}/datasources", list_sources),
    Route("GET", "/datasets/{dataset_id}/datasources/{datasource_id}", get_source),
    Route("DELETE", "/datasets/{dataset_id}/datasources/{datasource_id}", delete_source),
    Route("POST", "/datasets/{dataset_id}/datasources/{datasource_id}/presign", presign),
    Route("POST", "/datasources", create_standalone_source),
    Route("POST", "/file/upload-datasource", upload),
)


def setup(app: web.Application, state: EmulatorState) -> MaxirStore:
    """Mount the MAXIR API under ``/v2/team`` on ``app``; return its store."""
    state.maxir = store = MaxirStore(state)

    @web.middleware
    async def envelope(request: web.Request, handler: Handler) -> web.StreamResponse:
        trace_id = uuid.uuid4().hex
        external = request.headers.get(EXTERNAL_TRACE_ID_HEADER)
        code = 0
        try:
            key = request.headers.get(API_KEY_HEADER)
            if not key:
                raise MaxirError(1003, "insufficient.authentication")
            if key != store.api_key:
                raise MaxirError(1004, "Bad credentials")
            if external is not None and len(external) > _TRACE_LIMIT:
                raise invalid_params(
                    f"{EXTERNAL_TRACE_ID_HEADER} must be at most {_TRACE_LIMIT} characters"
                )
            response = await handler(request)
        except MaxirError as error:
            code = error.code
            response = json_response({"code": error.code, "msg": error.msg}, status=error.status)
        except ParamError as error:
            code = 300001
            response = json_response(
                {"code": code, "msg": f"Invalid parameters {error.msg}"}, status=400
            )
        except web.HTTPException:
            raise
        except Exception as exc:  # an emulator bug: answer as the service's 9999 would
            code = 9999
            response = json_response(
                {"code": code, "msg": f"Internal server error ({type(exc).__name__}: {exc})"},
                status=500,
            )
        response.headers[TRACE_ID_HEADER] = trace_id
        store.traces.append(TraceRecord(trace_id, external, request.method, request.path, code))
        return response

    sub = web.Application(middlewares=[envelope], client_max_size=64 * 2**20)
    add_routes(sub, state, ROUTES)
    app.add_subapp(PREFIX, sub)
    return store
