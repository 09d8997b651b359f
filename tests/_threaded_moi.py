"""A MOI server on its own thread and event loop, for tests that script its answers.

Both async tests and synchronous hypothesis tests talk to it over real sockets. Login and
refresh answer valid tokens; every other request goes to the ``answer`` the subclass gives.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import AsyncExitStack

from aiohttp import web

from ._serve import serving
from .wire import jwt

__all__ = ["ThreadedMOI"]


class ThreadedMOI:
    """Start with ``with``; ``url`` is set once it listens."""

    def __init__(self) -> None:
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stack = AsyncExitStack()

    async def answer(self, request: web.Request) -> web.StreamResponse:
        """Every request but login and refresh (its body already read)."""
        raise NotImplementedError

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()

    async def _start(self) -> None:
        async def auth(request: web.Request) -> web.Response:
            await request.read()
            return web.json_response(
                {"code": "OK", "msg": "OK", "data": {"uid": "uid-1"}},
                headers={"Access-Token": jwt(), "Refresh-Token": jwt(lifetime=21600)},
            )

        async def route(request: web.Request) -> web.StreamResponse:
            await request.read()
            if request.method == "POST" and request.path in ("/auth/login", "/auth/refresh"):
                return await auth(request)
            return await self.answer(request)

        self.url = await self._stack.enter_async_context(serving(route))

    def __enter__(self) -> ThreadedMOI:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the threaded server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stack.aclose(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
