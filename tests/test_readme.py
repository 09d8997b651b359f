"""Every ```python block of README.md runs, against the emulator.

A block is one of two kinds, told apart by what it is, never by a list of exceptions:

- a whole program (it ends in ``asyncio.run(...)``): it runs as written, with the service's
  address and credentials swapped for the emulator's (``MOIClient``/``MaxirClient`` and their
  ``from_env`` reach the emulator whatever URL, password or key the block names), and the
  README's sample ids (connector ``100004``, the volume and dataset ids) replaced by the
  emulator's own;
- a fragment: it runs as the body of an ``async def`` (so bare ``await`` works) with the names
  a reader has at hand from the sections above, listed in ``fragment_names`` below. A fragment
  that only defines a function is preceded in the README by ``<!-- readme-test: then CODE -->``,
  the line that calls it (run after the block, with the same names).

Blocks tagged anything but ``python`` (shell sessions, output samples, the error tree) are not
code to run. A block that imports a library that is not installed is skipped (the dev extra
installs FastAPI, for the web-backend example). Every client a block creates must be closed by
the block itself: a README example that leaks its client fails here.
"""

from __future__ import annotations

import ast
import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import asyncsdk
from asyncsdk import FileType, MaxirClient, MOIClient, TaskStatus
from asyncsdk.emulator import Emulator, EmulatorConfig

from .test_processing_emulator import add_files

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(
    r"(?:^<!-- readme-test: then (?P<then>.*?) -->\n)?^```(?P<lang>\w*)\n(?P<code>.*?)^```",
    re.DOTALL | re.MULTILINE,
)


def python_blocks() -> Iterator[Any]:
    text = README.read_text(encoding="utf-8")
    for match in FENCE.finditer(text):
        if match["lang"] == "python":
            line = text.count("\n", 0, match.start("code"))
            # A block that only defines a function says, in a comment before it, how to call it.
            then = f"\n{match['then']}\n" if match["then"] else ""
            yield pytest.param(match["code"] + then, id=f"README.md:{line}")


@pytest.fixture
def asyncsdk_emulator_config() -> EmulatorConfig:
    # Four connectors, so that the README's sample connector 100004 exists; few files, and
    # state changes in a moment, so that the examples' waits (which poll once a second at
    # first) mostly find their task or data source done at the first poll.
    return EmulatorConfig(
        connectors=4,
        files_per_connector=40,
        task_file_seconds=0.001,
        task_file_failure_rate=0.0,
        job_file_seconds=0.001,
        maxir_datasources_per_dataset=20,
        maxir_sync_seconds=0.0,
    )


class Checkpoint:
    """The fragments' ``checkpoint``: where a listing stands."""

    def __init__(self) -> None:
        self.token: str | None = None

    def load(self) -> str | None:
        return self.token

    def save(self, token: str | None) -> None:
        self.token = token


class Database:
    """The fragments' ``db``."""

    def __init__(self) -> None:
        self.rows: list[Any] = []

    async def insert_many(self, items: Any) -> None:
        self.rows.extend(items)


async def fragment_names(moi: MOIClient, mx: MaxirClient, emu: Emulator) -> dict[str, Any]:
    """What a fragment may assume: the clients, ids of things that exist, and the reader's own
    helpers (``handle``, ``copy``, ``db``, ``checkpoint``, ``log``) as simple stand-ins."""
    connector = await moi.connectors.list().first()
    volume = await moi.volumes.raw.list().first()
    tasks = await moi.tasks.list(page_size=5, max_items=5).collect()
    dataset = await mx.datasets.list().first()
    assert connector is not None and volume is not None and dataset is not None and tasks
    seen: list[Any] = []
    # The processing example reads a raw volume "contracts", as a load task leaves it, and a
    # component graph from a file.
    contracts = await moi.volumes.raw.create("contracts", resolve=True)
    assert contracts is not None
    add_files(emu, contracts, 2)
    Path("pipeline.json").write_text("{}")

    async def handle(item: Any) -> None:
        seen.append(item)

    async def asgi_get(app: Any, path: str) -> httpx.Response:
        """One request to an ASGI app, inside its lifespan (startup, then shutdown)."""
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://app"
            ) as http,
        ):
            return await http.get(path)

    return {
        "asyncsdk": asyncsdk,
        "FileType": FileType,
        "TaskStatus": TaskStatus,
        "MOIClient": asyncsdk.MOIClient,  # the one reaching the emulator
        "moi": moi,
        "mx": mx,
        "emu": emu,
        "connector_id": connector.id,
        "volume_id": volume.id,
        "task_id": tasks[0].id,
        "task_ids": [t.id for t in tasks],
        "dataset_id": dataset.id,
        "handle": handle,
        "asgi_get": asgi_get,
        "copy": handle,
        "db": Database(),
        "checkpoint": Checkpoint(),
        "log": logging.getLogger("readme"),
    }


def is_asyncio_run(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and ast.unparse(node.value.func) == "asyncio.run"
    )


def as_coroutine(source: str) -> tuple[ast.Module, bool]:
    """The block's code, with a top-level ``asyncio.run(x)`` turned into ``await x``."""
    tree = ast.parse(source)
    program = False
    for index, node in enumerate(tree.body):
        if is_asyncio_run(node):
            assert isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            tree.body[index] = ast.Expr(ast.Await(node.value.args[0]))
            program = True
    return ast.fix_missing_locations(tree), program


@pytest.fixture
def emulator_clients(
    moi_emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[MOIClient | MaxirClient]]:
    """MOIClient and MaxirClient, as a block imports them, reach the emulator; every client
    the block creates is recorded."""
    emu = moi_emulator
    created: list[MOIClient | MaxirClient] = []

    class MOIOnEmulator(MOIClient):
        def __init__(self, base_url: Any = None, **kwargs: Any) -> None:
            # The block's way of signing in (an API key, or an account and a password), with
            # the emulator's values.
            if "api_key" in kwargs:
                kwargs["api_key"] = emu.api_key
                super().__init__(emu.url, **kwargs)
            else:
                for name in ("account_name", "username", "password"):
                    kwargs.pop(name, None)
                super().__init__(emu.url, **kwargs, **emu.moi_credentials)
            created.append(self)

    class MaxirOnEmulator(MaxirClient):
        def __init__(self, base_url: Any = None, **kwargs: Any) -> None:
            kwargs.pop("api_key", None)
            kwargs.pop("user_id", None)
            super().__init__(emu.url, **kwargs, **emu.maxir_credentials)
            created.append(self)

    monkeypatch.setattr(asyncsdk, "MOIClient", MOIOnEmulator)
    monkeypatch.setattr(asyncsdk, "MaxirClient", MaxirOnEmulator)
    for name, value in {
        "ASYNCSDK_MOI_BASE_URL": emu.url,
        "ASYNCSDK_MOI_ACCOUNT_NAME": emu.moi_credentials["account_name"],
        "ASYNCSDK_MOI_USERNAME": emu.moi_credentials["username"],
        "ASYNCSDK_MOI_PASSWORD": emu.moi_credentials["password"],
        "ASYNCSDK_MAXIR_BASE_URL": emu.url,
        "ASYNCSDK_MAXIR_API_KEY": emu.maxir_credentials["api_key"],
        "ASYNCSDK_MAXIR_USER_ID": emu.maxir_credentials["user_id"],
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("ASYNCSDK_MOI_API_KEY", raising=False)  # the password's way, as set above
    yield created


@pytest.fixture
async def sample_ids(
    moi_client: MOIClient, maxir_client: MaxirClient
) -> AsyncIterator[dict[str, str]]:
    """The README's sample ids, mapped to things the emulator has."""
    volume = await moi_client.volumes.raw.list().first()
    dataset = await maxir_client.datasets.list().first()
    assert volume is not None and dataset is not None
    yield {"1889223879880048640": volume.id, "dset-cm5axptyyxxx298": dataset.id}


@pytest.mark.parametrize("source", list(python_blocks()))
async def test_readme_block_runs(
    source: str,
    moi_client: MOIClient,
    maxir_client: MaxirClient,
    moi_emulator: Emulator,
    emulator_clients: list[MOIClient | MaxirClient],
    sample_ids: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # blocks may read and write files (downloads, checkpoints)
    for readme_id, emulator_id in sample_ids.items():
        source = source.replace(f'"{readme_id}"', f'"{emulator_id}"')
    tree, program = as_coroutine(source)
    names: dict[str, Any] = {"__name__": "readme_block"}
    if not program:
        names.update(await fragment_names(moi_client, maxir_client, moi_emulator))
    try:
        code = compile(tree, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, names)  # the README's own code
        if asyncio.iscoroutine(result):
            await result
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] != "asyncsdk":  # a library asyncsdk does not need
            pytest.skip(f"the block needs {exc.name}, which is not installed")
        raise
    leaked = [client for client in emulator_clients if not client.closed]
    assert not leaked, "the block leaves a client open: use `async with`"
