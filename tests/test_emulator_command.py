"""``python -m asyncsdk.emulator`` fails in one line, without a traceback, for the failures a
person meets: a port out of range, a port already taken."""

from __future__ import annotations

import socket
import subprocess
import sys


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asyncsdk.emulator", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_port_out_of_range_is_a_usage_error() -> None:
    result = _run("--port", "70000")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "--port: must be within 0 and 65535, got 70000" in result.stderr


def test_a_port_in_use_is_one_line_and_exit_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _run("--host", "127.0.0.1", "--port", str(port))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"emulator: cannot listen on 127.0.0.1:{port}: Address already in use"]
