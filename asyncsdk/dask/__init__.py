"""Run asyncsdk work on a Dask cluster: one client per worker, shards with checkpoints.

Needs the optional extra: ``pip install "asyncsdk[dask]"``. ::

    from distributed import Client
    from asyncsdk import MOIClient
    from asyncsdk.dask import ShardRun, WorkerClients, run_shards

    async def work(clients: WorkerClients, shard: ShardRun[str]) -> int:
        moi = clients.require_moi()
        count = shard.state.get("count", 0)
        if shard.finished:  # done, but the worker died before saying so
            return count
        listing = moi.tasks.list(page_size=100, resume_from=shard.start(shard.spec))
        async for page in listing.pages():
            count += len(page)
            await shard.checkpoint(page.resume_token, count=count)
        return count

    async with Client("tcp://scheduler:8786", asynchronous=True) as client:
        async with MOIClient.from_env() as moi:
            shards = await moi.tasks.list(page_size=100).shards(8)  # page ranges
        outcomes = run_shards(client, work, shards, checkpoints="/mnt/ck/count", job="count")
        async for outcome in outcomes:
            print(outcome.key, outcome.result)
"""

from __future__ import annotations

try:
    import distributed  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        'asyncsdk.dask needs Dask distributed: pip install "asyncsdk[dask]"'
    ) from error

from ._checkpoints import CheckpointDirectory
from ._clients import (
    PLUGIN_NAME,
    ClientsPlugin,
    WorkerClients,
    clients_from_env,
    worker_clients,
)
from ._run import ShardOutcome, ShardRun, install_clients, run_shards, worker_reports

__all__ = [
    "PLUGIN_NAME",
    "CheckpointDirectory",
    "ClientsPlugin",
    "ShardOutcome",
    "ShardRun",
    "WorkerClients",
    "clients_from_env",
    "install_clients",
    "run_shards",
    "worker_clients",
    "worker_reports",
]
