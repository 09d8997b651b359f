"""Route tables: each resource module lists its endpoints as data, and its handlers are plain
functions of ``(state, request)``, so a reader sees every path in one place and a test can call
a handler with a state of its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from aiohttp import web
from attrs import define

if TYPE_CHECKING:
    from ._state import EmulatorState

StateHandler = Callable[["EmulatorState", web.Request], Awaitable[web.StreamResponse]]

__all__ = ["Route", "StateHandler", "add_routes"]


@define(frozen=True)
class Route:
    method: str
    path: str
    handler: StateHandler


def add_routes(app: web.Application, state: EmulatorState, routes: Iterable[Route]) -> None:
    """Register every route of a table, each handler bound to ``state``."""
    for route in routes:
        app.router.add_route(route.method, route.path, _bind(route.handler, state))


def _bind(
    handler: StateHandler, state: EmulatorState
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await handler(state, request)

    handle.__name__ = handle.__qualname__ = getattr(handler, "__name__", "handler")
    return handle
