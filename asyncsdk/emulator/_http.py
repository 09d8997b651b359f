"""Wire helpers shared by the emulator's route modules: envelopes, parameters, errors."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

from aiohttp import web

_MISSING: Any = object()

#: The id of the request being answered: the caller's ``X-Request-ID`` when it sent one (the
#: vendor clients do), else one made up. Set by the emulator's outermost middleware; every
#: answer carries it in ``X-Request-Id`` and MOI's Go-service envelopes in ``request_id``.
REQUEST_ID: ContextVar[str | None] = ContextVar("emulator_request_id", default=None)

#: Whether unknown parameters are refused, for the request being answered (set like REQUEST_ID;
#: a context variable rather than request storage, which aiohttp wants keyed by its own types).
STRICT: ContextVar[bool] = ContextVar("emulator_strict", default=False)

#: The MOI generation being spoken. Only the current one puts ``request_id`` in success
#: envelopes (the vendor's envelope type carries it; the seed's examples do not).
CURRENT_API: ContextVar[bool] = ContextVar("emulator_current_api", default=False)


def request_id() -> str:
    value = REQUEST_ID.get()
    return value if value is not None else str(uuid.uuid4())


class ParamError(Exception):
    """A request parameter is missing, malformed or unknown.

    It belongs to neither service: each service's error middleware words it its own way (MOI's
    Go service as ``ErrInvalidParam``, BYOA as FastAPI does, MAXIR as code 300001).
    """

    def __init__(self, msg: str, *, unknown: bool = False) -> None:
        super().__init__(msg)
        self.msg = msg
        #: True when the parameter is one the route does not know (the emulator's strictness,
        #: answered 400 by every service so that a test sees the name at once).
        self.unknown = unknown


def dumps(value: Any) -> str:
    """Compact JSON, as the services send it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_response(
    body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    out = {"X-Request-Id": request_id()}
    if headers:
        out.update(headers)
    return web.Response(
        text=dumps(body),
        status=status,
        content_type="application/json",
        charset="utf-8",
        headers=out,
    )


def moi_ok(data: Any = _MISSING, *, headers: Mapping[str, str] | None = None) -> web.Response:
    """The Go service's success envelope; ``data`` is left out where the real one omits it."""
    body: dict[str, Any] = {"code": "OK", "msg": "OK"}
    if data is not _MISSING:
        body["data"] = data
    rid = request_id()
    if CURRENT_API.get():
        body["request_id"] = rid
    return json_response(body, headers={"X-Request-Id": rid, **(headers or {})})


def moi_ok_encoded(data_json: str) -> web.Response:
    """``moi_ok`` for data already encoded (cached pages)."""
    rid = request_id()
    tail = ',"request_id":' + dumps(rid) if CURRENT_API.get() else ""
    return web.Response(
        text='{"code":"OK","msg":"OK","data":' + data_json + tail + "}",
        content_type="application/json",
        charset="utf-8",
        headers={"X-Request-Id": rid},
    )


def byoa_ok(data: Any = None) -> web.Response:
    """The BYOA (FastAPI) service's envelope: lower-case ``ok``, ``data: null`` for mutations."""
    return json_response({"code": "ok", "msg": "ok", "data": data})


class MOIError(Exception):
    """Raised inside a MOI handler; the error middleware turns it into the wire error."""

    def __init__(self, status: int, code: str, msg: str) -> None:
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg


def invalid(msg: str) -> MOIError:
    return MOIError(400, "ErrInvalidParam", msg)


def not_found(msg: str) -> MOIError:
    return MOIError(404, "ErrNotFound", msg)


def moi_error_response(error: MOIError) -> web.Response:
    rid = request_id()
    return web.Response(
        text=dumps({"code": error.code, "msg": error.msg, "data": None, "request_id": rid}),
        status=error.status,
        content_type="application/json",
        charset="utf-8",
        headers={"X-Request-Id": rid},
    )


def refuse_unknown_keys(value: Mapping[str, Any], where: str, known: Iterable[str]) -> None:
    """Refuse (when strict) a nested object's key the route does not read, naming its path."""
    unknown = sorted(set(value) - set(known))
    if unknown and STRICT.get():
        raise ParamError(f"unknown body field '{where}.{unknown[0]}'", unknown=True)


class Params:
    """Request parameters from the query string and, for any method, a JSON body.

    MOI documents JSON bodies on some GETs while every client sends query strings
    (docs/wire/moi.md#d3): both are read, and body keys win.
    """

    def __init__(self, query: Mapping[str, list[str]], body: Mapping[str, Any]) -> None:
        self._query = query
        self._body = body

    @classmethod
    async def read(cls, request: web.Request, known: Iterable[str] | None = None) -> Params:
        """The request's parameters. With ``known`` (every name the route reads), a strict
        emulator refuses any other name, so a client's typo fails instead of being ignored."""
        params = await cls._read(request)
        if known is not None and STRICT.get():
            params.refuse_unknown(frozenset(known))
        return params

    def refuse_unknown(self, known: frozenset[str]) -> None:
        for where, names in (("query parameter", self._query), ("body field", self._body)):
            unknown = sorted(name for name in names if name not in known)
            if unknown:
                raise ParamError(
                    f"unknown {where} {unknown[0]!r} (this route reads: "
                    f"{', '.join(sorted(known)) or 'nothing'})",
                    unknown=True,
                )

    @classmethod
    async def _read(cls, request: web.Request) -> Params:
        query: dict[str, list[str]] = {}
        for key, value in request.query.items():
            query.setdefault(key, []).append(value)
        body: Any = {}
        if request.can_read_body:
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise ParamError("request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ParamError("request body must be a JSON object")
        return cls(query, body)

    @property
    def body(self) -> Mapping[str, Any]:
        return self._body

    def has(self, name: str) -> bool:
        return name in self._body or name in self._query

    def raw(self, name: str, default: Any = None) -> Any:
        if name in self._body:
            return self._body[name]
        values = self._query.get(name)
        if not values:
            return default
        return values[0] if len(values) == 1 else values

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.raw(name, default)
        if value is None:
            return None
        if isinstance(value, (dict, list, bool)):
            raise ParamError(f"{name} must be a string")
        return str(value)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.raw(name, None)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise ParamError(f"{name} must be an integer")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ParamError(f"{name} must be an integer, got {value!r}") from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.raw(name, None)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1"):
            return True
        if str(value).lower() in ("false", "0"):
            return False
        raise ParamError(f"{name} must be true or false, got {value!r}")

    def get_int_list(self, name: str) -> list[int]:
        """Repeated keys (``status=1&status=2``), a JSON array, or one comma list."""
        if name in self._body:
            value = self._body[name]
            values = value if isinstance(value, list) else [value]
        else:
            values = []
            for item in self._query.get(name, []):
                values.extend(part for part in item.split(",") if part != "")
        try:
            return [int(v) for v in values]
        except (TypeError, ValueError):
            raise ParamError(f"{name} must be integers") from None

    def get_str_list(self, name: str) -> list[str]:
        if name in self._body:
            value = self._body[name]
            return [str(v) for v in (value if isinstance(value, list) else [value])]
        return list(self._query.get(name, []))
