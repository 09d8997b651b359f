"""A scripted MOI server for paging tests: every listing answer is stated by the test.

The server runs on its own thread and event loop (:class:`ThreadedMOI`), so both async tests
and synchronous hypothesis tests talk to it over real sockets. Login and refresh answer valid
tokens; every other route answers from the script::

    with ScriptedMOI() as server:
        server.script(
            "/connectors/files/list",
            by_param("cursor", {"": {"files": [...], "cursor": "A", "has_more": True}}),
        )
        ...  # MOIClient(server.url, ...)
        server.queries("/connectors/files/list")  # what was asked, in order

A script maps a request's query (a dict) to the ``data`` the MOI envelope wraps, or to a
:class:`Reply` for an exact status and body. A query the script has no answer for gets a 404.
After ``limit`` scripted requests every answer is a 404 too, so a client that would loop
forever fails fast instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web
from attrs import define

from ._threaded_moi import ThreadedMOI

__all__ = ["Reply", "ScriptedMOI", "by_param", "in_order"]


@define(frozen=True)
class Reply:
    """An exact answer: status and JSON body (not wrapped in the envelope)."""

    status: int
    body: Any


Script = Callable[[dict[str, str]], Any]

_MISSING = Reply(404, {"code": "ErrNotFound", "msg": "not scripted"})


def in_order(*answers: Any) -> Script:
    """The answers one after another, whatever the query; a 404 once they run out."""
    remaining = list(answers)

    def answer(_: dict[str, str]) -> Any:
        return remaining.pop(0) if remaining else _MISSING

    return answer


def by_param(name: str, answers: Mapping[str, Any], default: Any = _MISSING) -> Script:
    """The answer keyed by the query parameter ``name`` (absent reads as ``""``)."""

    def answer(query: dict[str, str]) -> Any:
        return answers.get(query.get(name, ""), default)

    return answer


class ScriptedMOI(ThreadedMOI):
    """A MOI server whose listings answer exactly what each test scripts."""

    def __init__(self, limit: int = 50) -> None:
        super().__init__()
        self.limit = limit
        self._scripts: dict[str, Script] = {}
        self._requests: list[tuple[str, dict[str, str]]] = []

    def script(self, path: str, answer: Script) -> None:
        self._scripts[path] = answer

    def reset(self) -> None:
        self._scripts.clear()
        self._requests.clear()

    def queries(self, path: str) -> list[dict[str, str]]:
        return [query for seen, query in self._requests if seen == path]

    @property
    def request_count(self) -> int:
        return len(self._requests)

    async def answer(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        self._requests.append((request.path, query))
        script = self._scripts.get(request.path)
        if script is None or len(self._requests) > self.limit:
            answer: Any = _MISSING
        else:
            answer = script(query)
        if isinstance(answer, Reply):
            return web.Response(
                text=json.dumps(answer.body), status=answer.status, content_type="application/json"
            )
        return web.json_response({"code": "OK", "msg": "OK", "data": answer})

    def __enter__(self) -> ScriptedMOI:
        super().__enter__()
        return self
