"""``asyncsdk demo``: a bulk-ingestion run against the built-in emulator, with live progress.

The run, in order: start the emulator in this process (short-lived access tokens, a few percent
of requests failing on purpose); log in; create and validate a connector; list its files through
the cursor iterator; split them into load tasks and, with :func:`asyncsdk.fan_out`, run one
pipeline per task (create it, follow its files, retry the ones that failed, publish a manifest
of the batch to MAXIR and wait for it to sync); then print a summary.

Every figure in the summary comes from a real counter: the clients' ``stats``, the emulator's
own counts, and the items the run processed. Progress is a set of rich bars on a terminal (when
rich is installed), plain timestamped lines otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, TextIO

from attrs import asdict, define, field

from ._core.client import ClientStats
from ._core.errors import (
    AsyncSDKError,
    InvalidInputError,
    RateLimitError,
    ServerError,
    TransportError,
)
from ._core.fanout import fan_out
from ._core.retry import RetryPolicy
from .emulator import Emulator, EmulatorConfig, Fault
from .maxir import DataSourceStatus, MaxirClient
from .moi import FileType, MOIClient, OSSConfig, Task, TaskFileCounts

__all__ = ["DemoError", "DemoOptions", "DemoSummary", "make_reporter", "run_demo"]

#: How often a batch's pipeline looks at its task's files.
_POLL_SECONDS = 0.2
#: A batch whose files have not all loaded by then is reported as failed.
_BATCH_DEADLINE = 120.0
#: Rounds of "retry the failed files" before a batch gives up on them.
_RETRY_ROUNDS = 3
#: Retries shown one by one as they happen; the rest are only counted.
_RETRIES_SHOWN = 5
#: The SDK's debug line for a retry: "GET /task/files: HTTP 503; retry 1 in 0.105 s".
_RETRY_LINE = re.compile(r"; retry \d+ in ")
#: A bulk job's retry policy, as the README recommends for background work: at the demo's
#: highest fault rate (20%) five attempts lose about one call in 3,000, which a run of a few
#: hundred calls hits now and then; eight lose one in 390,000.
_BULK_RETRY = RetryPolicy(max_attempts=8)


class DemoError(AsyncSDKError):
    """The demo did not complete: some batch failed, or files were left unloaded."""


@define(frozen=True)
class DemoOptions:
    """What ``asyncsdk demo`` runs: how many files, in batches of what size, how many at a
    time, how long access tokens live, and the share of requests that fail on purpose."""

    files: int = 5000
    batch_size: int = 250
    concurrency: int = 8
    token_ttl: float = 3.0
    fault_rate: float = 0.03
    seed: int = 1
    maxir: bool = True

    def __attrs_post_init__(self) -> None:
        # The CLI checks these too, with argparse's messages; this guards programmatic use.
        if self.files < 1:
            raise InvalidInputError(f"files must be >= 1, got {self.files}")
        if not 1 <= self.batch_size <= 1000:
            raise InvalidInputError(f"batch_size must be within 1..1000, got {self.batch_size}")
        if self.concurrency < 1:
            raise InvalidInputError(f"concurrency must be >= 1, got {self.concurrency}")
        if not self.token_ttl >= 2:
            raise InvalidInputError(f"token_ttl must be >= 2 seconds, got {self.token_ttl}")
        if not 0 <= self.fault_rate <= 0.2:
            raise InvalidInputError(f"fault_rate must be within 0..0.2, got {self.fault_rate}")

    @property
    def batches(self) -> int:
        return math.ceil(self.files / self.batch_size)


def demo_faults(rate: float) -> list[Fault]:
    """The weather the demo runs in: ``rate`` of reads fail (5xx, 429, dropped connections).

    Writes see only 503 and 429, the two answers that prove the service did not act, so the
    SDK may repeat even a create; a 500 or a dropped connection after a create leaves it
    unknown whether the task exists, which the demo does not set out to show.
    """
    if rate <= 0:
        return []
    share = rate / 5
    return [
        Fault("503", rate=share),
        Fault("429", rate=share, retry_after=0.1),
        Fault("500", rate=share, method="GET"),
        Fault("502", rate=share, method="GET"),
        Fault("drop_before", rate=share, method="GET"),
    ]


def emulator_config(options: DemoOptions) -> EmulatorConfig:
    """The emulator the demo starts: ``options.files`` files per connector, short tokens,
    load-task files that take about a second and fail 5% of the time on their first try."""
    return EmulatorConfig(
        seed=options.seed,
        access_token_ttl=options.token_ttl,
        files_per_connector=options.files,
        task_file_seconds=0.4,
        task_file_failure_rate=0.05,
        maxir_datasets=1,
        maxir_datasources_per_dataset=10,
        maxir_sync_seconds=0.4,
        faults=demo_faults(options.fault_rate),
    )


# -- the summary ----------------------------------------------------------------------------------


@define
class DemoSummary:
    """What the run did, from real counters. ``rows()`` is the table, ``to_json()`` the same
    figures for scripts."""

    files_listed: int = 0
    pages: int = 0
    tasks: int = 0
    files_loaded: int = 0
    files_retried: int = 0
    files_in_volume: int = 0
    manifests_synched: int = 0
    batches_failed: list[str] = field(factory=list)
    moi: ClientStats = field(factory=ClientStats)
    maxir: ClientStats = field(factory=ClientStats)
    emulator_requests: int = 0
    emulator_logins: int = 0
    emulator_refreshes: int = 0
    faults_injected: dict[str, int] = field(factory=dict)
    elapsed: float = 0.0
    token_ttl: float = 0.0
    concurrency: int = 0

    @property
    def ok(self) -> bool:
        return (
            not self.batches_failed
            and self.files_listed > 0
            and self.files_loaded == self.files_listed
        )

    def rows(self) -> list[tuple[str, str, str]]:
        """(figure, value, where it comes from) for every line of the summary table."""
        moi, mx = self.moi, self.maxir
        faults = sum(self.faults_injected.values())
        breakdown = ", ".join(f"{k} x{v}" for k, v in sorted(self.faults_injected.items()))
        rows = [
            ("files listed", f"{self.files_listed:,}", f"cursor iterator, {self.pages} pages"),
            ("load tasks", f"{self.tasks:,}", f"fan_out, {self.concurrency} at a time"),
            ("files loaded", f"{self.files_loaded:,}", "succeeded, per tasks.file_counts"),
            ("files retried", f"{self.files_retried:,}", "failed once; tasks.retry_failed"),
            ("files in volume", f"{self.files_in_volume:,}", "the raw volume's file count"),
        ]
        if mx.calls:
            rows.append(("manifests synched", f"{self.manifests_synched:,}", "MAXIR data sources"))
        rows += [
            ("SDK calls", f"{moi.calls + mx.calls:,}", _split(moi.calls, mx.calls)),
            ("HTTP requests", f"{moi.attempts + mx.attempts:,}", _split(moi.attempts, mx.attempts)),
            ("HTTP retries", f"{moi.retries + mx.retries:,}", _split(moi.retries, mx.retries)),
            ("401 replays", f"{moi.replays + mx.replays:,}", "calls replayed after a 401"),
            ("logins", f"{moi.logins:,}", f"MOI; the emulator saw {self.emulator_logins}"),
            (
                "token refreshes",
                f"{moi.refreshes:,}",
                f"{self.token_ttl:g} s tokens; the emulator saw {self.emulator_refreshes}",
            ),
            ("faults injected", f"{faults:,}", breakdown or "none"),
            ("elapsed", f"{self.elapsed:.1f}", "seconds"),
        ]
        return rows

    def to_json(self) -> dict[str, Any]:
        """The summary as one JSON-ready object."""
        return {
            "ok": self.ok,
            "files_listed": self.files_listed,
            "pages": self.pages,
            "tasks": self.tasks,
            "files_loaded": self.files_loaded,
            "files_retried": self.files_retried,
            "files_in_volume": self.files_in_volume,
            "manifests_synched": self.manifests_synched,
            "batches_failed": list(self.batches_failed),
            "moi": asdict(self.moi),
            "maxir": asdict(self.maxir),
            "emulator": {
                "requests": self.emulator_requests,
                "logins": self.emulator_logins,
                "refreshes": self.emulator_refreshes,
                "faults_injected": dict(self.faults_injected),
            },
            "token_ttl": self.token_ttl,
            "elapsed_seconds": round(self.elapsed, 3),
        }


def _split(moi: int, maxir: int) -> str:
    return f"MOI {moi:,}, MAXIR {maxir:,}" if maxir else "MOI"


# -- progress reporting ---------------------------------------------------------------------------


class Reporter(Protocol):
    """Where the demo says what is happening: rich bars, plain lines, or nothing."""

    def begin(self, key: str, label: str, total: int) -> None:
        """A new bar (or progress figure) named ``key``."""

    def advance(self, key: str, amount: int = 1) -> None:
        """Move a bar on."""

    def note(self, text: str) -> None:
        """An event worth a line of its own."""

    def counters(self, text: str) -> None:
        """The live counters (requests, retries, refreshes), replaced at each call."""

    def tick(self) -> None:
        """Called a few times a second; plain output prints a progress line now and then."""

    def summary(self, summary: DemoSummary) -> None:
        """The closing table."""

    def close(self) -> None:
        """Stop live output (idempotent)."""


class _Stage:
    __slots__ = ("done", "label", "total")

    def __init__(self, label: str, total: int) -> None:
        self.label = label
        self.total = total
        self.done = 0


class PlainReporter:
    """Timestamped lines, for logs, pipes and terminals without rich."""

    def __init__(self, stream: TextIO, *, every: float = 1.0) -> None:
        self._stream = stream
        self._every = every
        self._started = time.monotonic()
        self._stages: dict[str, _Stage] = {}
        self._counters = ""
        self._last_line = time.monotonic()
        self._last_state: tuple[int, ...] = ()

    def _print(self, text: str) -> None:
        print(text, file=self._stream, flush=True)

    def begin(self, key: str, label: str, total: int) -> None:
        self._stages[key] = _Stage(label, total)

    def advance(self, key: str, amount: int = 1) -> None:
        self._stages[key].done += amount

    def note(self, text: str) -> None:
        self._print(f"[{time.monotonic() - self._started:5.1f}s] {text}")

    def counters(self, text: str) -> None:
        self._counters = text

    def tick(self) -> None:
        now = time.monotonic()
        active = [s for s in self._stages.values() if s.done < s.total]
        state = tuple(s.done for s in self._stages.values())
        if not active or now - self._last_line < self._every or state == self._last_state:
            return
        self._last_line, self._last_state = now, state
        bars = " | ".join(f"{s.label} {s.done:,}/{s.total:,}" for s in active)
        self.note(f"{bars} | {self._counters}" if self._counters else bars)

    def summary(self, summary: DemoSummary) -> None:
        self._print("")
        self._print("summary")
        for label, value, note in summary.rows():
            self._print(f"  {label:<18}{value:>9}  {note}")

    def close(self) -> None:
        return None


class QuietReporter:
    """Nothing at all (``--json``: the summary object is the output)."""

    def begin(self, key: str, label: str, total: int) -> None:
        return None

    def advance(self, key: str, amount: int = 1) -> None:
        return None

    def note(self, text: str) -> None:
        return None

    def counters(self, text: str) -> None:
        return None

    def tick(self) -> None:
        return None

    def summary(self, summary: DemoSummary) -> None:
        return None

    def close(self) -> None:
        return None


def _rich_reporter(stream: TextIO) -> Reporter:
    """Live bars with rich (imported here: rich is the optional ``[cli]`` extra)."""
    from rich.console import Console, RenderableType
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.table import Table
    from rich.text import Text

    class _Bars(Progress):
        """Progress bars with the live counters on a line under them."""

        def __init__(self, *columns: Any, **options: Any) -> None:
            # Replaced whole (never mutated) from the event loop, read by rich's refresh
            # thread; set first, because Progress renders once while it is constructed.
            self.status = Text()
            super().__init__(*columns, **options)

        def get_renderables(self) -> Iterable[RenderableType]:
            yield self.make_tasks_table(self.tasks)
            yield self.status

    class RichReporter:
        def __init__(self) -> None:
            self._started = time.monotonic()
            self._console = Console(file=stream, highlight=False)
            self._bars = _Bars(
                SpinnerColumn(),
                TextColumn("{task.description:<16}"),
                BarColumn(bar_width=40),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self._console,
                refresh_per_second=10,
            )
            self._ids: dict[str, TaskID] = {}
            self._bars.start()

        def begin(self, key: str, label: str, total: int) -> None:
            self._ids[key] = self._bars.add_task(label, total=total)

        def advance(self, key: str, amount: int = 1) -> None:
            self._bars.advance(self._ids[key], amount)

        def note(self, text: str) -> None:
            stamp = f"{time.monotonic() - self._started:5.1f}s"
            self._bars.console.print(Text.assemble((stamp, "dim"), " ", text))

        def counters(self, text: str) -> None:
            self._bars.status = Text(text, style="cyan")

        def tick(self) -> None:
            return None

        def summary(self, summary: DemoSummary) -> None:
            self.close()
            table = Table(title="summary", title_justify="left")
            table.add_column("figure")
            table.add_column("value", justify="right", style="bold")
            table.add_column("where it comes from", style="dim")
            for label, value, note in summary.rows():
                table.add_row(label, value, note)
            self._console.print(table)

        def close(self) -> None:
            self._bars.stop()

    return RichReporter()


def make_reporter(stream: TextIO, *, progress: bool = True, quiet: bool = False) -> Reporter:
    """Rich bars when rich is installed, ``stream`` is a terminal and ``progress`` is on;
    plain lines otherwise; nothing when ``quiet``."""
    if quiet:
        return QuietReporter()
    if progress and _isatty(stream):
        try:
            import rich  # noqa: F401  (the optional [cli] extra)
        except ImportError:
            pass
        else:
            return _rich_reporter(stream)
    return PlainReporter(stream)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


class _RetryLog(logging.Handler):
    """Shows the SDK's own debug lines about retries, as they happen (the first few)."""

    def __init__(self, show: Callable[[str], None]) -> None:
        super().__init__(logging.DEBUG)
        self._show = show
        self.seen = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if not _RETRY_LINE.search(message):
            return
        self.seen += 1
        if self.seen <= _RETRIES_SHOWN:
            self._show(f"retrying: {message}")
        if self.seen == _RETRIES_SHOWN:
            self._show("(further retries are counted, not shown)")


@contextlib.contextmanager
def _retry_log(show: Callable[[str], None]) -> Iterator[_RetryLog]:
    logger = logging.getLogger("asyncsdk.http")
    handler = _RetryLog(show)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


# -- the run --------------------------------------------------------------------------------------


@define
class _Batch:
    number: int
    uris: Sequence[str]

    @property
    def name(self) -> str:
        return f"demo-batch-{self.number:03d}"


@define
class _BatchResult:
    task_id: str
    loaded: int
    retried: int
    manifest_synched: bool


def _batches(uris: Sequence[str], size: int) -> list[_Batch]:
    return [
        _Batch(n, uris[start : start + size])
        for n, start in enumerate(range(0, len(uris), size), start=1)
    ]


async def _find_task(moi: MOIClient, name: str) -> Task:
    """The task just created under ``name``: MOI's create answers no id, and with several
    creators at once only a unique name tells the new tasks apart."""
    async for task in moi.tasks.list(order_by="created_at", descending=True, page_size=50):
        if task.name == name:
            return task
    raise DemoError(f"task {name} was created but does not appear in the task listing")


async def run_demo(options: DemoOptions, reporter: Reporter) -> DemoSummary:
    """Run the demo and return its summary (also when some batch failed: see ``ok``)."""
    started = time.monotonic()
    summary = DemoSummary(token_ttl=options.token_ttl, concurrency=options.concurrency)
    config = emulator_config(options)
    async with Emulator(config) as emu:
        reporter.note("asyncsdk demo: a bulk ingestion against the built-in emulator")
        reporter.note(
            f"emulator serving MOI and MAXIR on {emu.url}: access tokens live "
            f"{options.token_ttl:g} s; about {options.fault_rate:.0%} of reads fail on purpose"
        )
        async with (
            MOIClient(emu.url, retry=_BULK_RETRY, **emu.moi_credentials) as moi,
            MaxirClient(emu.url, retry=_BULK_RETRY, **emu.maxir_credentials) as mx,
        ):
            reporter.note(f"logged in to MOI as {config.username} (logins: {moi.stats.logins})")
            ticker = asyncio.create_task(_tick(reporter, moi, mx), name="asyncsdk-demo-ticker")
            try:
                with _retry_log(reporter.note):
                    await _ingest(options, moi, mx if options.maxir else None, reporter, summary)
            finally:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
            summary.moi, summary.maxir = moi.stats, mx.stats
        summary.emulator_requests = emu.stats.requests
        summary.emulator_logins = emu.stats.logins
        summary.emulator_refreshes = emu.stats.refreshes
        summary.faults_injected = emu.faults_injected
    summary.elapsed = time.monotonic() - started
    return summary


async def _tick(reporter: Reporter, moi: MOIClient, mx: MaxirClient) -> None:
    """Keep the live counters current, and say when a token refresh happens."""
    refreshes = moi.stats.refreshes
    while True:
        stats, mstats = moi.stats, mx.stats
        if stats.refreshes > refreshes:
            refreshes = stats.refreshes
            reporter.note(
                f"access token refreshed in the background (refresh #{refreshes}); "
                "calls kept flowing"
            )
        reporter.counters(
            f"requests {stats.attempts + mstats.attempts:,} | "
            f"retries {stats.retries + mstats.retries:,} | "
            f"refreshes {stats.refreshes}"
        )
        reporter.tick()
        await asyncio.sleep(0.1)


async def _ingest(
    options: DemoOptions,
    moi: MOIClient,
    mx: MaxirClient | None,
    reporter: Reporter,
    summary: DemoSummary,
) -> None:
    # The connector's credentials are the emulator's; real ones come from your secret store.
    bucket = OSSConfig(
        endpoint="oss-cn-hangzhou.aliyuncs.com",
        access_key_id="LTAI-demo",
        access_key_secret="demo-secret",
        bucket_name="demo-landing",
    )
    connector = await moi.connectors.create("demo-landing", bucket, resolve=True)
    if connector is None:
        raise DemoError("the new connector does not appear in the connector listing")
    valid = await moi.connectors.validate(
        connector_id=connector.id, source_type=connector.source_type
    )
    reporter.note(
        f"created connector {connector.name} (id {connector.id}); "
        f"validate: {'valid' if valid else 'INVALID'}"
    )
    volume = await moi.volumes.raw.create("demo-landing", resolve=True)
    if volume is None:
        raise DemoError("the new raw volume does not appear in the volume listing")

    reporter.begin("list", "files listed", options.files)
    uris: list[str] = []
    # Pages, not items, only to count them for the summary; `async for f in files` works too.
    listing = moi.connectors.files(connector.id, page_size=250, prefetch=1)
    async for page in listing.pages():
        summary.pages += 1
        uris.extend(f.uri for f in page.items if f.type != FileType.DIRECTORY)
        reporter.advance("list", len(page))
    summary.files_listed = len(uris)
    reporter.note(f"listed {len(uris):,} files in {summary.pages} pages through the cursor")

    batches = _batches(uris, options.batch_size)
    dataset_id = (await mx.datasets.create("demo manifests")).id if mx is not None else None
    reporter.note(
        f"loading {len(uris):,} files: {len(batches)} load tasks of up to "
        f"{options.batch_size}, {options.concurrency} at a time (fan_out)"
    )
    reporter.begin("load", "files loaded", len(uris))
    reporter.begin("batches", "tasks done", len(batches))

    async def pipeline(batch: _Batch) -> _BatchResult:
        return await _run_batch(moi, mx, dataset_id, connector.id, volume.id, batch, reporter)

    async for outcome in fan_out(pipeline, batches, concurrency=options.concurrency):
        batch = outcome.item
        if outcome.error is not None:
            summary.batches_failed.append(f"{batch.name}: {outcome.error}")
            reporter.note(f"{batch.name} FAILED: {outcome.error}")
            continue
        result = outcome.result()
        summary.tasks += 1
        summary.files_loaded += result.loaded
        summary.files_retried += result.retried
        summary.manifests_synched += result.manifest_synched
        reporter.advance("batches")
        retried = f", {result.retried} retried" if result.retried else ""
        published = ", manifest synched in MAXIR" if result.manifest_synched else ""
        reporter.note(
            f"{batch.name} (task {result.task_id}): {result.loaded} files loaded"
            f"{retried}{published}"
        )

    landed = await moi.volumes.raw.find("demo-landing")
    summary.files_in_volume = landed.file_num if landed is not None else 0


async def _file_counts_or_none(moi: MOIClient, task_id: str) -> TaskFileCounts | None:
    """The task's file counts, or None when the poll went unanswered even after the SDK's
    retries: that says nothing about the task, which carries on server-side, so the watcher
    looks again at its next tick rather than failing the batch."""
    try:
        return await moi.tasks.file_counts(task_id)
    except (ServerError, RateLimitError, TransportError):
        return None


async def _run_batch(
    moi: MOIClient,
    mx: MaxirClient | None,
    dataset_id: str | None,
    connector_id: str,
    volume_id: str,
    batch: _Batch,
    reporter: Reporter,
) -> _BatchResult:
    """One load task from start to finish: create, follow, retry failed files, publish."""
    await moi.tasks.create(connector_id, volume_id, batch.uris, name=batch.name)
    task = await _find_task(moi, batch.name)
    deadline = time.monotonic() + _BATCH_DEADLINE
    loaded = retried = rounds = 0
    total: int | None = None  # from the last poll that was answered
    while True:
        counts = await _file_counts_or_none(moi, task.id)
        if counts is not None:
            total = counts.total
            if counts.succeeded > loaded:
                reporter.advance("load", counts.succeeded - loaded)
                loaded = counts.succeeded
            if counts.succeeded == counts.total:
                break
            settled = counts.succeeded + counts.failed == counts.total
            if settled and counts.failed:
                if rounds == _RETRY_ROUNDS:
                    raise DemoError(f"{counts.failed} files still fail after {rounds} retries")
                rounds += 1
                retried += len(await moi.tasks.retry_failed(task.id))
        if time.monotonic() > deadline:
            missing = "files" if total is None else f"{total - loaded} files"
            raise DemoError(f"task {task.id}: {missing} not loaded after {_BATCH_DEADLINE:g} s")
        await asyncio.sleep(_POLL_SECONDS)  # polling the service: nothing to wait on locally

    synched = False
    if mx is not None and dataset_id is not None:
        manifest = "uri\n" + "".join(f"{uri}\n" for uri in batch.uris)
        name = f"{batch.name}.csv"
        key = await mx.datasources.upload_file(manifest.encode(), filename=name)
        source = await mx.datasources.create(dataset_id, name, file_object_key=key)
        source = await mx.datasources.wait(
            dataset_id, source.id, interval=0.2, max_interval=0.5, max_wait=60
        )
        synched = source.status is DataSourceStatus.SYNCHED
    return _BatchResult(task.id, loaded, retried, synched)
