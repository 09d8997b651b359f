"""``asyncsdk migrate``: copy connectors' files into a MAXIR dataset on a Dask cluster.

The README's resumable migration, spread over worker processes. The driver splits the work
into shards a cursor listing allows (one per connector, or, with ``root``, one per directory
under it plus one for the files directly in it), then each worker, with its one MOI and one
MAXIR client, lists its shard page by page and creates a data source per file, ``concurrency``
at a time.

Exactly once, per shard: before a page's creates the shard records the names it is about to
create (``pending``) with the token of the page; after them, the token of the next page. A
retried shard (its worker died, or a create failed) resumes from that token, and when
``pending`` is not empty it first looks up which of those names the dataset already holds
(one listing of the dataset), so a file created just before the worker died is not created
again. Files that were in the dataset before the job started are skipped the same way (the
driver lists the dataset once and leaves the names in the checkpoint directory).

Data sources are named by the file's name (the README's choice): names must then be unique
across the job, or two files of one name make two data sources of that name (or, if it existed
before the job, none). ``name_by="path"`` (``--name-by path``) names them by connector and path
instead, unique by construction.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from attrs import define, field

from ._core.errors import (
    AsyncSDKError,
    BadRequestError,
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
)
from ._core.fanout import fan_out
from ._core.retry import RetryPolicy
from ._demo import Reporter, make_reporter
from .maxir._resource import ALLOWED_EXTENSIONS
from .moi import ConnectorFile, FileType

__all__ = [
    "DirectoryShard",
    "MigrateOptions",
    "MigrateSummary",
    "migrate_shard",
    "plan_shards",
    "run_migration",
]

#: Background work: patient retries (as the README recommends for bulk jobs).
BULK_RETRY = RetryPolicy(max_attempts=8)
_SKIP_FILE = "existing-names.json"
#: Answers that say the service will not take this file, whatever the number of tries.
_REFUSED = (InvalidInputError, BadRequestError, ConflictError, PermissionDeniedError)
#: Refused files named in each shard's result (the rest are only counted).
_REFUSED_KEPT = 20


@define(frozen=True)
class DirectoryShard:
    """One connector's files, or those of one directory level of it (``dir``); ``start`` is
    the listing's shard token (``paginator.shards(1)``: a cursor listing is one shard)."""

    connector_id: str
    dir: str | None
    start: str

    @property
    def key(self) -> str:
        return f"{self.connector_id}:{self.dir or '*'}"


@define(frozen=True)
class MigrateOptions:
    """What to migrate, and how."""

    connector_ids: Sequence[str]
    dataset_id: str
    root: str | None = None
    file_types: Sequence[int] | None = None
    page_size: int = 200
    concurrency: int = 16
    url_template: str = "https://files.example.com/{uri}"
    checkpoints: str = ""
    prefetch: int = 0
    name_by: str = "filename"

    def __attrs_post_init__(self) -> None:
        if not self.connector_ids:
            raise InvalidInputError("name at least one connector")
        if not isinstance(self.dataset_id, str) or not self.dataset_id.strip():
            raise InvalidInputError("dataset_id must be a non-empty string")
        if self.name_by not in ("filename", "path"):
            raise InvalidInputError(f"name_by must be 'filename' or 'path', got {self.name_by!r}")
        if not 1 <= self.page_size <= 1000:
            raise InvalidInputError(f"page_size must be within 1..1000, got {self.page_size}")
        if self.concurrency < 1:
            raise InvalidInputError(f"concurrency must be >= 1, got {self.concurrency}")
        if "{uri}" not in self.url_template or not self.url_template.startswith(
            ("http://", "https://")
        ):
            raise InvalidInputError("url_template must be an http(s) URL containing {uri}")

    @property
    def job(self) -> str:
        """The job's identity in its checkpoint directory: what it copies, and where to."""
        types = ",".join(str(t) for t in self.file_types) if self.file_types else "all"
        return (
            f"migrate connectors={','.join(self.connector_ids)} dataset={self.dataset_id} "
            f"root={self.root or '-'} types={types} names={self.name_by}"
        )

    @property
    def checkpoint_dir(self) -> str:
        if self.checkpoints:
            return self.checkpoints
        return f"asyncsdk-migrate-{'-'.join(self.connector_ids)}-{self.dataset_id}"


def name_of(file: ConnectorFile, connector_id: str | None = None, *, by: str = "filename") -> str:
    """The data source's name: the file's own name (``by="filename"``), or its connector and
    path with ``/`` as ``_`` (``by="path"``: unique across directories and connectors)."""
    if by == "path":
        return f"{connector_id}_{file.uri.strip('/').replace('/', '_')}"
    return file.filename or file.uri.rstrip("/").rsplit("/", 1)[-1]


def maxir_takes(name: str) -> bool:
    """Whether MAXIR accepts a data source of this name (its extension and length)."""
    return name.rpartition(".")[2].lower() in ALLOWED_EXTENSIONS and len(name) <= 128


# -- the shards -----------------------------------------------------------------------------------


async def plan_shards(moi: Any, options: MigrateOptions) -> list[DirectoryShard]:
    """One shard per connector, or with ``root`` one per directory under it (and one for the
    files directly in it, listed with directories left out)."""
    places: list[tuple[str, str | None]] = []
    for connector_id in options.connector_ids:
        if options.root is None:
            places.append((connector_id, None))
            continue
        subdirectories = []
        plain_files = False
        async for entry in moi.connectors.files(connector_id, dir=options.root, page_size=1000):
            if entry.type == FileType.DIRECTORY:
                subdirectories.append(entry.uri)
            else:
                plain_files = True
        if plain_files or not subdirectories:
            places.append((connector_id, options.root))
        places.extend((connector_id, d) for d in sorted(subdirectories))
    shards = []
    for connector_id, directory in places:
        [start] = await _listing(moi, options, connector_id, directory).shards(1)
        shards.append(DirectoryShard(connector_id, directory, start))
    return shards


def _listing(
    moi: Any,
    options: MigrateOptions,
    connector_id: str,
    directory: str | None,
    resume_from: str | None = None,
) -> Any:
    """The shard's listing, built the same way by the driver and by every worker (a shard
    token is tied to its listing's filters)."""
    return moi.connectors.files(
        connector_id,
        dir=directory,
        file_types=options.file_types,
        page_size=options.page_size,
        prefetch=options.prefetch,
        resume_from=resume_from,
    )


# -- a shard's work (runs on a worker) ------------------------------------------------------------

_existing_cache: dict[str, frozenset[str]] = {}


def _existing(checkpoints: str) -> frozenset[str]:
    """The names the dataset held when the job started (read once per worker process)."""
    if checkpoints not in _existing_cache:
        path = Path(checkpoints) / _SKIP_FILE
        names = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
        _existing_cache[checkpoints] = frozenset(names)
    return _existing_cache[checkpoints]


async def _present(mx: Any, dataset_id: str, names: Sequence[str]) -> set[str]:
    """Which of ``names`` the dataset holds now (the service has no lookup by name)."""
    wanted = set(names)
    found: set[str] = set()
    async for source in mx.datasources.list(dataset_id, page_size=1000, concurrency=2):
        if source.name in wanted:
            found.add(source.name)
    return found


@define(frozen=True)
class MigrateWork:
    """The work function for :func:`asyncsdk.dask.run_shards` (picklable: it carries the
    options to the workers)."""

    options: MigrateOptions

    async def __call__(self, clients: Any, shard: Any) -> dict[str, Any]:
        return await migrate_shard(clients, shard, self.options)


async def migrate_shard(clients: Any, shard: Any, options: MigrateOptions) -> dict[str, Any]:
    """Copy one shard's files; returns its figures. Checkpoints before and after each page."""
    moi, mx = clients.require_moi(), clients.require_maxir()
    spec: DirectoryShard = shard.spec
    counts = {
        "listed": 0,
        "created": 0,
        "skipped": 0,
        "unsupported": 0,
        "failed": 0,
        "pages": 0,
        **{k: v for k, v in shard.state.items() if k not in ("pending", "refused")},
    }
    refused: list[str] = list(shard.state.get("refused", []))
    if shard.finished:
        # Its last page was done, but the worker died before the shard was marked done.
        return {**counts, "pid": os.getpid(), "refused": refused}
    skip = await asyncio.to_thread(_existing, options.checkpoint_dir)
    pending = shard.state.get("pending") or []
    # The last attempt died during a page: what it created before dying is counted as
    # created, not created again.
    recovered = await _present(mx, options.dataset_id, pending) if pending else set()
    token = shard.start(spec.start)

    def name(file: ConnectorFile) -> str:
        return name_of(file, spec.connector_id, by=options.name_by)

    async def create(file: ConnectorFile) -> None:
        url = options.url_template.format(uri=file.uri)
        await mx.datasources.create(options.dataset_id, name(file), url=url)

    listing = _listing(moi, options, spec.connector_id, spec.dir, resume_from=token)
    async for page in listing.pages():
        files = [f for f in page.items if f.type != FileType.DIRECTORY]
        # Write-ahead, with the figures as they stood before this page: a retry of the page
        # looks these names up before creating them.
        names = [name(f) for f in files if maxir_takes(name(f)) and name(f) not in skip]
        await shard.checkpoint(token, **counts, pending=names, refused=refused)
        todo = []
        for file in files:
            if not maxir_takes(name(file)):
                counts["unsupported"] += 1
            elif name(file) in skip:
                counts["skipped"] += 1
            elif name(file) in recovered:
                counts["created"] += 1
            else:
                todo.append(file)
        counts["listed"] += len(files)
        async for outcome in fan_out(create, todo, concurrency=options.concurrency):
            if isinstance(outcome.error, _REFUSED):
                # The service refused this file (it will refuse it again): note it, go on.
                counts["failed"] += 1
                if len(refused) < _REFUSED_KEPT:
                    refused.append(f"{outcome.item.uri}: {outcome.error}")
            elif outcome.error is not None:
                raise outcome.error  # transient beyond the retries: the shard is retried
            else:
                counts["created"] += 1
        counts["pages"] += 1
        token = page.resume_token
        await shard.checkpoint(token, **counts, pending=[], refused=refused)
    return {**counts, "pid": os.getpid(), "refused": refused}


# -- the driver -----------------------------------------------------------------------------------


@define
class MigrateSummary:
    """The job's figures: totals, and per worker (from shard results and live counters)."""

    shards: int = 0
    shards_failed: list[str] = field(factory=list)
    shards_resumed: int = 0
    shards_restored: int = 0
    listed: int = 0
    created: int = 0
    skipped: int = 0
    unsupported: int = 0
    failed: int = 0
    refused: list[str] = field(factory=list)
    pages: int = 0
    workers: dict[str, dict[str, Any]] = field(factory=dict)
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.shards_failed and not self.failed

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "shards": self.shards,
            "shards_failed": list(self.shards_failed),
            "shards_resumed": self.shards_resumed,
            "shards_restored": self.shards_restored,
            "listed": self.listed,
            "created": self.created,
            "skipped": self.skipped,
            "unsupported": self.unsupported,
            "failed": self.failed,
            "refused": list(self.refused),
            "pages": self.pages,
            "workers": self.workers,
            "elapsed_seconds": round(self.elapsed, 3),
        }

    def lines(self) -> list[str]:
        out = [
            "",
            "summary",
            f"  shards            {self.shards:>9,}  {self.shards_resumed} resumed from a "
            f"checkpoint, {self.shards_restored} done by an earlier run, "
            f"{len(self.shards_failed)} failed",
            f"  files listed      {self.listed:>9,}  in {self.pages:,} pages",
            f"  created           {self.created:>9,}  MAXIR data sources",
            f"  skipped           {self.skipped:>9,}  already in the dataset",
            f"  unsupported       {self.unsupported:>9,}  extensions MAXIR does not take",
            f"  refused           {self.failed:>9,}  by the service (first ones listed below)",
            f"  elapsed           {self.elapsed:>9.1f}  seconds",
            "",
            f"  {'worker':<28}{'pid':>8}{'shards':>8}{'created':>9}{'requests':>10}"
            f"{'logins':>8}{'refreshes':>11}",
        ]
        for address, figures in sorted(self.workers.items()):
            out.append(
                f"  {address:<28}{figures.get('pid', '-')!s:>8}{figures.get('shards', 0):>8}"
                f"{figures.get('created', 0):>9,}{figures.get('requests', 0):>10,}"
                f"{figures.get('logins', 0):>8}{figures.get('refreshes', 0):>11}"
            )
        for failure in self.shards_failed:
            out.append(f"  FAILED {failure}")
        for refusal in self.refused:
            out.append(f"  refused {refusal}")
        return out


async def _list_existing(mx: Any, dataset_id: str) -> list[str]:
    return [s.name async for s in mx.datasources.list(dataset_id, page_size=1000, concurrency=2)]


def _write_existing(directory: str, names: list[str]) -> None:
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    temporary = path / f".{_SKIP_FILE}.tmp"
    temporary.write_text(json.dumps(sorted(set(names))), encoding="utf-8")
    os.replace(temporary, path / _SKIP_FILE)


def _progress(directory: str, keys: Sequence[str]) -> tuple[int, int]:
    """(files created, files listed) over every shard's checkpoint, as workers write them."""
    from .dask import CheckpointDirectory

    store = CheckpointDirectory(directory)
    created = listed = 0
    for key in keys:
        with contextlib.suppress(AsyncSDKError, OSError):
            state = store.load_shard(key).get("state") or {}
            created += int(state.get("created", 0))
            listed += int(state.get("listed", 0))
    return created, listed


async def run_migration(
    client: Any,
    options: MigrateOptions,
    reporter: Reporter,
    *,
    factory: Callable[[], Any] | None = None,
    work: Callable[..., Any] | None = None,
) -> MigrateSummary:
    """Plan the shards, run them on ``client`` (an asynchronous ``distributed.Client``),
    report progress, and return the summary. ``factory`` builds the clients (driver and
    workers; default: the environment); ``work`` replaces the shard work (tests)."""
    from .dask import clients_from_env, run_shards, worker_reports

    started = time.monotonic()
    build = factory or functools.partial(clients_from_env, retry=BULK_RETRY)
    directory = options.checkpoint_dir
    driver = build()
    await driver.open()
    try:
        moi, mx = driver.require_moi(), driver.require_maxir()
        shards = await plan_shards(moi, options)
        existing = await _list_existing(mx, options.dataset_id)
        if not (Path(directory) / _SKIP_FILE).exists():
            await asyncio.to_thread(_write_existing, directory, existing)
    finally:
        await driver.aclose()
    reporter.note(
        f"migrating {len(options.connector_ids)} connector(s) into dataset "
        f"{options.dataset_id}: {len(shards)} shards; the dataset holds {len(existing):,} "
        f"data sources; checkpoints in {directory}"
    )
    summary = MigrateSummary(shards=len(shards))
    reporter.begin("shards", "shards done", len(shards))
    keys = [s.key for s in shards]
    per_worker: dict[str, Counter[str]] = {}

    async def tick() -> None:
        while True:
            created, listed = await asyncio.to_thread(_progress, directory, keys)
            reporter.counters(f"files listed {listed:,} | data sources created {created:,}")
            reporter.tick()
            await asyncio.sleep(0.5)  # a progress display's refresh rate

    ticker = asyncio.create_task(tick(), name="asyncsdk-migrate-progress")
    try:
        outcomes = run_shards(
            client,
            work or MigrateWork(options),
            shards,
            checkpoints=directory,
            job=options.job,
            factory=build,
        )
        async for outcome in outcomes:
            reporter.advance("shards")
            if outcome.error is not None:
                summary.shards_failed.append(f"{outcome.key}: {outcome.error!r}")
                reporter.note(f"shard {outcome.key} FAILED: {outcome.error!r}")
                continue
            result = outcome.result
            for name in ("listed", "created", "skipped", "unsupported", "failed", "pages"):
                setattr(summary, name, getattr(summary, name) + int(result.get(name, 0)))
            summary.refused.extend(result.get("refused", [])[: 20 - len(summary.refused)])
            summary.shards_resumed += outcome.resumed
            summary.shards_restored += outcome.restored
            if outcome.worker is not None:
                tally = per_worker.setdefault(outcome.worker, Counter())
                tally["shards"] += 1
                tally["created"] += int(result.get("created", 0))
            how = " (resumed from its checkpoint)" if outcome.resumed else ""
            how = " (done by an earlier run)" if outcome.restored else how
            reporter.note(
                f"shard {outcome.key}: {result.get('created', 0):,} created, "
                f"{result.get('skipped', 0):,} skipped{how}"
            )
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
    for address, report in (await worker_reports(client)).items():
        figures: dict[str, Any] = dict(per_worker.pop(address, Counter()))
        figures["pid"] = report["pid"]
        requests = logins = refreshes = 0
        for stats in report["clients"].values():
            requests += stats["attempts"]
            logins += stats["logins"]
            refreshes += stats["refreshes"]
        figures.update(requests=requests, logins=logins, refreshes=refreshes)
        summary.workers[address] = figures
    for address, counts in per_worker.items():  # workers gone since (their counters too)
        summary.workers[address] = {**counts, "pid": "gone"}
    summary.elapsed = time.monotonic() - started
    return summary


# -- the command ----------------------------------------------------------------------------------


def add_parser(commands: Any, leaf: Callable[[argparse.ArgumentParser, Any], None]) -> None:
    """Register ``asyncsdk migrate`` on the CLI's subcommands."""
    p = commands.add_parser(
        "migrate",
        help="copy connectors' files into a MAXIR dataset, on a Dask cluster",
        description="Copy the files of MOI connectors into a MAXIR dataset as data sources, "
        "skipping what exists, sharded over Dask workers (pip install 'asyncsdk[dask]'). "
        "Workers read ASYNCSDK_MOI_* and ASYNCSDK_MAXIR_* from their environment. Run it "
        "again with the same arguments to resume after a crash.",
    )
    p.add_argument("connector_ids", nargs="+", metavar="CONNECTOR_ID")
    p.add_argument("--dataset", required=True, metavar="DATASET_ID", help="the MAXIR dataset")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        default=2,
        metavar="N",
        help="start a local cluster of N worker processes (%(default)s)",
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="use a running cluster, e.g. tcp://host:8786"
    )
    p.add_argument(
        "--root",
        metavar="DIR",
        help="one shard per directory under DIR (default: one shard per connector)",
    )
    p.add_argument(
        "--checkpoints",
        metavar="DIR",
        default="",
        help="checkpoint directory, reachable by every worker (default: ./asyncsdk-migrate-...)",
    )
    p.add_argument("--page-size", type=int, default=200, help="files per page (%(default)s)")
    p.add_argument(
        "--concurrency", type=int, default=16, help="creates at once per shard (%(default)s)"
    )
    p.add_argument(
        "--url-template",
        default=MigrateOptions.__attrs_attrs__.url_template.default,
        help="each data source's URL; {uri} is the file's uri (%(default)s)",
    )
    p.add_argument(
        "--name-by",
        choices=("filename", "path"),
        default="filename",
        help="name data sources by the file's name, or by connector and path (%(default)s)",
    )
    p.add_argument("--no-progress", action="store_true", help="plain lines, no progress bars")
    p.add_argument("--json", action="store_true", help="print only the summary, as JSON")
    leaf(p, command)


async def command(args: argparse.Namespace, out: Any) -> int:
    """``asyncsdk migrate ...``: returns the exit status."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InvalidInputError(
            'asyncsdk migrate needs Dask distributed: pip install "asyncsdk[dask]"'
        ) from None
    import dask

    if args.scheduler is None and args.workers < 1:
        raise InvalidInputError(f"--workers must be >= 1, got {args.workers}")
    options = MigrateOptions(
        connector_ids=args.connector_ids,
        dataset_id=args.dataset,
        root=args.root,
        page_size=args.page_size,
        concurrency=args.concurrency,
        url_template=args.url_template,
        checkpoints=args.checkpoints,
        name_by=args.name_by,
    )
    from .dask import clients_from_env

    # The driver needs the same variables as the workers: say so before starting a cluster.
    await clients_from_env().aclose()
    stream: TextIO = out.stdout
    reporter = make_reporter(stream, progress=not args.no_progress, quiet=args.json)
    try:
        if args.scheduler is not None:
            async with Client(args.scheduler, asynchronous=True) as client:  # type: ignore[no-untyped-call]
                summary = await run_migration(client, options, reporter)
        else:
            # A shard whose worker died is given to another worker up to this many times.
            with dask.config.set({"distributed.scheduler.allowed-failures": 5}):
                async with (
                    LocalCluster(  # type: ignore[no-untyped-call]
                        n_workers=args.workers,
                        threads_per_worker=1,
                        processes=True,
                        asynchronous=True,
                        dashboard_address=":0",
                        silence_logs=logging.ERROR,
                    ) as cluster,
                    Client(cluster, asynchronous=True) as client,  # type: ignore[no-untyped-call]
                ):
                    summary = await run_migration(client, options, reporter)
    finally:
        reporter.close()
    if args.json:
        out.json(summary.to_json())
    else:
        for line in summary.lines():
            out.line(line)
    if not summary.ok:
        out.error(
            f"migrate did not complete: {len(summary.shards_failed)} shards failed, "
            f"{summary.failed} files refused"
        )
        return 1
    return 0
