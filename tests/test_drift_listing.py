"""Numbered listings over data that moves, over real sockets.

The emulator's churn creates and deletes rows at random positions before a share of the
requests it receives (seeded, driven by the request count, not the clock), while a listing of
5,000 rows runs, at concurrency 1 and 8, and across a pass abandoned mid-way and resumed from
its token by a new client after more rows moved. What must hold: every row that existed for
the whole run is yielded exactly once; no row is yielded twice; nothing else is yielded.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest

from asyncsdk import MaxirClient, MOIClient, PaginationError
from asyncsdk._core.paging import AsyncPaginator
from asyncsdk.emulator import Churn, Emulator
from asyncsdk.emulator.__main__ import config_from_args, environment, parser

ROWS = 5_000
PAGE = 100


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    # 5,000 tasks without files; one dataset of 5,000 data sources.
    async with Emulator(
        tasks=ROWS,
        files_per_seeded_task=0,
        maxir_datasets=1,
        maxir_datasources_per_dataset=ROWS,
    ) as emulator:
        yield emulator


def task_ids(emu: Emulator) -> set[str]:
    assert emu.state.moi_tasks is not None
    return {str(t) for t in emu.state.moi_tasks.tasks}


def source_ids(emu: Emulator) -> set[str]:
    return {s for sources in emu.maxir.sources.values() for s in sources}


def the_dataset(emu: Emulator) -> str:
    return next(iter(emu.maxir.datasets))


def check_exact(got: Sequence[str], before: set[str], churn: Churn) -> None:
    """Rows present for the whole run exactly once; none twice; nothing from nowhere."""
    assert churn.deleted and churn.created, "the churn must have moved rows during the run"
    twice = len(got) - len(set(got))
    assert twice == 0, f"{twice} row(s) yielded twice"
    whole_run = before - set(churn.deleted)
    missing = whole_run - set(got)
    assert not missing, f"{len(missing)} row(s) present for the whole run were skipped"
    assert set(got) <= before | set(churn.created)


Listing = Callable[[Any, int, str | None], AsyncPaginator[Any]]


def moi_listing(client: Any, concurrency: int, token: str | None) -> AsyncPaginator[Any]:
    return client.tasks.list(page_size=PAGE, concurrency=concurrency, resume_from=token)  # type: ignore[no-any-return]


def maxir_listing(dataset: str) -> Listing:
    def listing(client: Any, concurrency: int, token: str | None) -> AsyncPaginator[Any]:
        return client.datasources.list(  # type: ignore[no-any-return]
            dataset, page_size=PAGE, concurrency=concurrency, resume_from=token
        )

    return listing


def client_for(emu: Emulator, service: str) -> MOIClient | MaxirClient:
    if service == "moi":
        return MOIClient(emu.url, **emu.moi_credentials)
    return MaxirClient(emu.url, **emu.maxir_credentials)


def setup(emu: Emulator, service: str, seed: int) -> tuple[Listing, set[str], Churn]:
    listing: Listing
    if service == "moi":
        before, listing = task_ids(emu), moi_listing
        churn = emu.churn(rate=0.3, seed=seed, targets=("tasks",))
    else:
        before, listing = source_ids(emu), maxir_listing(the_dataset(emu))
        churn = emu.churn(rate=0.3, seed=seed, targets=("datasources",))
    return listing, before, churn


@pytest.mark.parametrize("service", ["moi", "maxir"])
@pytest.mark.parametrize("concurrency", [1, 8])
async def test_a_listing_over_moving_rows_yields_each_lasting_row_once(
    emu: Emulator, service: str, concurrency: int
) -> None:
    async with client_for(emu, service) as client:
        listing, before, churn = setup(emu, service, seed=concurrency)
        paginator = listing(client, concurrency, None)
        got = [item.id async for item in paginator]
    check_exact(got, before, churn)
    # The cost: extra requests only because rows moved (bounded by the changes seen: up to 3
    # to find the place, the page that showed the change, and the pages held, at most twice
    # the window).
    assert paginator.drift_requests > 0
    assert paginator.drift_requests <= churn.changes * (3 + 1 + 2 * concurrency)


@pytest.mark.parametrize("service", ["moi", "maxir"])
async def test_a_pass_resumed_by_a_new_client_after_rows_moved_is_exact(
    emu: Emulator, service: str
) -> None:
    async with client_for(emu, service) as client:
        listing, before, churn = setup(emu, service, seed=11)
        got: list[str] = []
        it = aiter(listing(client, 8, None))
        # The job dies mid-page after 2,345 rows: the pass is abandoned.
        async for item in it:
            got.append(item.id)
            if len(got) == 2_345:
                break
        token = it.resume_token
        assert token is not None
    # While it was down, rows moved anywhere, before and after its position.
    emu.move_rows(60)
    async with client_for(emu, service) as client:
        got += [item.id async for item in listing(client, 1, token)]
    check_exact(got, before, churn)


@pytest.mark.parametrize("service", ["moi", "maxir"])
async def test_a_job_killed_mid_listing_resumes_exactly_in_a_new_process(
    emu: Emulator, service: str
) -> None:
    listing, before, churn = setup(emu, service, seed=23)
    # The first job is another process; rows move under it, and it dies after 1,777 rows.
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests._drift_child",
        service,
        emu.url,
        "1777",
        the_dataset(emu),
        env={**os.environ, **environment(emu)},
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await child.communicate()
    assert child.returncode == 0
    first = json.loads(out)
    got: list[str] = first["ids"]
    assert len(got) == 1_777
    emu.move_rows(60)
    async with client_for(emu, service) as client:
        got += [item.id async for item in listing(client, 8, first["token"])]
    check_exact(got, before, churn)


async def test_when_every_anchor_is_gone_the_pass_says_so_with_a_token(emu: Emulator) -> None:
    assert emu.state.moi_tasks is not None
    async with MOIClient(emu.url, **emu.moi_credentials) as moi:
        it = aiter(moi.tasks.list(page_size=PAGE))
        got = []
        async for task in it:
            got.append(task.id)
            if len(got) == 250:
                break
        token = it.resume_token
        # The 20 rows copied last are deleted (the token's anchors with them).
        for task_id in got[-20:]:
            del emu.state.moi_tasks.tasks[task_id]
        emu.state.moi_tasks.version += 1
        with pytest.raises(PaginationError, match="position cannot be found") as info:
            await moi.tasks.list(page_size=PAGE, resume_from=token).collect()
        # Never a silent skip: the error carries a token, and nothing was handed out.
        assert info.value.resume_token is not None


async def test_churn_from_the_command_line_and_the_config() -> None:
    args = parser().parse_args(
        ["--churn", "0.5", "--seed", "3", "--tasks", "30", "--maxir-datasets", "0"]
    )
    config = config_from_args(args)
    assert config.churn_rate == 0.5
    async with Emulator(config) as emu, MOIClient(emu.url, **emu.moi_credentials) as moi:
        first = await moi.tasks.list(page_size=10).collect()
        again = await moi.tasks.list(page_size=10).collect()
        assert [t.id for t in first] != [t.id for t in again]  # rows moved between passes
    with pytest.raises(SystemExit):
        parser().parse_args(["--churn", "2"])
