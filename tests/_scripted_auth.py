"""A scripted MOI auth server: a tiny aiohttp app whose every answer the test states.

``ScriptedMOI`` answers ``POST /auth/login``, ``POST /auth/refresh`` and
``GET /connectors/list`` with whatever the test put in ``login``, ``refresh`` and ``call``
(each a function of the request returning ``(status, headers, body)``), and records every
request it saw in ``seen``. Nothing is inferred: a test that wants a 401 says so.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from aiohttp import web
from attrs import define, field

from ._serve import serving
from .wire import unsigned_jwt

Answer = tuple[int, dict[str, str], dict[str, Any]]
Handler = Callable[[web.Request], Answer]


def jwt(**claims: Any) -> str:
    """An unsigned JWT-shaped token carrying a uid and exactly ``claims`` (NaN and huge ints
    included)."""
    return unsigned_jwt({"uid": "uid-1", **claims})


def ok(data: Any = None) -> dict[str, Any]:
    return {"code": "OK", "msg": "OK", "data": data}


def refused(message: str) -> Answer:
    return 401, {}, {"code": "ErrUnauthorized", "msg": message}


EMPTY_LIST: Answer = (200, {}, ok({"connectors": [], "total": 0}))


@define
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@define
class ScriptedMOI:
    login: Handler = field(default=lambda request: refused("no login scripted"))
    refresh: Handler = field(default=lambda request: refused("no refresh scripted"))
    call: Handler = field(default=lambda request: EMPTY_LIST)
    seen: list[Seen] = field(factory=list)
    url: str = ""
    _stack: AsyncExitStack = field(factory=AsyncExitStack)

    def count(self, path: str) -> int:
        return sum(1 for s in self.seen if s.path == path)

    async def _handle(self, request: web.Request) -> web.Response:
        self.seen.append(Seen(request.method, request.path, dict(request.headers)))
        handler = {
            ("POST", "/auth/login"): self.login,
            ("POST", "/auth/refresh"): self.refresh,
            ("GET", "/connectors/list"): self.call,
        }.get((request.method, request.path))
        if handler is None:
            return web.json_response({"code": "ErrNotFound", "msg": "no route"}, status=404)
        status, headers, body = handler(request)
        return web.Response(
            status=status,
            headers=headers,
            body=json.dumps(body).encode(),
            content_type="application/json",
        )

    async def __aenter__(self) -> ScriptedMOI:
        self.url = await self._stack.enter_async_context(serving(self._handle))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()
