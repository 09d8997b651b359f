"""Run ``async def work(clients, shard)`` over shards on a Dask cluster, resumably.

Three layers of recovery, each for a different failure:

* **A worker dies** (killed, out of memory, its machine lost): the scheduler gives its shards to
  another worker (Dask's own rule: up to ``distributed.scheduler.allowed-failures`` times, then
  the shard fails with ``KilledWorker``). A work function that raises is run again up to
  ``retries`` times. Either way the new attempt starts from the shard's last checkpoint.
* **A shard's progress**: the work function calls ``await shard.checkpoint(token, **state)``
  after each unit of work is done (a page, typically); the record is a small file in the
  checkpoint directory, so it survives the worker.
* **The driver or the scheduler dies**: the driver records every finished shard's result in
  the job file; run the same job again (same ``job`` name, same directory) and finished shards
  are not run again, unfinished ones resume from their checkpoints.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar

from attrs import define, field
from distributed import Client, as_completed, get_worker

from .._core.errors import InvalidInputError, ShardSupersededError
from ._checkpoints import CheckpointDirectory
from ._clients import (
    PLUGIN_NAME,
    ClientFactory,
    ClientsPlugin,
    WorkerClients,
    _plugin,
    plugin_fingerprint,
    worker_report,
)

__all__ = ["ShardOutcome", "ShardRun", "install_clients", "run_shards", "worker_reports"]

S = TypeVar("S")
R = TypeVar("R")


@define
class ShardRun(Generic[S]):
    """What a work function gets for one attempt at one shard.

    ``spec`` is the shard as the driver gave it; ``resume_from`` the token of its last
    checkpoint; ``checkpointed`` whether there was one (without one, start the shard at its
    beginning, e.g. the shard token in ``spec``; with one whose token is None, the shard was
    finished: see :meth:`start`); ``state`` what that checkpoint saved besides the token;
    ``attempt`` counts from 1 (a resumed shard has ``attempt > 1``).
    """

    key: str
    spec: S
    resume_from: str | None
    state: dict[str, Any]
    attempt: int
    checkpointed: bool
    _store: CheckpointDirectory = field(repr=False)
    _record: dict[str, Any] = field(repr=False)

    async def checkpoint(self, token: str | None, **state: Any) -> None:
        """Record that everything before ``token`` is done (``state``: JSON-ready values to
        keep with it, such as counters). Call it after the work, never before.

        Raises :class:`ShardSupersededError` when a newer attempt has started on this shard
        (this worker was taken for lost): this attempt must stop, and does.
        """
        await asyncio.to_thread(self._check_current)
        self._record["token"] = token
        self._record["state"] = state
        self._record["checkpointed"] = True
        self.resume_from, self.state, self.checkpointed = token, state, True
        record = dict(self._record)
        await asyncio.to_thread(self._store.save_shard, record)

    def _check_current(self) -> None:
        on_disk = self._store.load_shard(self.key)
        if len(on_disk.get("attempts", [])) > self.attempt:
            raise ShardSupersededError(
                f"shard {self.key}: attempt {self.attempt} was superseded by attempt "
                f"{len(on_disk['attempts'])}"
            )

    @property
    def finished(self) -> bool:
        """The last checkpoint says the shard's listing is exhausted (its token is None)."""
        return self.checkpointed and self.resume_from is None

    def start(self, beginning: str | None) -> str | None:
        """Where this attempt starts its listing: the last checkpoint's token, or
        ``beginning`` (the shard's own token) when there was none. Check :attr:`finished`
        first: a finished shard has nothing left to list."""
        return self.resume_from if self.checkpointed else beginning


@define
class ShardOutcome(Generic[S]):
    """One shard's end: ``result`` or ``error``; the worker that finished it and the attempts
    it took; ``restored`` when the result comes from the job file of an earlier run."""

    key: str
    spec: S
    result: Any = None
    error: BaseException | None = None
    worker: str | None = None
    pid: int | None = None
    attempts: int = 0
    resumed: bool = False
    restored: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


Work = Callable[[WorkerClients, ShardRun[Any]], Awaitable[Any]]


def default_key(shard: object) -> str:
    """A shard's key: its ``key`` attribute, the string itself, or a digest of its repr."""
    key = getattr(shard, "key", None)
    if isinstance(key, str) and key:
        return key
    if isinstance(shard, str) and shard:
        return shard
    return hashlib.sha256(repr(shard).encode()).hexdigest()[:16]


async def install_clients(client: Client, factory: ClientFactory | None = None) -> None:
    """Register the one-client-per-worker plugin on every worker, present and future.

    Installing the same factory again keeps the workers' clients (no new logins); another
    factory replaces them (the old clients are closed on each worker).
    """
    plugin = ClientsPlugin(factory)
    installed = await client.run(plugin_fingerprint)
    if installed and all(found == plugin.fingerprint for found in installed.values()):
        return
    await client.register_plugin(plugin, name=PLUGIN_NAME)


async def worker_reports(client: Client) -> dict[str, dict[str, Any]]:
    """Each live worker's figures: pid, shards run, and its clients' counters (logins,
    refreshes, requests). A worker that died took its counters with it."""
    reports: dict[str, dict[str, Any]] = await client.run(worker_report)
    return reports


async def _execute(work: Work, spec: Any, key: str, store: CheckpointDirectory) -> dict[str, Any]:
    """The task a worker runs for one shard (one attempt)."""
    plugin = _plugin()
    worker = get_worker()
    record = await asyncio.to_thread(store.load_shard, key)
    if record.get("done"):
        # Finished earlier, but its result never reached the driver: do not run it again.
        return {
            "result": record.get("result"),
            "worker": worker.address,
            "pid": os.getpid(),
            "attempts": len(record["attempts"]),
            "resumed": False,
        }
    resumed_from = record.get("token")
    record["attempts"].append(
        {"worker": worker.address, "pid": os.getpid(), "resumed_from": resumed_from}
    )
    await asyncio.to_thread(store.save_shard, dict(record))
    clients = await plugin.clients()
    run: ShardRun[Any] = ShardRun(
        key=key,
        spec=spec,
        resume_from=resumed_from,
        state=dict(record.get("state") or {}),
        attempt=len(record["attempts"]),
        checkpointed=bool(record.get("checkpointed")),
        store=store,
        record=record,
    )
    result = await work(clients, run)
    record["done"] = True
    record["result"] = result
    await asyncio.to_thread(store.save_shard, dict(record))
    plugin.shards += 1
    return {
        "result": result,
        "worker": worker.address,
        "pid": os.getpid(),
        "attempts": len(record["attempts"]),
        "resumed": resumed_from is not None,
    }


async def run_shards(
    client: Client,
    work: Work,
    shards: Iterable[S],
    *,
    checkpoints: str | os.PathLike[str],
    job: str,
    key: Callable[[S], str] = default_key,
    factory: ClientFactory | None = None,
    retries: int = 2,
) -> AsyncIterator[ShardOutcome[S]]:
    """Run ``work(clients, shard)`` for every shard on the cluster; yield each shard's
    :class:`ShardOutcome` as it finishes (shards finished by an earlier run of the same job
    first, with ``restored=True``).

    ``client`` is an asynchronous ``distributed.Client`` (``Client(..., asynchronous=True)``).
    ``work`` must be importable by the workers (a module-level function). Its results must
    be JSON-ready: they are kept in the job file. ``checkpoints`` is a directory the driver and
    every worker reach under the same path; ``job`` names the job, so a directory is never
    reused for another one. ``factory`` builds each worker's clients (default: from the
    worker's environment). ``retries``: how many times a shard whose work raised is run again
    (from its checkpoint). One shard failing never stops the others.

    Breaking out of the loop cancels the shards still running; their checkpoints stay.
    """
    if not getattr(client, "asynchronous", False):
        raise InvalidInputError("run_shards needs an asynchronous Client(..., asynchronous=True)")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidInputError(f"retries must be an integer >= 0, got {retries!r}")
    if not isinstance(job, str) or not job.strip():
        raise InvalidInputError("job must be a non-empty string")
    store = CheckpointDirectory(checkpoints)
    record = await asyncio.to_thread(store.load_job, job)
    keyed: dict[str, S] = {}
    for shard in shards:
        name = key(shard)
        if name in keyed:
            raise InvalidInputError(f"two shards have the key {name!r}")
        keyed[name] = shard
    done: dict[str, Any] = record["done"]
    for name, shard in keyed.items():
        if name in done:
            yield ShardOutcome(name, shard, result=done[name], restored=True)
    await install_clients(client, factory)
    futures = {}
    run_id = uuid.uuid4().hex[:8]
    for name, shard in keyed.items():
        if name in done:
            continue
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        future = client.submit(
            _execute,
            work,
            shard,
            name,
            store,
            key=f"asyncsdk-shard-{digest}-{run_id}",
            pure=False,
            retries=retries,
        )
        futures[future] = name
    try:
        async for future in as_completed(list(futures)):  # type: ignore[no-untyped-call]
            name = futures.pop(future)
            try:
                info = await future
            except Exception as error:
                yield ShardOutcome(name, keyed[name], error=error)
                continue
            done[name] = info["result"]
            await asyncio.to_thread(store.save_job, {"job": job, "done": done})
            yield ShardOutcome(
                name,
                keyed[name],
                result=info["result"],
                worker=info["worker"],
                pid=info["pid"],
                attempts=info["attempts"],
                resumed=info["resumed"],
            )
    finally:
        if futures:
            await client.cancel(list(futures))  # type: ignore[no-untyped-call]
