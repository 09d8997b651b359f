"""An in-memory emulator of the MOI and MAXIR services, speaking their documented wire format.

It is a separate HTTP peer (it never imports the client), so the demo, the tests and the
benchmarks exercise the real wire::

    async with Emulator(access_token_ttl=2) as emu:
        async with MOIClient(emu.url, **emu.moi_credentials) as moi:
            ...
        assert emu.stats.logins == 1
        async with MaxirClient(emu.url, **emu.maxir_credentials) as mx:
            ...

It speaks one generation of the MOI API, ``api="seed"`` (the default) or ``api="current"``
(what the vendor's own clients speak), and accepts both the login flow and an API key in the
``moi-key`` header (``emu.api_key``). It is strict: a query parameter or body field a route does
not read is refused with a 400 that names it (``strict=False`` to turn that off).

Each resource module lists its endpoints in a route table (``ROUTES``) of handlers that are
plain functions of ``(state, request)``.

From a shell: ``python -m asyncsdk.emulator --port 8000 [--api current]`` (or
``asyncsdk emulator``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypedDict

from aiohttp import web

from . import (
    _blobs,
    drift,
    maxir,
    moi_auth,
    moi_byoa,
    moi_connectors,
    moi_metrics,
    moi_tasks,
    moi_volumes,
)
from ._http import CURRENT_API, REQUEST_ID, STRICT, MOIError, ParamError, moi_error_response
from ._processing import ProcessingStore
from ._state import (
    GENERATIONS,
    EmulatorConfig,
    EmulatorState,
    EmulatorStats,
    Generation,
    RequestRecord,
)
from .drift import Churn
from .faults import Fault
from .maxir import MaxirStore
from .moi_auth import AUTH_KIND

__all__ = [
    "Churn",
    "Emulator",
    "EmulatorConfig",
    "EmulatorStats",
    "Fault",
    "Generation",
    "MOICredentials",
    "MaxirCredentials",
    "RequestRecord",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Paths that need no MOI token: the auth endpoints themselves, MAXIR (its own key check), and
# the seed's in-cluster metrics path (its example sends no auth headers).
_OPEN_PREFIXES = ("/auth/", "/v2/", "/_emulator/", "/ob/")


def build_app(state: EmulatorState) -> web.Application:
    """The aiohttp application serving both services from ``state``."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        state.stats.requests += 1
        caller_request_id = request.headers.get("X-Request-ID")
        REQUEST_ID.set(caller_request_id or str(uuid.uuid4()))
        STRICT.set(state.config.strict)
        CURRENT_API.set(state.config.api == "current")
        AUTH_KIND.set(None)
        fault = None
        try:
            for tick in state.tickers:
                tick()
            fault = state.faults.pick(request)
            if fault is not None:
                response = await state.faults.apply(fault, request, handler)
            else:
                response = await handler(request)
        except MOIError as error:
            response = moi_error_response(error)
        except ParamError as error:
            response = moi_error_response(MOIError(400, "ErrInvalidParam", error.msg))
        route = request.match_info.route.resource
        state.stats.by_route[
            f"{request.method} {route.canonical if route is not None else request.path}"
        ] += 1
        attempt = _attempt_fields(request.headers.get("asyncsdk-request", ""))
        invocation = request.headers.get("X-Request-ID") or request.headers.get(
            "asyncsdk-invocation-id"
        )
        if "attempt" not in attempt and invocation is not None:
            # asyncsdk sends the attempt header on retries only: a call's request without it
            # is its first attempt.
            attempt["attempt"] = 1.0
        state.requests.append(
            RequestRecord(
                at=time.monotonic(),
                method=request.method,
                path=request.path,
                status=response.status,
                invocation=invocation,
                attempt=int(attempt["attempt"]) if "attempt" in attempt else None,
                backoff=attempt.get("backoff"),
                fault=fault.kind if fault is not None else None,
                request_id=caller_request_id,
                auth=AUTH_KIND.get(),
            )
        )
        return response

    @web.middleware
    async def latency(request: web.Request, handler: Handler) -> web.StreamResponse:
        delay = state.config.latency_ms / 1000
        if delay > 0:
            await asyncio.sleep(delay)
        return await handler(request)

    @web.middleware
    async def moi_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(_OPEN_PREFIXES) and state.moi_auth_check is not None:
            state.moi_auth_check(request)
        return await handler(request)

    app = web.Application(middlewares=[record, latency, moi_token], client_max_size=64 * 2**20)
    moi_auth.setup(app, state)
    state.moi_connectors = moi_connectors.setup(app, state)
    state.moi_tasks = moi_tasks.setup(app, state, state.moi_connectors)
    state.maxir = maxir.setup(app, state)
    state.processing = ProcessingStore(state)
    moi_byoa.setup(app, state)
    moi_volumes.setup(app, state)
    moi_metrics.setup(app, state)
    _blobs.setup(app, state.blobs)
    return app


class MOICredentials(TypedDict):
    """Keyword arguments for ``MOIClient`` that an emulator accepts."""

    account_name: str
    username: str
    password: str


class MaxirCredentials(TypedDict):
    """Keyword arguments for ``MaxirClient`` that an emulator accepts (``base_url`` is
    ``Emulator.url``)."""

    api_key: str
    user_id: str


def _attempt_fields(header: str) -> dict[str, float]:
    # "attempt=2; max=5; backoff=0.137" -> {"attempt": 2.0, "max": 5.0, "backoff": 0.137}
    fields: dict[str, float] = {}
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        try:
            fields[key] = float(value)
        except ValueError:
            continue
    return fields


class Emulator:
    """Serve the emulated services on localhost for the life of an ``async with`` block."""

    def __init__(self, config: EmulatorConfig | None = None, **options: Any) -> None:
        if config is not None and options:
            raise TypeError("pass either an EmulatorConfig or keyword options, not both")
        self.config = config if config is not None else EmulatorConfig(**options)
        if self.config.api not in GENERATIONS:
            raise ValueError(
                f"api must be one of {', '.join(GENERATIONS)}, got {self.config.api!r}"
            )
        self.state = EmulatorState(self.config)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._churn: Churn | None = None
        if self.config.churn_rate:
            self.churn(rate=self.config.churn_rate, seed=self.config.seed)

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        return f"<Emulator {where}>"

    async def start(self) -> None:
        app = build_app(self.state)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        await site.start()
        self._port = int(runner.addresses[0][1])
        # Presigned links point at a second port: another origin, like an object store.
        blob_site = web.TCPSite(runner, self.config.host, 0)
        await blob_site.start()
        blob_port = int(runner.addresses[1][1])
        self.state.blobs.origin = f"http://{self.config.host}:{blob_port}"
        self._runner = runner

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        return f"http://{self.config.host}:{self._port}"

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        return self._port

    @property
    def blob_origin(self) -> str:
        """The origin presigned links point at (another port than ``url``)."""
        return self.state.blobs.origin

    @property
    def moi_credentials(self) -> MOICredentials:
        """Keyword arguments for ``MOIClient`` that this emulator accepts."""
        return {
            "account_name": self.config.account_name,
            "username": self.config.username,
            "password": self.config.password,
        }

    @property
    def api(self) -> Generation:
        """The MOI API generation served: ``"seed"`` or ``"current"``."""
        return self.config.api

    @property
    def api_key(self) -> str:
        """The MOI API key this emulator accepts in the ``moi-key`` header."""
        return self.config.moi_api_key

    @property
    def maxir_credentials(self) -> MaxirCredentials:
        """Keyword arguments for ``MaxirClient`` that this emulator accepts::

        MaxirClient(emu.url, **emu.maxir_credentials)
        """
        return {"api_key": self.config.maxir_api_key, "user_id": self.config.maxir_user_id}

    @property
    def maxir(self) -> MaxirStore:
        """The emulated MAXIR project: datasets, data sources, uploads, and ``traces`` (each
        request's ``x-pd-trace-id`` next to the caller's external trace id)."""
        assert self.state.maxir is not None
        return self.state.maxir

    @property
    def stats(self) -> EmulatorStats:
        return self.state.stats

    @property
    def requests(self) -> deque[RequestRecord]:
        """Recent requests, oldest first (no credentials are recorded)."""
        return self.state.requests

    def inject(self, *faults: Fault) -> None:
        """Start injecting more faults (see :mod:`asyncsdk.emulator.faults`)."""
        self.state.faults.faults.extend(faults)

    def clear_faults(self) -> None:
        """Stop injecting faults."""
        self.state.faults.faults.clear()

    @property
    def faults_injected(self) -> dict[str, int]:
        """How many faults of each kind were injected so far."""
        return dict(self.state.faults.injected)

    def churn(
        self, rate: float, *, seed: int = 0, targets: tuple[str, ...] = drift.TARGETS
    ) -> Churn:
        """Create and delete rows at random positions while clients list them: before each
        request, with probability ``rate``, one MOI load task or MAXIR data source is created
        or deleted (see :mod:`asyncsdk.emulator.drift`). Returns the record of the changes."""
        churn = Churn(rate=rate, seed=seed, targets=targets)
        drift.install(self.state, churn)
        self._churn = churn
        return churn

    def move_rows(self, count: int) -> None:
        """Make ``count`` changes of the churn now (between listings: rows moved while a
        job was down)."""
        if self._churn is None:
            raise RuntimeError("call churn() first")
        for _ in range(count):
            drift.change(self.state, self._churn)

    def revoke_access_tokens(self) -> None:
        """Make every access token issued so far invalid for API calls (the next call gets a
        401); they can still be refreshed until they expire."""
        self.state.tokens.revoke_all("access")

    def revoke_refresh_tokens(self) -> None:
        """Make every refresh token issued so far invalid (refresh fails; clients log in)."""
        self.state.tokens.revoke_all("refresh")
