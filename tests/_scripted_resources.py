"""A scripted server for resource tests: it records every request exactly as it arrived (the raw
path, not one a client library normalised) and answers what the test scripted.

Unscripted routes answer the service's empty success envelope, so a test states only the answers
it reads. MOI's login is answered with short-lived tokens in the response headers, as the service
does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from attrs import define, field

from ._serve import serving
from .wire import jwt


@define
class Seen:
    """One request as the server received it."""

    method: str
    raw_path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any


@define
class Script:
    """The answers (``(method, path) -> (status, json body)``, or a function of the request
    that returns the body) and what was received."""

    empty: dict[str, Any]
    answers: dict[tuple[str, str], tuple[int, Any]] = field(factory=dict)
    seen: list[Seen] = field(factory=list)
    url: str = ""

    def answer(self, method: str, path: str, body: Any, status: int = 200) -> None:
        self.answers[(method, path)] = (status, body)

    def calls(self) -> list[Seen]:
        """Every request but MOI's login."""
        return [s for s in self.seen if s.raw_path != "/auth/login"]


@asynccontextmanager
async def scripted(service: str) -> AsyncIterator[Script]:
    """A server speaking ``service``'s envelope (``"moi"`` or ``"maxir"``)."""
    script = Script(
        empty={"code": "OK", "msg": "OK", "data": {}}
        if service == "moi"
        else {"code": 0, "data": {}}
    )

    async def handle(request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        script.seen.append(
            Seen(
                request.method,
                request.raw_path.split("?", 1)[0],
                list(request.query.items()),
                dict(request.headers),
                body,
            )
        )
        if request.raw_path == "/auth/login":
            headers = {"Access-Token": jwt(), "Refresh-Token": jwt(lifetime=21600)}
            return web.json_response(script.empty, headers=headers)
        status, answer = script.answers.get((request.method, request.path), (200, script.empty))
        if callable(answer):
            answer = answer(script.seen[-1])
        return web.json_response(answer, status=status)

    async with serving(handle) as script.url:
        yield script
