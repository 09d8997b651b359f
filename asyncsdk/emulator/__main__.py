"""``python -m asyncsdk.emulator``: serve the emulated MOI and MAXIR APIs until interrupted."""

from __future__ import annotations

import asyncio
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
