"""The emulator in its own process for the Dask tests, with one addition: a log of every
connector-files listing request (its query: connector, dir, cursor), served as JSON at
``/_emulator/test-listings`` so a test can show which pages were listed, and how often.

Run as ``python -m tests._dask_emulator '<EmulatorConfig fields as JSON>'``; prints
``listening on URL`` and serves until its standard input closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from asyncsdk.emulator import EmulatorConfig, build_app
from asyncsdk.emulator._state import EmulatorState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def serve(fields: dict[str, Any]) -> None:
    state = EmulatorState(EmulatorConfig(**fields))
    app = build_app(state)
    listings: list[dict[str, str]] = []

    @web.middleware
    async def log_listings(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/connectors/files/list":
            listings.append(dict(request.query))
        return await handler(request)

    async def show(request: web.Request) -> web.Response:
        return web.json_response(listings)

    app.middlewares.insert(0, log_listings)
    app.router.add_get("/_emulator/test-listings", show)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    try:
        # Serve until the test closes our standard input (or the process is ended).
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(json.loads(sys.argv[1])))
