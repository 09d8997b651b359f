"""``python -m asyncsdk.emulator``: serve the emulated MOI and MAXIR APIs until interrupted."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence

from .serve import config_from_args, environment, parser, serve

__all__ = ["config_from_args", "environment", "main", "parser"]


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        asyncio.run(serve(config_from_args(args)))
    except KeyboardInterrupt:
        print("emulator stopped", file=sys.stderr)
    except OSError as exc:  # the address is taken, or not this machine's: one line, no traceback
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        print(f"emulator: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
