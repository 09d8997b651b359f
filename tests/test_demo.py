"""``asyncsdk demo``, the README's first command: run as a user runs it (non-interactively, and
in a terminal through a pty), and with ``--json``; each run's summary figures are checked."""

from __future__ import annotations

import asyncio
import fcntl
import io
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

from asyncsdk import RetryPolicy, cli
from asyncsdk._demo import PlainReporter, QuietReporter, _Batch, _run_batch, make_reporter
from asyncsdk.emulator import Emulator, Fault
from asyncsdk.moi import MOIClient, OSSConfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
#: A row of the plain summary: "  files loaded          5,000  succeeded, per ..."
ROW = re.compile(r"^  (?P<label>\S.*?)\s{2,}(?P<value>[\d,.]+)  (?P<note>.*)$")


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCSDK_")}
    env["PYTHONPATH"] = ROOT  # this checkout, whether or not asyncsdk is installed
    return env


def summary_rows(text: str) -> dict[str, tuple[float, str]]:
    """The plain summary table: figure -> (value, note)."""
    lines = text.splitlines()
    assert "summary" in lines, text
    rows = {}
    for line in lines[lines.index("summary") + 1 :]:
        match = ROW.match(line)
        assert match, f"not a summary row: {line!r}"
        rows[match["label"]] = (float(match["value"].replace(",", "")), match["note"])
    return rows


async def test_asyncsdk_demo_runs_and_its_summary_adds_up() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asyncsdk",
        "demo",
        cwd=ROOT,
        env=environment(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    text = out.decode()
    assert proc.returncode == 0, err.decode() + text
    assert err == b""
    assert not ANSI.search(text)  # not a terminal: plain lines

    rows = summary_rows(text)
    value = {label: v for label, (v, _) in rows.items()}
    note = {label: n for label, (_, n) in rows.items()}
    assert value["files listed"] == value["files loaded"] == value["files in volume"] == 5000
    assert value["load tasks"] == value["manifests synched"] == 20
    assert value["files retried"] >= 1  # 5% of load-task files fail their first try
    assert value["HTTP retries"] >= 1 and value["faults injected"] >= 1
    assert value["token refreshes"] >= 1 and value["logins"] >= 1
    # The client's counts and the emulator's agree.
    assert note["logins"].endswith(f"saw {value['logins']:.0f}")
    assert note["token refreshes"].endswith(f"saw {value['token refreshes']:.0f}")
    assert value["HTTP requests"] >= value["SDK calls"] + value["HTTP retries"]
    assert 0 < value["elapsed"] < 120

    # What happened was shown as it happened.
    assert re.search(r"listed 5,000 files in \d+ pages through the cursor", text)
    assert re.search(r"files loaded [\d,]+/5,000", text)  # a progress line
    assert "access token refreshed in the background (refresh #1)" in text
    assert re.search(r"retrying: \w+ /\S+: (HTTP \d+|APIConnectionError); retry 1 in", text)


async def test_demo_json_summary() -> None:
    out = io.StringIO()
    code = await cli.run(
        [
            "demo",
            "--json",
            "--files",
            "600",
            "--batch-size",
            "200",
            "--concurrency",
            "3",
            "--fault-rate",
            "0.2",
        ],
        stdout=out,
    )
    assert code == 0
    [line] = out.getvalue().splitlines()
    summary = json.loads(line)
    assert summary["ok"] is True
    assert summary["files_listed"] == summary["files_loaded"] == 600
    assert summary["files_in_volume"] == 600
    assert summary["tasks"] == summary["manifests_synched"] == 3
    assert summary["batches_failed"] == []
    moi, maxir, emulator = summary["moi"], summary["maxir"], summary["emulator"]
    assert moi["logins"] == emulator["logins"] >= 1
    assert moi["refreshes"] == emulator["refreshes"]
    assert moi["retries"] + maxir["retries"] >= 1
    assert sum(emulator["faults_injected"].values()) >= 1
    assert moi["attempts"] >= moi["calls"] and maxir["attempts"] >= maxir["calls"]
    assert emulator["requests"] >= moi["attempts"] + maxir["attempts"]


async def test_demo_without_maxir() -> None:
    out = io.StringIO()
    code = await cli.run(["demo", "--json", "--no-maxir", "--files", "250"], stdout=out)
    assert code == 0
    summary = json.loads(out.getvalue())
    assert summary["files_loaded"] == summary["files_in_volume"] == 250
    assert summary["manifests_synched"] == 0 and summary["maxir"]["calls"] == 0


def test_demo_in_a_terminal_shows_live_progress_and_the_summary() -> None:
    pytest.importorskip("rich")
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = environment()
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM", "COLUMNS", "LINES", "TTY_INTERACTIVE"):
        env.pop(name, None)
    env["TERM"] = "xterm-256color"
    captured = b""
    try:
        with subprocess.Popen(
            [sys.executable, "-m", "asyncsdk", "demo", "--files", "1000"],
            cwd=ROOT,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
        ) as proc:
            os.close(slave)
            slave = -1
            deadline = time.monotonic() + 120
            while True:
                ready, _, _ = select.select([master], [], [], max(deadline - time.monotonic(), 0))
                if not ready:
                    proc.kill()
                    raise TimeoutError("the demo did not finish in time")
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the terminal's other side is closed, the demo ended
                    break
                if not chunk:
                    break
                captured += chunk
            code = proc.wait(timeout=30)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    raw = captured.decode(errors="replace")
    text = ANSI.sub("", raw)
    assert code == 0, text
    assert "\x1b[" in raw  # a live display, redrawn in place
    assert re.search(r"files loaded\s+━+\s+1000/1000", text)  # a finished progress bar
    assert re.search(r"tasks done\s+━+\s+4/4", text)
    assert "requests " in text and " | retries " in text  # the live counters
    assert re.search(r"┃ figure\s+┃ value ┃ where it comes from", text)  # the summary table
    assert re.search(r"│ files loaded\s+│\s+1,000 │", text)
    assert re.search(r"│ load tasks\s+│\s+4 │", text)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_only_with_rich_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("rich")
    bars = make_reporter(FakeTerminal())
    try:
        assert type(bars).__name__ == "RichReporter"
    finally:
        bars.close()
    assert isinstance(make_reporter(io.StringIO()), PlainReporter)  # a pipe or a file
    assert isinstance(make_reporter(FakeTerminal(), progress=False), PlainReporter)
    assert isinstance(make_reporter(FakeTerminal(), quiet=True), QuietReporter)
    monkeypatch.setitem(sys.modules, "rich", None)  # rich not installed: plain lines
    assert isinstance(make_reporter(FakeTerminal()), PlainReporter)


@pytest.mark.parametrize(
    ("flag", "complaint"),
    [
        (["--batch-size", "5000"], "at most 1000 files per load task"),
        (["--fault-rate", "0.5"], "within 0 and 0.2"),
        (["--token-ttl", "1"], ">= 2 seconds"),
        (["--files", "0"], "at least 1"),
    ],
)
def test_demo_options_are_checked(
    flag: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["demo", *flag])
    assert exit_.value.code == 2
    assert complaint in capsys.readouterr().err


async def test_an_unanswered_poll_does_not_fail_the_batch() -> None:
    # The first three task-file polls get 503s: with two attempts per call the watcher's
    # first poll fails outright, and the batch must still finish, because the load task
    # itself carries on server-side whatever its watcher saw.
    unanswered = Fault("503", path="/task/files", method="GET", limit=3)
    fast = RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_cap=0.02)
    async with (
        Emulator(files_per_connector=30, task_file_seconds=0.05, faults=[unanswered]) as emu,
        MOIClient(emu.url, retry=fast, **emu.moi_credentials) as moi,
    ):
        bucket = OSSConfig(
            endpoint="oss.example.com", access_key_id="id", access_key_secret="s", bucket_name="b"
        )
        connector = await moi.connectors.create("c", bucket, resolve=True)
        volume = await moi.volumes.raw.create("v", resolve=True)
        assert connector is not None and volume is not None
        uris = [f.uri async for f in moi.connectors.files(connector.id)]
        result = await _run_batch(
            moi, None, None, connector.id, volume.id, _Batch(1, uris), QuietReporter()
        )
        assert unanswered.fired == 3
        assert result.loaded == len(uris) == 30
