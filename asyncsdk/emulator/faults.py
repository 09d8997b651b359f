"""Fault injection: make the emulator fail the way real services and networks do.

Each :class:`Fault` applies to requests matching its method and path prefix, with a probability
``rate``; a seeded generator decides, so a run is repeatable (for a given request order):

- ``"500" "502" "503" "504"`` — an error answer, before the request is acted on;
- ``"429"`` — throttled, with ``Retry-After: <retry_after>``, before acting;
- ``"drop_before"`` — the connection is closed without an answer, before acting;
- ``"drop_after"`` — the request is acted on, then the connection is closed without an answer
  (the case where repeating a create would duplicate it);
- ``"cut"`` — the request is acted on and the answer starts, but the connection closes half-way
  through its body (a download interrupted mid-transfer, a proxy that gave up);
- ``"slow"`` — the answer comes ``delay`` seconds late (past a client's timeout), after acting;
- ``"malformed"`` — the request is acted on, but the body comes back truncated, not JSON, or in
  the wrong shape.

    async with Emulator(faults=[Fault("503", rate=0.1)], seed=7) as emu: ...
    emu.inject(Fault("drop_after", rate=1.0, path="/connectors", method="POST", limit=1))
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Literal, get_args

from aiohttp import web
from attrs import define, field

FaultKind = Literal[
    "500", "502", "503", "504", "429", "drop_before", "drop_after", "cut", "slow", "malformed"
]
KINDS: tuple[str, ...] = get_args(FaultKind)
#: Added to a request whose answer a ``"cut"`` fault interrupts (a header, as aiohttp's
#: request storage wants typed keys only newer releases have): handlers that stream their body
#: themselves (the blob host) honour it; :meth:`FaultInjector.apply` cuts the others.
CUT_BODY = "X-Emulator-Cut-Body"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _check_kind(_: object, __: object, value: str) -> None:
    if value not in KINDS:
        raise ValueError(f"unknown fault kind {value!r}; one of {', '.join(KINDS)}")


def _check_rate(_: object, __: object, value: float) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"fault rate must be within [0, 1], got {value!r}")


@define
class Fault:
    kind: str = field(validator=_check_kind)
    rate: float = field(default=1.0, validator=_check_rate)
    #: Only requests whose path starts with this (None: every API path).
    path: str | None = None
    #: Only this method (None: any).
    method: str | None = None
    #: How many times it may fire (None: no limit).
    limit: int | None = None
    retry_after: float = 1.0
    delay: float = 5.0
    fired: int = 0

    def matches(self, request: web.Request) -> bool:
        if self.limit is not None and self.fired >= self.limit:
            return False
        if self.method is not None and request.method != self.method.upper():
            return False
        path = request.path
        if path.startswith(("/_emulator/", "/auth/")) and not (
            self.path is not None and path.startswith(self.path)
        ):
            return False  # auth and blobs only fail when a fault names them
        return self.path is None or path.startswith(self.path)


class FaultInjector:
    def __init__(self, faults: list[Fault], seed: int) -> None:
        self.faults = list(faults)
        self._rng = random.Random(seed)
        self.injected: dict[str, int] = {}

    def pick(self, request: web.Request) -> Fault | None:
        for fault in self.faults:
            if fault.matches(request) and self._rng.random() < fault.rate:
                fault.fired += 1
                self.injected[fault.kind] = self.injected.get(fault.kind, 0) + 1
                return fault
        return None

    async def apply(
        self, fault: Fault, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        kind = fault.kind
        if kind in ("500", "502", "503", "504", "429"):
            headers = {"Retry-After": f"{fault.retry_after:g}"} if kind == "429" else None
            return _error_body(request, int(kind), headers)
        if kind == "drop_before":
            return drop_connection(request)
        if kind == "cut":
            request = request.clone(headers={**request.headers, CUT_BODY: "half"})
        response = await handler(request)  # the remaining kinds act on the request first
        if kind == "cut":
            if isinstance(response, web.Response) and isinstance(response.body, bytes):
                return await _send_half_then_close(request, response, response.body)
            return response  # streamed by its handler, which cut it
        if kind == "drop_after":
            return drop_connection(request)
        if kind == "slow":
            await asyncio.sleep(fault.delay)
            return response
        return self._malformed(response)

    def _malformed(self, response: web.StreamResponse) -> web.StreamResponse:
        body = response.body if isinstance(response, web.Response) else None
        text = bytes(body) if isinstance(body, (bytes, bytearray)) else b'{"code":"OK"}'
        choice = self._rng.randrange(4)
        if choice == 0:
            bad = text[: max(1, len(text) // 2)]  # truncated JSON
        elif choice == 1:
            bad = b"<html><body>502 Bad Gateway</body></html>"  # a proxy's page, status 200
        elif choice == 2:
            bad = b'{"code":"OK","msg":"OK","data":"not-an-object"}'  # wrong shape
        else:
            bad = (
                b'{"code":"OK","msg":"OK","data":{"tasks":[{"id":{}}],"connectors":7,'
                b'"files":"x","task":[],"valid":{}}}'
            )  # wrong types
        return web.Response(
            body=bad,
            status=200,
            content_type="application/json",
            headers={"X-Request-Id": "malformed"},
        )


def _error_body(request: web.Request, status: int, headers: dict[str, str] | None) -> web.Response:
    if request.path.startswith("/v2/"):
        code: object = 201 if status == 429 else 9999
        body = f'{{"code":{code},"msg":"injected fault: HTTP {status}"}}'
    else:
        body = f'{{"code":"ErrInternal","msg":"injected fault: HTTP {status}","data":null}}'
    return web.Response(text=body, status=status, content_type="application/json", headers=headers)


async def _send_half_then_close(
    request: web.Request, head: web.StreamResponse, body: bytes
) -> web.StreamResponse:
    """Announce all of ``body`` (Content-Length), send its first half, then close the
    connection: the client sees a truncated transfer, not a complete answer."""
    response = web.StreamResponse(status=head.status, headers=head.headers)
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    drop_connection(request)
    return response


def drop_connection(request: web.Request) -> web.StreamResponse:
    # Close the socket without answering; the client sees the server disconnect.
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response(status=500, text="connection dropped")
