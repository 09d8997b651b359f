"""Work functions and client factories for the Dask tests. They live in a module of their own
so that worker processes can import them by name."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from asyncsdk import MaxirClient, MOIClient
from asyncsdk._migrate import MigrateOptions, migrate_shard
from asyncsdk.dask import ShardRun, WorkerClients
from asyncsdk.emulator import MaxirCredentials, MOICredentials

#: The emulator's built-in test credentials (printed by ``asyncsdk emulator``; not secrets).
MOI_CREDENTIALS: MOICredentials = {
    "account_name": "0194dfaa-3eda-7ea5-b47c-b4f4f5940e97",
    "username": "admin:accountadmin",
    "password": "emulator-password",
}
MAXIR_CREDENTIALS: MaxirCredentials = {
    "api_key": "pd-emulator-project-key",
    "user_id": "tmm-emulator0000000000000001",
}


def emulator_clients(url: str) -> WorkerClients:
    """A worker's clients for the emulator at ``url``."""
    return WorkerClients(
        moi=MOIClient(url, **MOI_CREDENTIALS), maxir=MaxirClient(url, **MAXIR_CREDENTIALS)
    )


class _Doomed:
    """A shard run that, at its chosen checkpoint, tells the test its process id instead of
    writing the checkpoint, and waits to be killed."""

    def __init__(self, run: ShardRun[Any], port: int, at_pages: int) -> None:
        self._run = run
        self._port = port
        self._at_pages = at_pages
        self.key, self.spec, self.attempt = run.key, run.spec, run.attempt
        self.resume_from, self.state = run.resume_from, run.state
        self.checkpointed, self.finished = run.checkpointed, run.finished

    def start(self, beginning: str | None) -> str | None:
        return self._run.start(beginning)

    async def checkpoint(self, token: str | None, **state: Any) -> None:
        if state["pages"] == self._at_pages and not state["pending"]:
            # The page's creates are done, its checkpoint not written: the worst moment.
            _, writer = await asyncio.open_connection("127.0.0.1", self._port)
            writer.write(f"{os.getpid()}\n".encode())
            await writer.drain()
            await asyncio.Event().wait()  # until SIGKILL
        await self._run.checkpoint(token, **state)


async def doomed_migrate_shard(
    options: MigrateOptions,
    victim: str,
    port: int,
    at_pages: int,
    clients: WorkerClients,
    shard: ShardRun[Any],
) -> dict[str, Any]:
    """``migrate_shard``, except that the first attempt at shard ``victim`` stops after
    ``at_pages`` pages' creates, signals the test on ``port`` and waits to be killed."""
    if shard.key == victim and shard.attempt == 1:
        return await migrate_shard(clients, _Doomed(shard, port, at_pages), options)
    return await migrate_shard(clients, shard, options)


async def task_ids(clients: WorkerClients, shard: ShardRun[str]) -> list[str]:
    """The ids of the tasks in one page-range shard of ``moi.tasks.list``, checkpointed per
    page (the generic use of ``run_shards`` with the paginator's own shard tokens)."""
    moi = clients.require_moi()
    ids: list[str] = list(shard.state.get("ids", []))
    if shard.finished:
        return ids
    async for page in moi.tasks.list(page_size=10, resume_from=shard.start(shard.spec)).pages():
        ids.extend(task.id for task in page.items)
        await shard.checkpoint(page.resume_token, ids=ids)
    return ids
