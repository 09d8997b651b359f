"""The ``asyncsdk`` command against the emulator: every command, ``--json`` line by line, exit
statuses, one-line errors without secrets, and the emulator command end to end."""

from __future__ import annotations

import io
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import IO, Any

import pytest
from attrs import define

from asyncsdk import (
    MaxirClient,
    MOIClient,
    TaskFileStatus,
    TaskStatus,
    cli,
)
from asyncsdk.emulator import Emulator, Fault
from asyncsdk.emulator.__main__ import config_from_args, environment, parser

from ._scripted_envelopes import Answer, Scripted

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@define
class Result:
    code: int
    out: str
    err: str

    def lines(self) -> list[str]:
        return self.out.splitlines()

    def json(self) -> list[dict[str, Any]]:
        """Every stdout line as its own JSON object (fails on any line that is not one)."""
        objects = [json.loads(line) for line in self.lines()]
        assert all(isinstance(o, dict) for o in objects)
        return objects

    def one_line_error(self) -> str:
        assert self.code == 1
        assert self.err.startswith("asyncsdk: error: ")
        assert self.err.count("\n") == 1, self.err
        assert "Traceback" not in self.err
        return self.err.strip()


async def asyncsdk(*argv: str, stdout: IO[str] | None = None) -> Result:
    out = stdout if stdout is not None else io.StringIO()
    err = io.StringIO()
    code = await cli.run(list(argv), stdout=out, stderr=err)  # type: ignore[arg-type]
    return Result(code, out.getvalue() if isinstance(out, io.StringIO) else "", err.getvalue())


@pytest.fixture
async def emu(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Emulator]:
    """An emulator with quick, often-failing load-task files, and the env pointing at it."""
    async with Emulator(
        task_file_seconds=0.02,
        task_file_failure_rate=0.5,
        files_per_connector=300,
        maxir_datasets=2,
        maxir_datasources_per_dataset=60,
        seed=3,
    ) as emulator:
        for name, value in environment(emulator).items():
            monkeypatch.setenv(name, value)
        yield emulator


@pytest.fixture
async def moi_on_emu(emu: Emulator) -> AsyncIterator[MOIClient]:
    """The SDK's view, to check the command's output against."""
    async with MOIClient(emu.url, **emu.moi_credentials) as client:
        yield client


@pytest.fixture
async def mx(emu: Emulator) -> AsyncIterator[MaxirClient]:
    async with MaxirClient(emu.url, **emu.maxir_credentials) as client:
        yield client


def column_starts(header: str) -> list[int]:
    return [m.start() for m in re.finditer(r"\S+", header)]


# -- MOI ------------------------------------------------------------------------------------------


async def test_connectors_ls_prints_aligned_columns(emu: Emulator) -> None:
    result = await asyncsdk("moi", "connectors", "ls")
    assert result.code == 0, result.err
    header, *rows = result.lines()
    assert header.split() == ["ID", "TYPE", "STATUS", "CREATED", "NAME"]
    assert [row.split()[0] for row in rows] == ["100001", "100002", "100003"]
    name_at = header.index("NAME")
    assert all(row[name_at:].startswith("connector-") for row in rows)


async def test_connectors_ls_json_hides_secrets(emu: Emulator) -> None:
    result = await asyncsdk("moi", "connectors", "ls", "--json")
    assert result.code == 0, result.err
    connectors = result.json()
    assert [c["id"] for c in connectors] == ["100001", "100002", "100003"]
    assert connectors[0]["source_type"] == "oss" and connectors[1]["source_type"] == "s3"
    assert connectors[0]["config"]["oss"]["access_key_secret"] == "<hidden>"
    assert connectors[0]["config"]["dify"] is None  # absent, not "<hidden>"
    assert "emulator-secret" not in result.out
    assert connectors[0]["created_at"].endswith("+00:00")  # ISO 8601, timezone-aware


async def test_files_ls_follows_the_cursor(emu: Emulator, moi_on_emu: MOIClient) -> None:
    result = await asyncsdk("moi", "files", "ls", "100001", "--page-size", "40", "--json")
    assert result.code == 0, result.err
    files = result.json()
    expected = await moi_on_emu.connectors.files("100001").collect()
    assert [f["uri"] for f in files] == [f.uri for f in expected]
    assert len(files) == 300
    pages = [r for r in emu.requests if r.path == "/connectors/files/list"]
    assert len(pages) >= 300 // 40  # the command paged, 40 at a time


async def test_files_ls_filters_types_and_limits(emu: Emulator) -> None:
    result = await asyncsdk(
        "moi", "files", "ls", "100001", "--type", "pdf,csv", "--type", "7", "--limit", "12"
    )
    assert result.code == 0, result.err
    header, *rows = result.lines()
    assert header.split() == ["TYPE", "SIZE", "UPDATED", "URI"]
    assert len(rows) == 12
    assert {row.split()[0] for row in rows} <= {"pdf", "csv"}


async def test_files_ls_can_resume_after_a_failure_mid_listing(
    emu: Emulator, moi_on_emu: MOIClient
) -> None:
    class BreakAfterFirstRow(io.StringIO):
        """Makes every later page fail as soon as the first row has been printed."""

        def write(self, text: str) -> int:
            if not self.getvalue():
                emu.inject(Fault("malformed", rate=1.0, path="/connectors/files/list"))
            return super().write(text)

    first = await asyncsdk(
        "moi",
        "files",
        "ls",
        "100001",
        "--page-size",
        "25",
        "--json",
        stdout=BreakAfterFirstRow(),
    )
    message = first.one_line_error()
    match = re.search(r"--resume-from (\S+)\]$", message)
    assert match, message
    assert "error.resume_token" not in message  # the hint for Python callers is left out
    printed = [f["uri"] for f in first.json()]
    assert 0 < len(printed) < 300

    emu.clear_faults()
    rest = await asyncsdk(
        "moi",
        "files",
        "ls",
        "100001",
        "--page-size",
        "25",
        "--json",
        "--resume-from",
        match.group(1),
    )
    assert rest.code == 0, rest.err
    expected = [f.uri for f in await moi_on_emu.connectors.files("100001").collect()]
    assert printed + [f["uri"] for f in rest.json()] == expected


async def test_an_error_before_any_row_offers_no_resume(emu: Emulator) -> None:
    emu.inject(Fault("malformed", rate=1.0, path="/connectors/files/list"))
    result = await asyncsdk("moi", "files", "ls", "100001")
    assert "--resume-from" not in result.one_line_error()
    assert "resume_token" not in result.err


async def test_tasks_ls_takes_status_names_and_numbers(
    emu: Emulator, moi_on_emu: MOIClient
) -> None:
    by_name = await asyncsdk("moi", "tasks", "ls", "--status", "running,paused", "--json")
    by_number = await asyncsdk("moi", "tasks", "ls", "--status", "1", "--status", "3", "--json")
    assert by_name.code == by_number.code == 0
    assert by_name.json() == by_number.json()
    expected = await moi_on_emu.tasks.list(status=[TaskStatus.RUNNING, TaskStatus.PAUSED]).collect()
    assert [t["id"] for t in by_name.json()] == [t.id for t in expected]
    assert {t["status"] for t in by_name.json()} == {"running", "paused"}


async def test_tasks_ls_orders_pages_and_limits(emu: Emulator) -> None:
    result = await asyncsdk(
        "moi",
        "tasks",
        "ls",
        "--order-by",
        "created_at",
        "--desc",
        "--page-size",
        "3",
        "--limit",
        "7",
        "--json",
    )
    assert result.code == 0, result.err
    created = [t["created_at"] for t in result.json()]
    assert len(created) == 7 and created == sorted(created, reverse=True)
    human = await asyncsdk("moi", "tasks", "ls", "--limit", "2")
    header, *rows = human.lines()
    assert header.split() == ["ID", "STATUS", "CREATED", "CONNECTOR", "VOLUME", "NAME"]
    assert len(rows) == 2


async def test_a_bad_status_is_a_usage_error(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        await asyncsdk("moi", "tasks", "ls", "--status", "runing")
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unknown task status 'runing'" in err and "running" in err


async def make_task(emu: Emulator, moi_on_emu: MOIClient, files: int = 20) -> str:
    """A finished once-task with some failed files (about half, at this emulator's rate)."""
    uris = [f.uri for f in await moi_on_emu.connectors.files("100001", max_items=files).collect()]
    volume = next(iter(emu.state.raw_volumes.volumes))
    await moi_on_emu.tasks.create("100001", volume, uris, name="cli-test")
    task = await moi_on_emu.tasks.list(order_by="created_at", descending=True).first()
    assert task is not None and task.name == "cli-test"
    await moi_on_emu.tasks.wait(task.id, interval=0.02, max_interval=0.05, max_wait=30)
    return task.id


async def test_tasks_get_and_files(emu: Emulator, moi_on_emu: MOIClient) -> None:
    task_id = await make_task(emu, moi_on_emu)
    shown = await asyncsdk("moi", "tasks", "get", task_id)
    assert shown.code == 0, shown.err
    assert f"id:        {task_id}" in shown.lines()
    assert "status:    finished" in shown.lines()
    [as_json] = (await asyncsdk("moi", "tasks", "get", task_id, "--json")).json()
    assert as_json["id"] == task_id and as_json["status"] == "finished"

    failed = await asyncsdk("moi", "tasks", "files", task_id, "--status", "failed", "--json")
    expected = await moi_on_emu.tasks.files(task_id, status=[TaskFileStatus.FAILED]).collect()
    assert [f["id"] for f in failed.json()] == [f.id for f in expected]
    assert expected and all(f["reason"] for f in failed.json())
    everything = await asyncsdk("moi", "tasks", "files", task_id)
    assert len(everything.lines()) == 1 + 20


async def test_tasks_retry_failed_reports_how_many(emu: Emulator, moi_on_emu: MOIClient) -> None:
    task_id = await make_task(emu, moi_on_emu)
    failed = (await moi_on_emu.tasks.file_counts(task_id)).failed
    assert failed > 0
    result = await asyncsdk("moi", "tasks", "retry", task_id, "--failed")
    assert result.code == 0, result.err
    assert result.out == f"retrying {failed} failed files of task {task_id}\n"
    assert (await moi_on_emu.tasks.file_counts(task_id)).failed == 0
    again = await asyncsdk("moi", "tasks", "retry", task_id, "--failed", "--json")
    assert again.json() == [{"task_id": task_id, "retried": 0}]


async def test_tasks_retry_named_files(emu: Emulator, moi_on_emu: MOIClient) -> None:
    task_id = await make_task(emu, moi_on_emu)
    failed = [
        f.id
        for f in await moi_on_emu.tasks.files(task_id, status=[TaskFileStatus.FAILED]).collect()
    ]
    result = await asyncsdk("moi", "tasks", "retry", task_id, *failed[:2], "--json")
    assert result.json() == [{"task_id": task_id, "requested": 2}]
    retrying = await moi_on_emu.tasks.files(
        task_id,
        status=[TaskFileStatus.RETRYING, TaskFileStatus.UPLOADING, TaskFileStatus.SUCCEEDED],
    ).collect()
    assert set(failed[:2]) <= {f.id for f in retrying}

    unknown = await asyncsdk("moi", "tasks", "retry", task_id, "123")
    assert "HTTP 404" in unknown.one_line_error()


@pytest.mark.parametrize("argv", [["7"], ["7", "1", "--failed"]])
async def test_tasks_retry_needs_ids_or_failed_not_both(
    emu: Emulator, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        await asyncsdk("moi", "tasks", "retry", *argv)
    assert exit_.value.code == 2
    assert "give the FILE_IDs to retry, or --failed" in capsys.readouterr().err
    assert not [r for r in emu.requests if r.path == "/task/retry"]


async def test_unknown_task_is_one_line_and_exit_1(emu: Emulator) -> None:
    message = (await asyncsdk("moi", "tasks", "get", "42")).one_line_error()
    assert message.startswith("asyncsdk: error: GET /task/get: HTTP 404")
    assert "request id" in message


# -- MAXIR ----------------------------------------------------------------------------------------


async def test_datasets_ls(emu: Emulator, mx: MaxirClient) -> None:
    result = await asyncsdk("maxir", "datasets", "ls", "--json")
    assert result.code == 0, result.err
    assert [d["id"] for d in result.json()] == [d.id async for d in mx.datasets.list()]
    human = await asyncsdk("maxir", "datasets", "ls", "--search", "dataset-1")
    header, *rows = human.lines()
    assert header.split() == ["ID", "NAME", "DESCRIPTION"]
    assert len(rows) == 1 and rows[0].split()[1] == "dataset-1"


async def test_datasources_ls_filters_by_status(emu: Emulator, mx: MaxirClient) -> None:
    dataset = await mx.datasets.list().first()
    assert dataset is not None
    result = await asyncsdk(
        "maxir", "datasources", "ls", dataset.id, "--status", "invalid,synching", "--json"
    )
    assert result.code == 0, result.err
    sources = result.json()
    expected = await mx.datasources.list(dataset.id, status=["invalid", "synching"]).collect()
    assert [s["id"] for s in sources] == [s.id for s in expected]
    assert sources and {s["status"] for s in sources} == {"invalid", "synching"}
    human = await asyncsdk("maxir", "datasources", "ls", dataset.id, "--limit", "5")
    header, *rows = human.lines()
    assert header.split() == ["ID", "STATUS", "SIZE", "NAME"]
    assert len(rows) == 5


async def test_unknown_dataset_and_bad_status(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    message = (await asyncsdk("maxir", "datasources", "ls", "dset-nope")).one_line_error()
    assert "NotFound" in message or "300003" in message
    with pytest.raises(SystemExit):
        await asyncsdk("maxir", "datasources", "ls", "dset-nope", "--status", "done")
    assert "unknown data source status 'done'" in capsys.readouterr().err


# -- failures: one line, exit 1, no secret --------------------------------------------------------


async def test_a_wrong_password_is_one_line_without_the_password(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCSDK_MOI_PASSWORD", "hunter2-wrong")
    # The emulator also exports an API key, which from_env() prefers: this test is the login's.
    monkeypatch.delenv("ASYNCSDK_MOI_API_KEY", raising=False)
    result = await asyncsdk("moi", "tasks", "ls")
    assert "HTTP 401" in result.one_line_error()
    assert "hunter2" not in result.out + result.err
    assert emu.stats.failed_logins == 1  # refused once, not retried


async def test_a_wrong_api_key_is_one_line_without_the_key(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCSDK_MAXIR_API_KEY", "pd-not-the-key")
    result = await asyncsdk("maxir", "datasets", "ls")
    assert "HTTP 403" in result.one_line_error()
    assert "pd-not-the-key" not in result.out + result.err


async def test_missing_env_vars_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASYNCSDK_MOI_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ASYNCSDK_MOI_ACCOUNT_NAME", "acme")
    monkeypatch.delenv("ASYNCSDK_MOI_USERNAME", raising=False)
    monkeypatch.setenv("ASYNCSDK_MOI_PASSWORD", "s3cret-value")
    result = await asyncsdk("moi", "connectors", "ls")
    message = result.one_line_error()
    assert message == ("asyncsdk: error: missing environment variable(s): ASYNCSDK_MOI_USERNAME")
    monkeypatch.delenv("ASYNCSDK_MAXIR_BASE_URL", raising=False)
    monkeypatch.delenv("ASYNCSDK_MAXIR_API_KEY", raising=False)
    result = await asyncsdk("maxir", "datasets", "ls")
    assert "ASYNCSDK_MAXIR_BASE_URL, ASYNCSDK_MAXIR_API_KEY" in result.one_line_error()


async def test_a_malformed_base_url_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (
        ("ASYNCSDK_MOI_BASE_URL", "localhost:8000"),
        ("ASYNCSDK_MOI_ACCOUNT_NAME", "acme"),
        ("ASYNCSDK_MOI_USERNAME", "admin"),
        ("ASYNCSDK_MOI_PASSWORD", "s3cret-value"),
    ):
        monkeypatch.setenv(name, value)
    message = (await asyncsdk("moi", "tasks", "ls")).one_line_error()
    assert "base_url must start with http:// or https://" in message
    assert "s3cret-value" not in message


async def test_verbose_logs_requests_not_credentials(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASYNCSDK_MOI_API_KEY", raising=False)  # log in, to see "logged in"
    result = await asyncsdk("-v", "moi", "connectors", "ls")
    assert result.code == 0
    assert re.search(r"GET /connectors/list -> 200 in [\d.]+ ms \(request id \S+\)", result.err)
    assert "logged in" in result.err
    assert emu.config.password not in result.err and "Access-Token" not in result.err
    # The handler is gone afterwards: a later command logs nothing.
    quiet = await asyncsdk("moi", "connectors", "ls")
    assert quiet.err == ""


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--version"])
    assert exit_.value.code == 0
    assert re.fullmatch(r"asyncsdk \d+\.\d+\.\d+\n", capsys.readouterr().out)
    with pytest.raises(SystemExit) as exit_:
        cli.main([])
    assert exit_.value.code == 2


# -- the emulator's options -----------------------------------------------------------------------


def test_emulator_flags_build_the_config() -> None:
    args = parser().parse_args(
        [
            "--port",
            "0",
            "--fault",
            "503:0.05",
            "--fault",
            "drop_before:0.1:/connectors/files",
            "--fault",
            "429",
            "--task-file-seconds",
            "0.1",
            "--task-file-failure-rate",
            "0.2",
            "--job-file-seconds",
            "0.3",
            "--job-file-failure-rate",
            "0.4",
            "--maxir-datasets",
            "1",
            "--maxir-datasources-per-dataset",
            "7",
            "--maxir-sync-seconds",
            "0.5",
            "--files-per-connector",
            "10000",
        ]
    )
    config = config_from_args(args)
    assert [(f.kind, f.rate, f.path) for f in config.faults] == [
        ("503", 0.05, None),
        ("drop_before", 0.1, "/connectors/files"),
        ("429", 1.0, None),
    ]
    assert (config.task_file_seconds, config.task_file_failure_rate) == (0.1, 0.2)
    assert (config.job_file_seconds, config.job_file_failure_rate) == (0.3, 0.4)
    assert (config.maxir_datasets, config.maxir_datasources_per_dataset) == (1, 7)
    assert (config.maxir_sync_seconds, config.files_per_connector) == (0.5, 10000)


@pytest.mark.parametrize(
    ("flag", "complaint"),
    [
        (["--fault", "418:0.1"], "unknown fault kind '418'"),
        (["--fault", "503:often"], "fault rate must be a number"),
        (["--fault", "503:2"], "within 0 and 1"),
        (["--fault", "503:0.1:task"], "must start with '/'"),
        (["--task-file-failure-rate", "1.5"], "within 0 and 1"),
        (["--maxir-sync-seconds", "-1"], ">= 0 seconds"),
    ],
)
def test_bad_emulator_flags_are_usage_errors(
    flag: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["emulator", *flag])
    assert exit_.value.code == 2
    assert complaint in capsys.readouterr().err


# -- end to end, in processes ---------------------------------------------------------------------


class Lines:
    """Lines from a process's pipe, each waited for with a deadline (select on the raw fd:
    a buffered reader would hide lines it has read ahead from select)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._fd = stream.fileno()
        self._buffer = b""

    def readline(self, deadline: float) -> bytes:
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self._fd], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise TimeoutError("no output from the process in time")
            chunk = os.read(self._fd, 65536)
            if not chunk:
                line, self._buffer = self._buffer, b""
                return line
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line + b"\n"


def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asyncsdk", *argv],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_asyncsdk_emulator_serves_the_cli_end_to_end() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASYNCSDK_")}
    env["PYTHONPATH"] = ROOT  # this checkout, whether or not asyncsdk is installed
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "asyncsdk",
            "emulator",
            "--port",
            "0",
            "--fault",
            "503:0.2",
            "--files-per-connector",
            "5000",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as server:
        assert server.stdout is not None and server.stderr is not None
        try:
            deadline = time.monotonic() + 30
            banner: list[str] = []
            output = Lines(server.stdout)
            while len([line for line in banner if line.startswith("export ")]) < 7:
                line = output.readline(deadline).decode()
                assert line, "the emulator exited: " + server.stderr.read().decode()
                banner.append(line)
            assert banner[0].startswith("asyncsdk emulator listening on http://127.0.0.1:")
            assert "# injecting faults: 503 0.2" in "".join(banner)
            for line in banner:
                if line.startswith("export "):
                    name, _, value = line[len("export ") :].strip().partition("=")
                    env[name] = value

            listed = _run(["moi", "tasks", "ls", "--json"], env)
            assert listed.returncode == 0, listed.stderr
            assert len([json.loads(line) for line in listed.stdout.splitlines()]) == 20

            failed = _run(["moi", "tasks", "get", "42"], env)
            assert failed.returncode == 1
            assert failed.stdout == ""
            assert failed.stderr.startswith("asyncsdk: error: GET /task/get: HTTP 404")
            assert failed.stderr.count("\n") == 1

            # A reader that goes away early (`| head -1`) is not an error.
            with subprocess.Popen(
                [sys.executable, "-m", "asyncsdk", "moi", "files", "ls", "100001"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            ) as reader:
                assert reader.stdout is not None and reader.stderr is not None
                first = Lines(reader.stdout).readline(time.monotonic() + 30)
                assert first.startswith(b"TYPE"), first
                reader.stdout.close()
                assert reader.wait(timeout=30) == 0
                assert reader.stderr.read() == b""
        finally:
            server.send_signal(signal.SIGINT)
            code = server.wait(timeout=30)
        assert code == 130
        stopped = server.stderr.read().decode()
        assert stopped == "asyncsdk: interrupted\n", stopped


def test_importing_asyncsdk_needs_no_pytest() -> None:
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, asyncsdk, asyncsdk.cli, asyncsdk.emulator; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest', "
            "'pytest_asyncio', 'rich')))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"


# -- expected failures: one line and a non-zero exit, never a traceback ---------------------------


def one_line_usage_error(err: str, command: str) -> str:
    assert err.startswith(f"{command}: error: "), err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err and "usage:" not in err
    return err.strip()


async def test_a_non_ascii_digit_id_is_a_one_line_usage_error(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["moi", "files", "ls", "²"], ["moi", "files", "ls", "٣"]):
        with pytest.raises(SystemExit) as exit_:
            await asyncsdk(*argv)
        assert exit_.value.code == 2
        message = one_line_usage_error(capsys.readouterr().err, "asyncsdk moi files ls")
        assert "a connector id is a whole number" in message
    with pytest.raises(SystemExit):
        await asyncsdk("moi", "tasks", "ls", "--limit", "²")
    assert "expected a whole number, got '²'" in capsys.readouterr().err
    assert not [r for r in emu.requests if r.path == "/connectors/files/list"]


def test_an_emulator_port_out_of_range_is_a_one_line_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for port in ("70000", "-1"):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["emulator", "--port", port])
        assert exit_.value.code == 2
        message = one_line_usage_error(capsys.readouterr().err, "asyncsdk emulator")
        assert f"--port: must be within 0 and 65535, got {port}" in message


async def test_an_emulator_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = await asyncsdk("emulator", "--host", "127.0.0.1", "--port", str(port))
    message = result.one_line_error()
    assert message == f"asyncsdk: error: cannot listen on 127.0.0.1:{port}: Address already in use"


async def test_a_malformed_code_from_the_server_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = b'{"code": "--5", "msg": "strange\\nanswer"}'
    answers = {"/v2/team/datasets": Answer(200, body, {"Content-Type": "application/json"})}
    async with Scripted(answers) as server:
        monkeypatch.setenv("ASYNCSDK_MAXIR_BASE_URL", server.url)
        monkeypatch.setenv("ASYNCSDK_MAXIR_API_KEY", "pd-key")
        monkeypatch.setenv("ASYNCSDK_MAXIR_USER_ID", "tmm-1")
        result = await asyncsdk("maxir", "datasets", "ls")
    assert result.one_line_error() == (
        "asyncsdk: error: GET /v2/team/datasets: HTTP 200, code --5: strange answer"
    )


async def test_an_unexpected_fault_is_one_line_and_verbose_shows_where(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(cls: type[MOIClient], /, **overrides: Any) -> MOIClient:
        raise KeyError("boom")

    monkeypatch.setattr(MOIClient, "from_env", classmethod(broken))
    result = await asyncsdk("moi", "tasks", "ls")
    assert result.one_line_error() == (
        "asyncsdk: error: unexpected KeyError: 'boom' (a bug in asyncsdk; -v shows where)"
    )
    verbose = await asyncsdk("moi", "tasks", "ls", "-v")
    assert verbose.code == 1
    assert "Traceback" in verbose.err and "in broken" in verbose.err
    assert verbose.err.endswith("(a bug in asyncsdk; -v shows where)\n")


async def test_verbose_and_json_go_before_or_after_the_command(emu: Emulator) -> None:
    expected = (await asyncsdk("moi", "connectors", "ls", "--json")).json()
    assert expected
    for argv in (
        ["--json", "moi", "connectors", "ls"],
        ["moi", "--json", "connectors", "ls"],
        ["moi", "connectors", "ls", "--json", "-v"],
        ["-v", "moi", "connectors", "ls", "--json"],
        ["moi", "connectors", "-v", "ls", "--json"],
    ):
        result = await asyncsdk(*argv)
        assert result.code == 0, (argv, result.err)
        assert result.json() == expected, argv
        assert ("GET /connectors/list -> 200" in result.err) == ("-v" in argv), argv
    tasks = await asyncsdk("moi", "tasks", "ls", "--json", "--limit", "3")
    assert len(tasks.json()) == 3
    quiet = await asyncsdk("moi", "connectors", "ls")
    assert quiet.code == 0 and quiet.err == "" and not quiet.out.startswith("{")
