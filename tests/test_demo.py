"""The README's first command, run non-interactively."""

from __future__ import annotations

import asyncio
import re
import sys


async def test_asyncsdk_demo_runs_and_reports_what_it_did() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "asyncsdk", "demo",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert "logged in" in text
    match = re.search(r"listed (\d+) connectors", text)
    assert match and int(match.group(1)) == 3
    assert re.search(r"1 login", text)
