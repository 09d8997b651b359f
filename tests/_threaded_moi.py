"""A MOI server on its own thread and event loop, for tests that script its answers.

Both async tests and synchronous hypothesis tests talk to it over real sockets. Login and
refresh answer valid tokens; every other request goes to the ``answer`` the subclass gives.
"""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from .wire import jwt

__all__ = ["ThreadedMOI"]


class ThreadedMOI:
    """Start with ``with``; ``url`` is set once it listens."""

    def __init__(self) -> None:
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

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

        async def other(request: web.Request) -> web.StreamResponse:
            await request.read()
            return await self.answer(request)

        app = web.Application()
        app.router.add_post("/auth/login", auth)
        app.router.add_post("/auth/refresh", auth)
        app.router.add_route("*", "/{tail:.*}", other)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def __enter__(self) -> ThreadedMOI:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the threaded server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
