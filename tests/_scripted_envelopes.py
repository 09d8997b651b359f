"""A scripted server for envelope and CLI tests: each path answers with the exact status,
headers and bytes the test states, so nothing about the answer is left to an emulator's taste.

    async with Scripted({"/task/get": Answer(422, b'{"detail": [{"loc": 5}]}')}) as server:
        ...  # server.url, server.requests

MOI clients log in first: :func:`moi_login` is the login answer (a JWT-shaped token in the
``Access-Token`` header), stated like any other answer so a test can make it malformed too.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

from aiohttp import web
from attrs import define, field

from ._serve import serving
from .wire import unsigned_jwt


@define(frozen=True)
class Answer:
    """One HTTP answer, byte for byte."""

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(factory=dict)


def token(**claims: Any) -> str:
    """A JWT-shaped token with exactly these claims."""
    return unsigned_jwt(claims)


def moi_login(access_token: str | None = None) -> Answer:
    """A successful MOI login: tokens in the headers, the uid in the body."""
    access = access_token or token(iat=2_000_000_000, exp=2_000_000_900, uid="uid-1")
    return Answer(
        200,
        b'{"code":"OK","msg":"OK","data":{"uid":"uid-1"}}',
        {"Content-Type": "application/json", "Access-Token": access},
    )


class Scripted:
    """The server: ``answers`` maps a path to its answer; any other path gets a 404."""

    def __init__(self, answers: Mapping[str, Answer]) -> None:
        self.answers = dict(answers)
        self.requests: list[tuple[str, str]] = []
        self.url = ""
        self._stack = AsyncExitStack()

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.requests.append((request.method, request.path))
        answer = self.answers.get(request.path, Answer(404, b"no such path in the script"))
        return web.Response(status=answer.status, body=answer.body, headers=answer.headers)

    async def __aenter__(self) -> Scripted:
        self.url = await self._stack.enter_async_context(serving(self._handle))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()
