"""Serving the emulator from a command line: its options, and the banner that says where it
listens and how to connect. Used by ``python -m asyncsdk.emulator`` and ``asyncsdk emulator``.

On start it prints the URL and the ``export`` lines that point the ``asyncsdk`` CLI and
``MOIClient.from_env()`` / ``MaxirClient.from_env()`` at it. Those are the emulator's built-in
test credentials, not secrets: printing them is the point.
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
from collections.abc import Callable
from typing import TextIO

from . import Emulator, EmulatorConfig
from ._state import GENERATIONS
from .faults import KINDS, Fault


def _fault(text: str) -> Fault:
    """``KIND[:RATE[:PATH]]``, e.g. ``503:0.05`` or ``drop_before:0.01:/connectors/files``."""
    kind, _, rest = text.partition(":")
    rate_text, _, path = rest.partition(":")
    if kind not in KINDS:
        raise argparse.ArgumentTypeError(f"unknown fault kind {kind!r}: one of {', '.join(KINDS)}")
    try:
        rate = float(rate_text) if rate_text else 1.0
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"fault rate must be a number, got {rate_text!r}"
        ) from None
    if not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError(f"fault rate must be within 0 and 1, got {rate_text}")
    if path and not path.startswith("/"):
        raise argparse.ArgumentTypeError(f"fault path must start with '/', got {path!r}")
    return Fault(kind, rate=rate, path=path or None)


def number_in(
    low: float, high: float | None = None, *, what: str = "a number", unit: str = ""
) -> Callable[[str], float]:
    """An argparse type: a float within [low, high], refused with a message naming the range
    (``unit`` follows a lone lower bound: "must be >= 0 seconds")."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if high is None and not value >= low:
            raise argparse.ArgumentTypeError(f"must be >= {low:g}{unit}, got {text}")
        if high is not None and not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be within {low:g} and {high:g}, got {text}")
        return value

    return parse


_seconds = number_in(0, what="seconds", unit=" seconds")
_share = number_in(0, 1, what="a share within 0 and 1")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be within 0 and 65535, got {value}")
    return value


def add_emulator_arguments(p: argparse.ArgumentParser) -> None:
    """The emulator's options, shared by ``python -m asyncsdk.emulator`` and
    ``asyncsdk emulator``."""
    d = EmulatorConfig()
    p.add_argument("--host", default=d.host, help="address to listen on (%(default)s)")
    p.add_argument(
        "--port", type=_port, default=8000, help="port, 0 for any free one (%(default)s)"
    )
    p.add_argument("--seed", type=int, default=d.seed, help="seed for data and faults")
    p.add_argument(
        "--api",
        choices=GENERATIONS,
        default=d.api,
        help="MOI API generation to speak: the seed-era wire or the current one the vendor's "
        "clients speak (%(default)s)",
    )
    p.add_argument(
        "--lenient",
        action="store_true",
        help="ignore query parameters and body fields a route does not know (default: refuse "
        "them with a 400 naming them)",
    )
    p.add_argument(
        "--access-token-ttl",
        type=float,
        default=d.access_token_ttl,
        metavar="SECONDS",
        help="MOI access token lifetime (%(default)s)",
    )
    p.add_argument(
        "--refresh-token-ttl",
        type=float,
        default=d.refresh_token_ttl,
        metavar="SECONDS",
        help="MOI refresh token lifetime (%(default)s)",
    )
    p.add_argument(
        "--latency-ms",
        type=_seconds,
        default=d.latency_ms,
        help="delay added to every request, in milliseconds",
    )
    p.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="KIND[:RATE[:PATH]]",
        help="inject a fault into this share of requests (default rate 1) under "
        f"PATH; repeatable. Kinds: {', '.join(KINDS)}",
    )
    p.add_argument(
        "--churn",
        type=_share,
        default=d.churn_rate,
        metavar="RATE",
        help="before this share of requests, create or delete one task or data source at a "
        "random position, seeded by --seed (%(default)s)",
    )
    moi = p.add_argument_group("MOI data")
    moi.add_argument(
        "--connectors",
        type=_count,
        default=d.connectors,
        help="connectors seeded at start (%(default)s)",
    )
    moi.add_argument(
        "--files-per-connector",
        type=_count,
        default=d.files_per_connector,
        help="source files in each connector (%(default)s)",
    )
    moi.add_argument(
        "--tasks", type=_count, default=d.tasks, help="load tasks seeded at start (%(default)s)"
    )
    moi.add_argument(
        "--task-file-seconds",
        type=_seconds,
        default=d.task_file_seconds,
        help="how long each step of a load-task file takes (%(default)s)",
    )
    moi.add_argument(
        "--task-file-failure-rate",
        type=_share,
        default=d.task_file_failure_rate,
        help="share of load-task files failing their first try (%(default)s)",
    )
    moi.add_argument(
        "--job-file-seconds",
        type=_seconds,
        default=d.job_file_seconds,
        help="how long a processing job takes per file (%(default)s)",
    )
    moi.add_argument(
        "--job-file-failure-rate",
        type=_share,
        default=d.job_file_failure_rate,
        help="share of processing-job files that fail (%(default)s)",
    )
    maxir = p.add_argument_group("MAXIR data")
    maxir.add_argument(
        "--maxir-datasets",
        type=_count,
        default=d.maxir_datasets,
        help="datasets seeded at start (%(default)s)",
    )
    maxir.add_argument(
        "--maxir-datasources-per-dataset",
        type=_count,
        default=d.maxir_datasources_per_dataset,
        help="data sources in each seeded dataset (%(default)s)",
    )
    maxir.add_argument(
        "--maxir-sync-seconds",
        type=_seconds,
        default=d.maxir_sync_seconds,
        help="how long a new data source stays synching (%(default)s)",
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m asyncsdk.emulator",
        description="Serve the in-memory MOI and MAXIR emulator on this machine.",
    )
    add_emulator_arguments(p)
    return p


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        api=args.api,
        strict=not args.lenient,
        access_token_ttl=args.access_token_ttl,
        refresh_token_ttl=args.refresh_token_ttl,
        latency_ms=args.latency_ms,
        faults=list(args.fault),
        connectors=args.connectors,
        files_per_connector=args.files_per_connector,
        tasks=args.tasks,
        task_file_seconds=args.task_file_seconds,
        task_file_failure_rate=args.task_file_failure_rate,
        job_file_seconds=args.job_file_seconds,
        job_file_failure_rate=args.job_file_failure_rate,
        maxir_datasets=args.maxir_datasets,
        maxir_datasources_per_dataset=args.maxir_datasources_per_dataset,
        maxir_sync_seconds=args.maxir_sync_seconds,
        churn_rate=args.churn,
    )


def environment(emu: Emulator) -> dict[str, str]:
    """The ``ASYNCSDK_*`` variables that point ``from_env()`` clients at ``emu``."""
    moi, maxir = emu.moi_credentials, emu.maxir_credentials
    return {
        "ASYNCSDK_MOI_BASE_URL": emu.url,
        "ASYNCSDK_MOI_ACCOUNT_NAME": moi["account_name"],
        "ASYNCSDK_MOI_USERNAME": moi["username"],
        "ASYNCSDK_MOI_PASSWORD": moi["password"],
        "ASYNCSDK_MOI_API_KEY": emu.api_key,
        "ASYNCSDK_MAXIR_BASE_URL": emu.url,
        "ASYNCSDK_MAXIR_API_KEY": maxir["api_key"],
        "ASYNCSDK_MAXIR_USER_ID": maxir["user_id"],
    }


async def serve(config: EmulatorConfig, *, out: TextIO | None = None) -> None:
    """Serve until cancelled, after printing where and how to connect."""
    stream = out if out is not None else sys.stdout
    async with Emulator(config) as emu:
        # The URL ends the first line: scripts take it from there.
        lines = [f"asyncsdk emulator listening on {emu.url}"]
        lines.append(f"# MOI API: {config.api}" + ("" if config.strict else " (lenient)"))
        faults = ", ".join(
            f"{f.kind} {f.rate:g}" + (f" on {f.path}" if f.path else "") for f in config.faults
        )
        if faults:
            lines.append(f"# injecting faults: {faults}")
        if config.churn_rate:
            lines.append(
                f"# churn: one row created or deleted before {config.churn_rate:g} of requests"
            )
        lines.append("# Ctrl-C stops it. Its test credentials, for the CLI and from_env():")
        lines += [f"export {k}={shlex.quote(v)}" for k, v in environment(emu).items()]
        print("\n".join(lines), file=stream, flush=True)
        await asyncio.Event().wait()
