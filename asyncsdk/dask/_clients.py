"""One MOI / MAXIR client per Dask worker process, built on first use, closed at teardown.

A worker runs ``async def`` tasks on its own event loop, so every task on a worker can share
one client: one connection pool, one login, one token refresher. N workers mean N sessions
with the service (N logins, and N refreshes per token lifetime); the counters here make that
visible.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from typing import Any

import cloudpickle  # type: ignore[import-untyped]
from attrs import asdict, define, field
from distributed import Worker, WorkerPlugin, get_worker

from .._core.errors import InvalidInputError
from ..maxir import MaxirClient
from ..moi import MOIClient

__all__ = [
    "PLUGIN_NAME",
    "ClientsPlugin",
    "WorkerClients",
    "clients_from_env",
    "worker_clients",
]

#: The name the plugin is registered under on every worker.
PLUGIN_NAME = "asyncsdk-clients"


@define
class WorkerClients:
    """The clients a task borrows: ``moi`` and/or ``maxir`` (None when not configured).

    Built unopened by a factory; the worker plugin opens them (logs in) on first use and closes
    them when the worker shuts down. Tasks must not close them.
    """

    moi: MOIClient | None = None
    maxir: MaxirClient | None = None
    _opened: bool = field(default=False, init=False)

    def require_moi(self) -> MOIClient:
        if self.moi is None:
            raise InvalidInputError("this worker has no MOI client: set ASYNCSDK_MOI_* variables")
        return self.moi

    def require_maxir(self) -> MaxirClient:
        if self.maxir is None:
            raise InvalidInputError(
                "this worker has no MAXIR client: set ASYNCSDK_MAXIR_* variables"
            )
        return self.maxir

    async def open(self) -> None:
        if self._opened:
            return
        self._opened = True
        if self.moi is not None:
            await self.moi.__aenter__()
        if self.maxir is not None:
            await self.maxir.__aenter__()

    async def aclose(self) -> None:
        for client in (self.moi, self.maxir):
            if client is not None:
                await client.aclose()

    def stats(self) -> dict[str, dict[str, int]]:
        """Each configured client's counters (calls, attempts, retries, logins, refreshes)."""
        found: dict[str, dict[str, int]] = {}
        if self.moi is not None:
            found["moi"] = asdict(self.moi.stats)
        if self.maxir is not None:
            found["maxir"] = asdict(self.maxir.stats)
        return found


ClientFactory = Callable[[], WorkerClients]


def clients_from_env(**options: Any) -> WorkerClients:
    """The default factory: a ``MOIClient.from_env()`` when ``ASYNCSDK_MOI_BASE_URL`` is set on
    the worker, a ``MaxirClient.from_env()`` when ``ASYNCSDK_MAXIR_BASE_URL`` is; ``options``
    (``retry=``, ``pool_size=``, ...) go to both."""
    moi = MOIClient.from_env(**options) if os.environ.get("ASYNCSDK_MOI_BASE_URL") else None
    mx = MaxirClient.from_env(**options) if os.environ.get("ASYNCSDK_MAXIR_BASE_URL") else None
    if moi is None and mx is None:
        raise InvalidInputError(
            "no service configured in the environment: set ASYNCSDK_MOI_BASE_URL (and the other "
            "ASYNCSDK_MOI_* variables) and/or ASYNCSDK_MAXIR_BASE_URL"
        )
    return WorkerClients(moi=moi, maxir=mx)


class ClientsPlugin(WorkerPlugin):
    """A worker plugin holding one :class:`WorkerClients` per worker process.

    ``factory`` (picklable: it travels to every worker) builds the clients; the default reads
    the worker's environment. Nothing is built until a task asks (:func:`worker_clients`), so
    a worker that never runs a shard never logs in. ``shards`` counts the shards this worker
    has run.
    """

    name = PLUGIN_NAME

    def __init__(self, factory: ClientFactory | None = None) -> None:
        self.factory = factory or clients_from_env
        #: Tells this plugin's factory from another's, so installing the same one again
        #: keeps the workers' clients (and sessions) instead of replacing them.
        self.fingerprint = hashlib.sha256(cloudpickle.dumps(self.factory)).hexdigest()
        self._clients: WorkerClients | None = None
        self._lock: asyncio.Lock | None = None
        self.shards = 0

    def setup(self, worker: Worker) -> None:
        self._clients = None
        self._lock = None
        self.shards = 0

    async def clients(self) -> WorkerClients:
        if self._clients is not None:
            return self._clients
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # two first tasks at once must not log in twice
            if self._clients is None:
                clients = self.factory()
                if not isinstance(clients, WorkerClients):
                    raise InvalidInputError(
                        f"the clients factory must return WorkerClients, got {type(clients)!r}"
                    )
                await clients.open()
                self._clients = clients
        return self._clients

    def report(self) -> dict[str, Any]:
        """This worker's figures: its process id, shards run, and each client's counters."""
        clients = self._clients
        return {
            "pid": os.getpid(),
            "shards": self.shards,
            "clients": clients.stats() if clients is not None else {},
        }

    async def teardown(self, worker: Worker) -> None:
        clients, self._clients = self._clients, None
        if clients is not None:
            await clients.aclose()


def _plugin() -> ClientsPlugin:
    worker = get_worker()
    plugin = worker.plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, ClientsPlugin):
        raise InvalidInputError(
            "the asyncsdk clients plugin is not registered on this worker: call "
            "asyncsdk.dask.install_clients(client) first (run_shards does it)"
        )
    return plugin


async def worker_clients() -> WorkerClients:
    """The calling worker's clients (built and opened on first use). Call from a task."""
    return await _plugin().clients()


def plugin_fingerprint(dask_worker: Worker) -> str | None:
    """The fingerprint of the clients plugin on this worker (None: not installed)."""
    plugin = dask_worker.plugins.get(PLUGIN_NAME)
    return plugin.fingerprint if isinstance(plugin, ClientsPlugin) else None


async def worker_report(dask_worker: Worker) -> dict[str, Any]:
    """This worker's figures, for ``client.run``."""
    plugin = dask_worker.plugins.get(PLUGIN_NAME)
    if not isinstance(plugin, ClientsPlugin):
        return {"pid": os.getpid(), "shards": 0, "clients": {}}
    return plugin.report()
