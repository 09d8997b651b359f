"""``python -m asyncsdk.emulator``: serve the emulated MOI and MAXIR APIs until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from . import Emulator, EmulatorConfig


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m asyncsdk.emulator",
        description="Serve the in-memory MOI and MAXIR emulator on this machine.",
    )
    defaults = EmulatorConfig()
    p.add_argument("--host", default=defaults.host, help="address to listen on (%(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port, 0 for any free one (%(default)s)")
    p.add_argument("--seed", type=int, default=defaults.seed, help="seed for data and faults")
    p.add_argument("--access-token-ttl", type=float, default=defaults.access_token_ttl,
                   help="access token lifetime in seconds (%(default)s)")
    p.add_argument("--refresh-token-ttl", type=float, default=defaults.refresh_token_ttl,
                   help="refresh token lifetime in seconds (%(default)s)")
    p.add_argument("--latency-ms", type=float, default=defaults.latency_ms,
                   help="delay added to every request, in milliseconds")
    p.add_argument("--connectors", type=int, default=defaults.connectors,
                   help="connectors seeded at start")
    p.add_argument("--files-per-connector", type=int, default=defaults.files_per_connector,
                   help="source files in each connector")
    p.add_argument("--tasks", type=int, default=defaults.tasks, help="load tasks seeded at start")
    return p


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        access_token_ttl=args.access_token_ttl,
        refresh_token_ttl=args.refresh_token_ttl,
        latency_ms=args.latency_ms,
        connectors=args.connectors,
        files_per_connector=args.files_per_connector,
        tasks=args.tasks,
    )


async def serve(config: EmulatorConfig) -> None:
    async with Emulator(config) as emu:
        creds = emu.moi_credentials
        print(f"asyncsdk emulator listening on {emu.url}", flush=True)
        print(
            f"  MOI login: account_name={creds['account_name']} username={creds['username']}"
            f" password={creds['password']}",
            flush=True,
        )
        maxir = emu.maxir_credentials
        print(
            f"  MAXIR: base_url={emu.url} api_key={maxir['api_key']} user_id={maxir['user_id']}",
            flush=True,
        )
        await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        asyncio.run(serve(config_from_args(args)))
    except KeyboardInterrupt:
        print("emulator stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
