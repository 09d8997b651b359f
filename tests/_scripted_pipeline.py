"""A scripted server for pipeline tests: each test states every answer, byte for byte.

``scripted(handler)`` serves ``handler`` on a free local port and records what arrives. A
handler that must hang (to hold a connection, or to never answer) awaits ``server.hang()``,
which returns when the test ends, so no handler outlives its test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from aiohttp import web

from asyncsdk._core.auth import ApiKeyAuth
from asyncsdk._core.errors import error_class_for_status
from asyncsdk._core.retry import RetryPolicy
from asyncsdk._core.session import Response, Session, api_error

from ._serve import serving


class Seen:
    """One request as the server received it."""

    def __init__(self, request: web.Request, body: bytes) -> None:
        self.method = request.method
        self.path = request.path
        self.query = dict(request.query)
        self.headers = dict(request.headers)
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class Server:
    def __init__(self) -> None:
        self.url = ""
        self.seen: list[Seen] = []
        self.arrived = asyncio.Event()  # set at each request
        self._stop = asyncio.Event()

    async def hang(self) -> None:
        await self._stop.wait()


Handler = Callable[[web.Request, Server], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def scripted(handler: Handler) -> AsyncIterator[Server]:
    server = Server()

    async def serve(request: web.Request) -> web.StreamResponse:
        server.seen.append(Seen(request, await request.read()))
        server.arrived.set()
        return await handler(request, server)

    async with serving(serve, shutdown_timeout=1) as server.url:
        try:
            yield server
        finally:
            server._stop.set()


def ok(data: Any = None, **headers: str) -> web.Response:
    return web.json_response({"data": data}, headers=headers)


class PlainEnvelope:
    """A minimal service convention: ``{"data": ...}`` on success, the status says the error."""

    def request_id(self, response: Response) -> str | None:
        return response.headers.get("X-Request-Id")

    def unwrap(self, response: Response) -> Any:
        if 200 <= response.status < 300:
            return json.loads(response.body)["data"] if response.body else None
        cls = error_class_for_status(response.status)
        raise api_error(response, cls, "failed", code=None, request_id=self.request_id(response))


class FakeTime:
    """An injected clock: ``sleep`` advances it at once and records the wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def session(
    url: str, *, fake: FakeTime | None = None, retry: RetryPolicy | None = None, **kwargs: Any
) -> Session:
    """A session on ``url`` with a static key (``key: k``) and :class:`PlainEnvelope`."""
    if fake is not None:
        kwargs.update(clock=fake.clock, sleep=fake.sleep)
    auth = ApiKeyAuth("key", "k")
    return Session(url, auth=auth, envelope=PlainEnvelope(), retry=retry, **kwargs)


#: Retries every second, exactly (no jitter): waits are predictable.
EVERY_SECOND = RetryPolicy(max_attempts=10, backoff_base=1, backoff_cap=1, jitter=lambda: 1.0)
