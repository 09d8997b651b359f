"""The ``asyncsdk`` command: ``asyncsdk demo``, ``asyncsdk emulator``."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence

from . import MOIClient
from ._core.errors import AsyncSDKError
from .emulator import Emulator
from .emulator.__main__ import config_from_args
from .emulator.__main__ import parser as emulator_parser
from .emulator.__main__ import serve as serve_emulator


async def demo(out: object = sys.stdout) -> int:
    """Start the emulator in-process, log in, list connectors, and say what happened."""

    def say(text: str) -> None:
        print(text, file=out, flush=True)  # type: ignore[call-overload]

    started = time.perf_counter()
    async with Emulator() as emu:
        say(f"emulator serving MOI on {emu.url}")
        async with MOIClient(emu.url, **emu.moi_credentials) as moi:
            say(f"logged in as {emu.config.username} (logins: {moi.stats.logins})")
            connectors = await moi.connectors.list().collect()
            say(f"listed {len(connectors)} connectors:")
            for connector in connectors:
                say(f"  {connector.id}  {connector.source_type.name:<4} {connector.name}")
            stats = moi.stats
        say(
            f"done in {(time.perf_counter() - started) * 1000:.0f} ms: {stats.calls} calls, "
            f"{stats.attempts} HTTP requests, {stats.retries} retries, "
            f"{stats.logins} login, {stats.refreshes} refreshes"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="asyncsdk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the demo against the built-in emulator")
    commands.add_parser(
        "emulator",
        help="serve the MOI and MAXIR emulator",
        parents=[emulator_parser()],
        add_help=False,
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            return asyncio.run(demo())
        asyncio.run(serve_emulator(config_from_args(args)))
        return 0
    except KeyboardInterrupt:
        return 130
    except AsyncSDKError as exc:
        print(f"asyncsdk: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
