"""The ``asyncsdk`` command.

    asyncsdk demo                                  bulk ingestion against the built-in emulator
    asyncsdk emulator --port 8000                  serve the emulator until Ctrl-C
    asyncsdk moi connectors ls
    asyncsdk moi files ls CONNECTOR_ID [--type pdf]
    asyncsdk moi tasks ls [--status running,paused]
    asyncsdk moi tasks get TASK_ID
    asyncsdk moi tasks files TASK_ID [--status failed]
    asyncsdk moi tasks retry TASK_ID (--failed | FILE_ID ...)
    asyncsdk maxir datasets ls [--search TEXT]
    asyncsdk maxir datasources ls DATASET_ID [--status synched]

Credentials come from the environment (``MOIClient.from_env()``, ``MaxirClient.from_env()``):
``ASYNCSDK_MOI_BASE_URL`` and ``_API_KEY`` (or, for a deployment that logs in,
``_ACCOUNT_NAME``, ``_USERNAME``, ``_PASSWORD``; the key wins when both are set);
``ASYNCSDK_MAXIR_BASE_URL``, ``_API_KEY``, ``_USER_ID``.

Listings print aligned columns, or with ``--json`` one JSON object per line (timestamps in ISO
8601, enums by lower-case name such as ``"running"``, fields the models keep out of their repr,
such as secrets, as ``"<hidden>"``). ``-v`` and ``--json`` go before or after the command
(``asyncsdk moi tasks ls --json -v``).

A failure prints one line on stderr and exits non-zero, whatever went wrong: ``asyncsdk: error:
...`` and 1 for a failed call or an unexpected fault (``-v`` adds the traceback), ``<command>:
error: ...`` and 2 for a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, NoReturn, TextIO, TypeVar

import attrs

from . import __version__, _migrate
from ._core.errors import AsyncSDKError
from ._core.paging import AsyncPaginator, ListingProgress
from ._demo import DemoOptions, make_reporter, run_demo
from .emulator.serve import add_emulator_arguments, config_from_args, number_in
from .emulator.serve import serve as serve_emulator
from .maxir import DataSource, DataSourceStatus, MaxirClient
from .maxir.models import Dataset
from .moi import ConnectorFile, FileType, MOIClient, Task, TaskFile, TaskFileStatus
from .moi.models import TaskStatus

__all__ = ["build_parser", "main", "run"]

_log = logging.getLogger("asyncsdk.cli")

T = TypeVar("T")
E = TypeVar("E", bound=Enum)

Handler = Callable[[argparse.Namespace, "Output"], Awaitable[int]]


class UsageError(Exception):
    """A combination of arguments argparse cannot express (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (the command and where to read more) instead
    of the full usage block, so every failure of the command is one line of stderr."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {text} (see '{self.prog} --help')\n")


# -- output ---------------------------------------------------------------------------------------


def to_jsonable(value: Any) -> Any:
    """A model (or anything in one) as plain JSON types.

    Datetimes become ISO 8601 strings and enums their lower-case names (an unknown value keeps
    its number or text: ``"unknown_42"``). A field a model keeps out of its repr (a secret, a
    presigned signature) is kept out here too: shown the way the repr shows it, or left out.
    """
    if isinstance(value, Enum):
        return value.name.lower()
    if isinstance(value, datetime):
        return value.isoformat()
    if attrs.has(type(value)):
        out: dict[str, Any] = {}
        for f in attrs.fields(type(value)):
            item = getattr(value, f.name)
            if f.repr is False:
                continue
            if callable(f.repr) and not _empty(item):
                out[f.name] = f.repr(item)  # "<hidden>", or a link without its signature
            else:
                out[f.name] = to_jsonable(item)
        return out
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    return value


def _empty(value: Any) -> bool:
    # An absent secret reveals nothing: show it as absent (null, "") rather than as "<hidden>".
    return value is None or (isinstance(value, (str, bytes, list, tuple, dict)) and not value)


@attrs.define(frozen=True)
class Column:
    """One column of human output: a header, how to show a row's value, a minimum width."""

    header: str
    show: Callable[[Any], str]
    width: int = 0
    right: bool = False


class Output:
    """Where a command writes: rows as aligned columns, or as JSON lines with ``--json``.

    Rows are written as they arrive (a listing of a million files starts printing at once), so
    columns have fixed minimum widths instead of being measured over the whole listing.
    """

    def __init__(self, stdout: TextIO, stderr: TextIO, *, json_lines: bool = False) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.json_lines = json_lines

    def json(self, value: Any) -> None:
        self.stdout.write(json.dumps(to_jsonable(value), ensure_ascii=False) + "\n")

    def line(self, text: str) -> None:
        self.stdout.write(text + "\n")

    def header(self, columns: Sequence[Column]) -> None:
        if not self.json_lines:
            self.line(_format([c.header for c in columns], columns))

    def row(self, item: Any, columns: Sequence[Column]) -> None:
        if self.json_lines:
            self.json(item)
        else:
            self.line(_format([c.show(item) for c in columns], columns))

    def error(self, message: str) -> None:
        # What was printed so far comes first, then one line, whatever the message holds.
        with contextlib.suppress(OSError, ValueError):
            self.stdout.flush()
        text = " ".join(message.split())
        self.stderr.write(f"asyncsdk: error: {text}\n")
        self.stderr.flush()


def _format(values: Sequence[str], columns: Sequence[Column]) -> str:
    cells = []
    for n, (value, column) in enumerate(zip(values, columns, strict=True)):
        if n == len(columns) - 1 and not column.right:
            cells.append(value)  # the last column is free-form: no padding
        elif column.right:
            cells.append(value.rjust(column.width))
        else:
            cells.append(value.ljust(column.width))
    return "  ".join(cells).rstrip()


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _size(value: int | None) -> str:
    if value is None:
        return "-"
    size = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _name(value: Enum | None) -> str:
    return "-" if value is None else value.name.lower()


CONNECTOR_COLUMNS = (
    Column("ID", lambda c: c.id, 8),
    Column("TYPE", lambda c: _name(c.source_type), 7),
    Column("STATUS", lambda c: c.status or "-", 8),
    Column("CREATED", lambda c: _when(c.created_at), 20),
    Column("NAME", lambda c: c.name),
)
FILE_COLUMNS = (
    Column("TYPE", lambda f: _name(f.type), 9),
    Column("SIZE", lambda f: _size(f.size), 10, right=True),
    Column("UPDATED", lambda f: _when(f.update_time), 20),
    Column("URI", lambda f: f.uri),
)
TASK_COLUMNS = (
    Column("ID", lambda t: t.id, 19),
    Column("STATUS", lambda t: _name(t.status), 9),
    Column("CREATED", lambda t: _when(t.created_at), 20),
    Column("CONNECTOR", lambda t: t.source_connector_id or "-", 9),
    Column("VOLUME", lambda t: t.volume_name or t.volume_id or "-", 16),
    Column("NAME", lambda t: t.name),
)
TASK_FILE_COLUMNS = (
    Column("ID", lambda f: f.id, 19),
    Column("STATUS", lambda f: _name(f.status), 9),
    Column("SIZE", lambda f: _size(f.size), 10, right=True),
    Column("NAME", lambda f: f.name, 24),
    Column("REASON", lambda f: f.reason),
)
DATASET_COLUMNS = (
    Column("ID", lambda d: d.id, 28),
    Column("NAME", lambda d: d.name, 24),
    Column("DESCRIPTION", lambda d: d.description or ""),
)
DATASOURCE_COLUMNS = (
    Column("ID", lambda s: s.id, 26),
    Column("STATUS", lambda s: _name(s.status), 9),
    Column("SIZE", lambda s: _size(s.size), 10, right=True),
    Column("NAME", lambda s: s.name),
)


async def _print_listing(out: Output, listing: AsyncPaginator[T], columns: Sequence[Column]) -> int:
    out.header(columns)
    shown = 0

    def count(progress: ListingProgress) -> None:
        # The paginator counts what it handed out, page by page: a listing that fails after
        # some pages says how to continue, one that fails at once does not.
        nonlocal shown
        shown = progress.items

    listing.with_progress(count)
    try:
        async for item in listing:
            out.row(item, columns)
    except AsyncSDKError as exc:
        message = _without_resume_hint(exc)
        if exc.resume_token and shown:
            # Say how to continue from the command line, not from Python.
            message += f" [continue with --resume-from {exc.resume_token}]"
        out.error(message)
        return 1
    return 0


def _without_resume_hint(exc: AsyncSDKError) -> str:
    # The error's own hint speaks of error.resume_token, for Python callers.
    token, exc.resume_token = exc.resume_token, None
    try:
        return str(exc)
    finally:
        exc.resume_token = token


# -- argument types -------------------------------------------------------------------------------


def _enum_values(enum: type[E], *, what: str) -> Callable[[str], list[E]]:
    """An argparse type: comma-separated names (any case) or numbers of ``enum``."""

    def parse(text: str) -> list[E]:
        values = []
        for part in text.split(","):
            word = part.strip()
            member: E | None = None
            if _is_decimal(word):
                member = enum(int(word))
            else:
                member = next((m for m in enum if m.name.lower() == word.lower()), None)
            if member is None or not word:
                names = ", ".join(m.name.lower() for m in enum)
                raise argparse.ArgumentTypeError(
                    f"unknown {what} {word!r}: use a name ({names}) or a number"
                )
            values.append(member)
        return values

    return parse


def _source_statuses(text: str) -> list[str]:
    known = [s.value for s in DataSourceStatus]
    values = [part.strip().lower() for part in text.split(",")]
    for value in values:
        if value not in known:
            raise argparse.ArgumentTypeError(
                f"unknown data source status {value!r}: use {', '.join(known)}"
            )
    return values


def _is_decimal(text: str) -> bool:
    # str.isdigit() also holds for "²" and other digits int() refuses or reads unexpectedly.
    return text.isascii() and text.isdigit()


def _positive(text: str) -> int:
    if not _is_decimal(text.strip()):
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}")
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _connector_id(text: str) -> str:
    if not _is_decimal(text):
        raise argparse.ArgumentTypeError(
            f"a connector id is a whole number such as 100001, got {text!r}"
        )
    return text


def _flatten(groups: Sequence[Sequence[T]] | None) -> list[T] | None:
    if not groups:
        return None
    return [value for group in groups for value in group]


# -- commands -------------------------------------------------------------------------------------


async def _demo(args: argparse.Namespace, out: Output) -> int:
    options = DemoOptions(
        files=args.files,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        token_ttl=args.token_ttl,
        fault_rate=args.fault_rate,
        seed=args.seed,
        maxir=not args.no_maxir,
    )
    reporter = make_reporter(out.stdout, progress=not args.no_progress, quiet=out.json_lines)
    try:
        summary = await run_demo(options, reporter)
        reporter.summary(summary)
    finally:
        reporter.close()
    if out.json_lines:
        out.json(summary.to_json())
    if not summary.ok:
        failed = summary.batches_failed
        detail = (
            f"{len(failed)} load tasks failed, first: {failed[0]}"
            if failed
            else (f"{summary.files_loaded} of {summary.files_listed} files loaded")
        )
        out.error(f"demo did not complete: {detail}")
        return 1
    return 0


async def _emulator(args: argparse.Namespace, out: Output) -> int:
    try:
        await serve_emulator(config_from_args(args), out=out.stdout)
    except OSError as exc:  # the address is taken, or not this machine's
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        out.error(f"cannot listen on {args.host}:{args.port}: {reason}")
        return 1
    return 0


async def _connectors_ls(args: argparse.Namespace, out: Output) -> int:
    async with MOIClient.from_env() as moi:
        listing = moi.connectors.list(
            keyword=args.keyword,
            page_size=args.page_size,
            max_items=args.limit,
            resume_from=args.resume_from,
        )
        return await _print_listing(out, listing, CONNECTOR_COLUMNS)


async def _files_ls(args: argparse.Namespace, out: Output) -> int:
    async with MOIClient.from_env() as moi:
        listing: AsyncPaginator[ConnectorFile] = moi.connectors.files(
            args.connector_id,
            file_types=_flatten(args.type),
            dir=args.dir,
            page_size=args.page_size,
            max_items=args.limit,
            prefetch=1,
            resume_from=args.resume_from,
        )
        return await _print_listing(out, listing, FILE_COLUMNS)


async def _tasks_ls(args: argparse.Namespace, out: Output) -> int:
    async with MOIClient.from_env() as moi:
        listing: AsyncPaginator[Task] = moi.tasks.list(
            status=_flatten(args.status),
            order_by=args.order_by,
            descending=True if args.desc else None,
            page_size=args.page_size,
            max_items=args.limit,
            resume_from=args.resume_from,
        )
        return await _print_listing(out, listing, TASK_COLUMNS)


async def _tasks_get(args: argparse.Namespace, out: Output) -> int:
    async with MOIClient.from_env() as moi:
        task = await moi.tasks.get(args.task_id)
    if out.json_lines:
        out.json(task)
        return 0
    mode = task.source_config.common_file_task_config
    for label, value in (
        ("id", task.id),
        ("name", task.name or "-"),
        ("status", _name(task.status)),
        ("connector", f"{task.source_connector_id} {task.connector_name}".strip()),
        ("volume", f"{task.volume_id} {task.volume_name}".strip()),
        ("schedule", _name(mode.load_mode_config.load_interval_type)),
        ("uris", ", ".join(mode.uris) or "-"),
        ("created", _when(task.created_at)),
        ("started", _when(task.start_at)),
        ("ended", _when(task.end_at)),
    ):
        out.line(f"{label + ':':<11}{value}")
    return 0


async def _tasks_files(args: argparse.Namespace, out: Output) -> int:
    async with MOIClient.from_env() as moi:
        listing: AsyncPaginator[TaskFile] = moi.tasks.files(
            args.task_id,
            status=_flatten(args.status),
            page_size=args.page_size,
            max_items=args.limit,
            resume_from=args.resume_from,
        )
        return await _print_listing(out, listing, TASK_FILE_COLUMNS)


async def _tasks_retry(args: argparse.Namespace, out: Output) -> int:
    if args.failed == bool(args.file_ids):
        raise UsageError("give the FILE_IDs to retry, or --failed for every failed file")
    async with MOIClient.from_env() as moi:
        if args.failed:
            retried = await moi.tasks.retry_failed(args.task_id)
            if out.json_lines:
                out.json({"task_id": args.task_id, "retried": len(retried)})
            else:
                out.line(f"retrying {len(retried)} failed files of task {args.task_id}")
            return 0
        await moi.tasks.retry_files(args.task_id, args.file_ids)
    if out.json_lines:
        out.json({"task_id": args.task_id, "requested": len(args.file_ids)})
    else:
        out.line(
            f"asked to retry {len(args.file_ids)} files of task {args.task_id} "
            "(files that have not failed are left alone)"
        )
    return 0


async def _datasets_ls(args: argparse.Namespace, out: Output) -> int:
    async with MaxirClient.from_env() as mx:
        listing: AsyncPaginator[Dataset] = mx.datasets.list(
            search=args.search,
            page_size=args.page_size,
            max_items=args.limit,
            resume_from=args.resume_from,
        )
        return await _print_listing(out, listing, DATASET_COLUMNS)


async def _datasources_ls(args: argparse.Namespace, out: Output) -> int:
    async with MaxirClient.from_env() as mx:
        listing: AsyncPaginator[DataSource] = mx.datasources.list(
            args.dataset_id,
            status=_flatten(args.status),
            page_size=args.page_size,
            max_items=args.limit,
            resume_from=args.resume_from,
        )
        return await _print_listing(out, listing, DATASOURCE_COLUMNS)


# -- the parser -----------------------------------------------------------------------------------


def _leaf(parser: argparse.ArgumentParser, handler: Handler) -> None:
    # The leaf parser travels with the arguments, so a usage error found after parsing shows
    # that command's usage line.
    parser.set_defaults(handler=handler, command_parser=parser)


def _output_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    return p


def _listing_options(default_page_size: int = 100) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False, parents=[_output_options()])
    p.add_argument("--limit", type=_positive, metavar="N", help="stop after N items")
    p.add_argument(
        "--page-size",
        type=_positive,
        default=default_page_size,
        metavar="N",
        help="items per request (%(default)s)",
    )
    p.add_argument(
        "--resume-from",
        metavar="TOKEN",
        help="continue a listing that stopped (the token its error gave)",
    )
    return p


def build_parser() -> argparse.ArgumentParser:
    """The ``asyncsdk`` argument parser (each leaf command sets ``handler``)."""
    parser = _Parser(
        prog="asyncsdk",
        description="asyncsdk: the MOI and MAXIR SDK's command line.",
        epilog="MOI credentials: ASYNCSDK_MOI_BASE_URL and ASYNCSDK_MOI_API_KEY, or "
        "ASYNCSDK_MOI_ACCOUNT_NAME, ASYNCSDK_MOI_USERNAME, ASYNCSDK_MOI_PASSWORD (the key wins "
        "when both are set). MAXIR: ASYNCSDK_MAXIR_BASE_URL, "
        "ASYNCSDK_MAXIR_API_KEY, ASYNCSDK_MAXIR_USER_ID.",
    )
    parser.add_argument("--version", action="version", version=f"asyncsdk {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log every HTTP request (method, path, status, time, request id) to stderr",
    )
    parser.add_argument(
        "--json", action="store_true", help="JSON output, for the commands that print results"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="bulk ingestion against the built-in emulator, with live progress",
        description="Start the emulator in this process and run a bulk ingestion against it: "
        "list a connector's files, load them with fan_out, ride through injected faults and "
        "token refreshes, retry failed files, and print a summary.",
    )
    d = DemoOptions()
    demo.add_argument(
        "--files", type=_positive, default=d.files, help="files to ingest (%(default)s)"
    )
    demo.add_argument(
        "--batch-size",
        type=_batch_size,
        default=d.batch_size,
        help="files per load task (%(default)s)",
    )
    demo.add_argument(
        "--concurrency",
        type=_positive,
        default=d.concurrency,
        help="load tasks followed at once (%(default)s)",
    )
    demo.add_argument(
        "--token-ttl",
        type=_token_ttl,
        default=d.token_ttl,
        metavar="SECONDS",
        help="access token lifetime (%(default)s)",
    )
    demo.add_argument(
        "--fault-rate",
        type=_fault_rate,
        default=d.fault_rate,
        metavar="SHARE",
        help="share of reads that fail on purpose, 0 to 0.2 (%(default)s)",
    )
    demo.add_argument("--seed", type=int, default=d.seed, help="seed for data and faults")
    demo.add_argument("--no-maxir", action="store_true", help="skip the MAXIR manifests")
    demo.add_argument(
        "--no-progress", action="store_true", help="plain lines instead of progress bars"
    )
    demo.add_argument(
        "--json", action="store_true", help="print only the summary, as one JSON object"
    )
    _leaf(demo, _demo)

    emulator = commands.add_parser(
        "emulator",
        help="serve the MOI and MAXIR emulator until interrupted",
        description="Serve the in-memory MOI and MAXIR emulator on this machine.",
    )
    add_emulator_arguments(emulator)
    _leaf(emulator, _emulator)

    _migrate.add_parser(commands, _leaf)
    _add_moi(commands)
    _add_maxir(commands)
    _accept_global_options(parser)
    return parser


def _accept_global_options(parser: argparse.ArgumentParser) -> None:
    """Let ``-v`` and ``--json`` follow any command word as well as precede it.

    Below the top level their default is ``SUPPRESS``: argparse copies a subcommand's defaults
    over the values parsed before it, so a default there would undo ``asyncsdk -v moi ...``.
    """
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for sub in {id(p): p for p in action.choices.values()}.values():
            options = {o for a in sub._actions for o in a.option_strings}
            if "--verbose" not in options:
                sub.add_argument(
                    *(["--verbose"] if "-v" in options else ["-v", "--verbose"]),
                    action="store_true",
                    default=argparse.SUPPRESS,
                    help="as 'asyncsdk -v'",
                )
            if "--json" not in options:
                sub.add_argument(
                    "--json", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
                )
            for existing in sub._actions:
                if existing.dest in ("json", "verbose"):
                    existing.default = argparse.SUPPRESS
            _accept_global_options(sub)


def _add_moi(commands: Any) -> None:
    moi = commands.add_parser("moi", help="MOI: connectors, files, load tasks")
    resources = moi.add_subparsers(dest="resource", required=True, metavar="RESOURCE")

    connectors = resources.add_parser("connectors", help="connectors")
    verbs = connectors.add_subparsers(dest="verb", required=True, metavar="VERB")
    ls = verbs.add_parser("ls", help="list connectors", parents=[_listing_options()])
    ls.add_argument("--keyword", help="only connectors whose name contains this")
    _leaf(ls, _connectors_ls)

    files = resources.add_parser("files", help="the files a connector sees")
    verbs = files.add_subparsers(dest="verb", required=True, metavar="VERB")
    ls = verbs.add_parser(
        "ls", help="list a connector's files (cursor paging)", parents=[_listing_options()]
    )
    ls.add_argument("connector_id", type=_connector_id, metavar="CONNECTOR_ID")
    ls.add_argument(
        "--type",
        type=_enum_values(FileType, what="file type"),
        action="append",
        metavar="TYPE",
        help="only these file types: names (pdf, csv, ...) or numbers, comma-separated",
    )
    ls.add_argument("--dir", help="list one directory level (directories show as 'directory')")
    _leaf(ls, _files_ls)

    tasks = resources.add_parser("tasks", help="load tasks")
    verbs = tasks.add_subparsers(dest="verb", required=True, metavar="VERB")
    ls = verbs.add_parser("ls", help="list load tasks", parents=[_listing_options()])
    ls.add_argument(
        "--status",
        type=_enum_values(TaskStatus, what="task status"),
        action="append",
        metavar="STATUS",
        help="running, pausing, paused, finished (or numbers), comma-separated or repeated",
    )
    ls.add_argument("--order-by", choices=("created_at", "updated_at", "end_at"), help="sort field")
    ls.add_argument("--desc", action="store_true", help="newest (largest) first")
    _leaf(ls, _tasks_ls)

    get = verbs.add_parser("get", help="one load task", parents=[_output_options()])
    get.add_argument("task_id", metavar="TASK_ID")
    _leaf(get, _tasks_get)

    files_of = verbs.add_parser(
        "files", help="the files of a load task", parents=[_listing_options()]
    )
    files_of.add_argument("task_id", metavar="TASK_ID")
    files_of.add_argument(
        "--status",
        type=_enum_values(TaskFileStatus, what="file status"),
        action="append",
        metavar="STATUS",
        help="waiting, uploading, paused, failed, succeeded, retrying (or numbers)",
    )
    _leaf(files_of, _tasks_files)

    retry = verbs.add_parser(
        "retry",
        help="retry a task's failed files",
        parents=[_output_options()],
        description="Retry some files of a load task (their ids, from 'tasks files'), or "
        "every failed one with --failed. Files that have not failed are left alone.",
    )
    retry.add_argument("task_id", metavar="TASK_ID")
    retry.add_argument("file_ids", nargs="*", metavar="FILE_ID")
    retry.add_argument("--failed", action="store_true", help="retry every failed file")
    _leaf(retry, _tasks_retry)


def _add_maxir(commands: Any) -> None:
    maxir = commands.add_parser("maxir", help="MAXIR: datasets and data sources")
    resources = maxir.add_subparsers(dest="resource", required=True, metavar="RESOURCE")

    datasets = resources.add_parser("datasets", help="datasets")
    verbs = datasets.add_subparsers(dest="verb", required=True, metavar="VERB")
    ls = verbs.add_parser("ls", help="list datasets", parents=[_listing_options()])
    ls.add_argument("--search", help="only datasets whose name or description contains this")
    _leaf(ls, _datasets_ls)

    sources = resources.add_parser("datasources", help="the data sources of a dataset")
    verbs = sources.add_subparsers(dest="verb", required=True, metavar="VERB")
    ls = verbs.add_parser("ls", help="list a dataset's data sources", parents=[_listing_options()])
    ls.add_argument("dataset_id", metavar="DATASET_ID")
    ls.add_argument(
        "--status",
        type=_source_statuses,
        action="append",
        metavar="STATUS",
        help="synched, synching, invalid; comma-separated or repeated",
    )
    _leaf(ls, _datasources_ls)


def _batch_size(text: str) -> int:
    value = _positive(text)
    if value > 1000:
        raise argparse.ArgumentTypeError(f"at most 1000 files per load task, got {value}")
    return value


_token_ttl = number_in(2, what="seconds", unit=" seconds")
_fault_rate = number_in(0, 0.2, what="a share such as 0.03")


# -- running --------------------------------------------------------------------------------------


async def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace, out: Output) -> int:
    handler: Handler = args.handler
    try:
        return await handler(args, out)
    except UsageError as exc:
        parser.error(str(exc))  # exits with 2, as argparse does for its own usage errors
    except AsyncSDKError as exc:
        out.error(str(exc))
        return 1
    except BrokenPipeError:
        raise  # the reader went away: main() ends quietly
    except Exception as exc:
        # Not an expected failure: still one line, naming what broke; -v adds the traceback.
        _log.debug("unexpected error", exc_info=True)
        out.error(f"unexpected {type(exc).__name__}: {exc} (a bug in asyncsdk; -v shows where)")
        return 1
    finally:
        out.stdout.flush()


async def run(
    argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run one ``asyncsdk`` command in the running event loop; return its exit status.

    Usage errors raise ``SystemExit(2)`` (argparse's convention). Tests call this with
    ``stdout=io.StringIO()``.
    """
    parser = build_parser()
    args = parser.parse_args(list(argv))
    out = Output(
        stdout or sys.stdout, stderr or sys.stderr, json_lines=getattr(args, "json", False)
    )
    with _logging(getattr(args, "verbose", False), out.stderr):
        return await _dispatch(args.command_parser, args, out)


@contextlib.contextmanager
def _logging(verbose: bool, stream: TextIO) -> Iterator[None]:
    """With ``-v``, the SDK's debug lines (one per request, never headers or bodies)."""
    if not verbose:
        yield
        return
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    logger = logging.getLogger("asyncsdk")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``asyncsdk`` console script: run a command, return the process exit status."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    try:
        return asyncio.run(run(arguments))
    except KeyboardInterrupt:
        print("asyncsdk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`asyncsdk moi files ls 1 | head`): not an error. Point stdout
        # at /dev/null so the interpreter's final flush does not complain again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
