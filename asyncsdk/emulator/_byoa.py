"""Wire conventions of the BYOA (FastAPI) service, shared by its route modules.

Success is ``{"code": "ok", "msg": "ok", "data": ...}`` (see ``_http.byoa_ok``); errors are
FastAPI's: ``422 {"detail": [{"loc", "msg", "type"}]}`` for validation, ``{"detail": "..."}``
with the status for the rest (docs/wire/moi.md#byoa-envelope). Every business route requires the
``user-id`` header (FastAPI answers 422 without it).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec

from aiohttp import web

from ._http import MOIError, ParamError, Params, json_response

P = ParamSpec("P")


class ByoaError(Exception):
    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail


def unprocessable(loc: list[str | int], msg: str, kind: str = "value_error") -> ByoaError:
    return ByoaError(422, [{"loc": loc, "msg": msg, "type": kind}])


def missing(where: str, name: str) -> ByoaError:
    return unprocessable([where, name], "Field required", "missing")


def byoa_not_found(msg: str) -> ByoaError:
    return ByoaError(404, msg)


def _value_error(msg: str) -> web.Response:
    return json_response(
        {"detail": [{"loc": ["body"], "msg": msg, "type": "value_error"}]}, status=422
    )


def byoa_route(
    handler: Callable[P, Awaitable[web.StreamResponse]],
) -> Callable[P, Awaitable[web.StreamResponse]]:
    """Wrap a BYOA handler (its last argument the request): check ``user-id`` (a caller with an
    API key has none: the gateway vouches for it), and answer errors the way FastAPI does."""

    @functools.wraps(handler)
    async def wrapped(*args: P.args, **kwargs: P.kwargs) -> web.StreamResponse:
        request = args[-1]
        assert isinstance(request, web.Request)
        try:
            if not request.headers.get("user-id") and not request.headers.get("moi-key"):
                raise missing("header", "user-id")
            return await handler(*args, **kwargs)
        except ByoaError as error:
            return json_response({"detail": error.detail}, status=error.status)
        except ParamError as error:
            if error.unknown:
                return json_response({"detail": error.msg}, status=400)
            return _value_error(error.msg)
        except MOIError as error:
            # Volume routes share checks with the Go service: say them FastAPI's way.
            if error.status == 400:
                return _value_error(error.msg)
            return json_response({"detail": error.msg}, status=error.status)

    return wrapped


def required(params: Params, name: str) -> Any:
    if not params.has(name):
        raise missing("body", name)
    return params.raw(name)


def body_str(params: Params, name: str, *, default: str | None = None) -> str:
    if not params.has(name):
        if default is None:
            raise missing("body", name)
        return default
    value = params.raw(name)
    if not isinstance(value, str):
        raise unprocessable(["body", name], "Input should be a valid string", "string_type")
    return value


def body_list(
    params: Params, name: str, item: type, *, default: list[Any] | None = None
) -> list[Any]:
    if not params.has(name):
        if default is None:
            raise missing("body", name)
        return default
    value = params.raw(name)
    if not isinstance(value, list):
        raise unprocessable(["body", name], "Input should be a valid list", "list_type")
    out = []
    for n, element in enumerate(value):
        if item is str and isinstance(element, int) and not isinstance(element, bool):
            element = str(element)  # ids come as strings or numbers (docs/wire/moi.md#d11)
        if not isinstance(element, item) or isinstance(element, bool):
            raise unprocessable(
                ["body", name, n], f"Input should be a valid {item.__name__}", "type_error"
            )
        out.append(element)
    return out


def query_int(params: Params, names: tuple[str, ...], default: int, minimum: int) -> int:
    """An int query parameter under any of ``names`` (aliases, docs/wire/moi.md#d7), at least
    ``minimum``."""
    for name in names:
        if params.has(name):
            value = params.get_int(name, default)
            assert value is not None
            if value < minimum:
                raise unprocessable(
                    ["query", name],
                    f"Input should be greater than or equal to {minimum}",
                    "greater_than_equal",
                )
            return value
    return default
