"""Riding through faults, against the emulator's fault injection, over real sockets."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import pytest

from asyncsdk import (
    APIConnectionError,
    APITimeoutError,
    AsyncSDKError,
    MOIClient,
    OSSConfig,
    RateLimitError,
    RetryPolicy,
    ServerError,
    fan_out,
)
from asyncsdk.emulator import Emulator, Fault, RequestRecord

from ._canary import CANARY_SECRET

#: 10% of requests fail transiently: 1.5% each of 500, 502, 503, 504, dropped before and after
#: acting, and 1% throttled with a short Retry-After.
TEN_PERCENT = [
    *(Fault(kind, rate=0.015) for kind in ("500", "502", "503", "504")),
    Fault("drop_before", rate=0.015),
    Fault("drop_after", rate=0.015),
    Fault("429", rate=0.01, retry_after=0.02),
]

OSS = OSSConfig("oss.example", "id", CANARY_SECRET, "bucket")


def check_backoffs(records: list[RequestRecord], policy: RetryPolicy) -> int:
    """Every retry arrived no earlier than the backoff the client says it took, and that
    backoff is within the policy. Returns how many retries were checked."""
    by_call: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    backoffs: dict[tuple[str, int], float] = {}
    for r in records:
        if r.invocation is None or r.attempt is None:
            continue
        by_call[r.invocation][r.attempt].append(r.at)
        if r.backoff is not None:
            backoffs[(r.invocation, r.attempt)] = r.backoff
    checked = 0
    for invocation, attempts in by_call.items():
        for attempt in sorted(attempts):
            if attempt == 1:
                continue
            waited = backoffs[(invocation, attempt)]
            ceiling = min(policy.backoff_cap, policy.backoff_base * 2 ** (attempt - 2))
            # Full jitter below the ceiling, or a Retry-After the service asked for.
            assert waited <= max(ceiling, policy.max_retry_after), (invocation, attempt)
            # aiohttp may resend one attempt on a dropped keep-alive connection: the wait is
            # measured from the last arrival of the previous attempt.
            gap = min(attempts[attempt]) - max(attempts[attempt - 1])
            assert gap >= waited - 0.002, (invocation, attempt, gap, waited)
            checked += 1
    return checked


async def test_ten_thousand_idempotent_calls_through_ten_percent_faults() -> None:
    async with (
        Emulator(tasks=50, files_per_seeded_task=1, faults=TEN_PERCENT, seed=11) as emu,
        MOIClient(emu.url, **emu.moi_credentials) as moi,
    ):
        assert emu.state.moi_tasks is not None
        ids = list(emu.state.moi_tasks.tasks)
        calls = [ids[i % len(ids)] for i in range(10_000)]
        ok = 0
        failures: list[BaseException] = []
        async for outcome in fan_out(moi.tasks.get, calls, concurrency=64):
            if outcome.ok:
                ok += 1
            else:
                assert outcome.error is not None
                failures.append(outcome.error)
        # Only typed errors, and at most one call in 10,000 lost.
        assert all(isinstance(e, AsyncSDKError) for e in failures)
        assert ok >= 9_999
        faults = emu.faults_injected
        assert sum(faults.values()) > 800  # the faults really happened
        # aiohttp itself resends an idempotent request once when a reused keep-alive
        # connection turns out dropped, so some drops never reach our retry loop.
        drops = faults.get("drop_before", 0) + faults.get("drop_after", 0)
        assert moi.stats.retries >= sum(faults.values()) - drops
        assert check_backoffs(list(emu.requests), moi._session.retry) == moi.stats.retries


async def test_paging_twenty_thousand_items_through_faults_yields_each_once() -> None:
    faults = [Fault(f.kind, rate=f.rate, retry_after=f.retry_after) for f in TEN_PERCENT]
    async with (
        Emulator(
            files_per_connector=20_000, tasks=20_000, files_per_seeded_task=0, faults=faults, seed=5
        ) as emu,
        # Eight attempts (a bulk job's policy): with the default five, one page request in
        # 100,000 draws five faults in a row and ends the listing, about one run in 300.
        MOIClient(emu.url, retry=RetryPolicy(max_attempts=8), **emu.moi_credentials) as moi,
    ):
        store = emu.state.moi_connectors
        assert store is not None
        uris = [f.uri async for f in moi.connectors.files(100001, page_size=100, prefetch=1)]
        assert uris == [store.file(100001, i)["uri"] for i in range(20_000)]
        ids = [t.id async for t in moi.tasks.list(page_size=200, concurrency=8)]
        assert len(ids) == len(set(ids)) == 20_000
        assert emu.faults_injected  # pages did fail along the way


@pytest.mark.parametrize("kind", ["drop_after", "cut"])
async def test_a_create_whose_connection_drops_after_acting_is_not_repeated(
    emulator: Emulator, moi: MOIClient, kind: str
) -> None:
    # "cut": the answer starts, then the connection closes half-way through its body.
    emulator.inject(Fault(kind, path="/connectors", method="POST", limit=1))
    with pytest.raises(APIConnectionError) as info:
        await moi.connectors.create("made-once", OSS)
    assert info.value.request_sent
    posts = [r for r in emulator.requests if r.method == "POST" and r.path == "/connectors"]
    assert len(posts) == 1
    # The service did act: the caller checks before creating again, as the error advises.
    assert await moi.connectors.find("made-once") is not None


async def test_a_read_whose_answer_is_cut_half_way_is_retried(
    emulator: Emulator, moi: MOIClient
) -> None:
    cut = Fault("cut", path="/connectors/list", limit=1)
    emulator.inject(cut)
    connectors = await moi.connectors.list().collect()
    assert cut.fired == 1 and connectors
    lists = [r for r in emulator.requests if r.path == "/connectors/list"]
    assert [(r.fault, r.attempt) for r in lists] == [("cut", 1), (None, 2)]


async def test_a_create_is_repeated_only_when_the_service_did_not_act(
    emulator: Emulator, moi: MOIClient
) -> None:
    # 503 says "not handled": safe to repeat even a create.
    emulator.inject(Fault("503", path="/connectors", method="POST", limit=1))
    await moi.connectors.create("after-503", OSS)
    # 500 may have happened after acting: not repeated.
    emulator.inject(Fault("500", path="/connectors", method="POST", limit=1))
    with pytest.raises(ServerError):
        await moi.connectors.create("after-500", OSS)
    posts = [r for r in emulator.requests if r.method == "POST" and r.path == "/connectors"]
    assert [r.status for r in posts] == [503, 200, 500]


async def test_slow_answers_time_out_then_reads_retry_and_creates_do_not() -> None:
    async with Emulator() as emu, MOIClient(emu.url, **emu.moi_credentials, timeout=0.3) as moi:
        emu.inject(Fault("slow", delay=1.0, path="/task/list", limit=1))
        assert await moi.tasks.list().first() is not None
        assert moi.stats.retries == 1
        emu.inject(Fault("slow", delay=1.0, path="/connectors", method="POST", limit=1))
        with pytest.raises(APITimeoutError) as info:
            await moi.connectors.create("slow-one", OSS)
        assert info.value.request_sent


async def test_a_long_retry_after_is_not_shortened_but_raised(emulator: Emulator) -> None:
    patient = RetryPolicy(max_retry_after=1.0)
    async with MOIClient(emulator.url, **emulator.moi_credentials, retry=patient) as moi:
        emulator.inject(Fault("429", retry_after=30, path="/task/list", limit=1))
        with pytest.raises(RateLimitError) as info:
            await moi.tasks.list().first()
        assert info.value.retry_after == 30
        assert moi.stats.retries == 0


async def test_a_429_pauses_every_call_of_the_client(emulator: Emulator, moi: MOIClient) -> None:
    emulator.inject(Fault("429", retry_after=0.4, path="/task/get", limit=1))
    task = await moi.tasks.list().first()
    assert task is not None
    throttled = asyncio.create_task(moi.tasks.get(task.id))
    # Wait until the client has seen the 429 (a counter: there is no event to wait on).
    for _ in range(400):
        if moi.stats.rate_limited:
            break
        await asyncio.sleep(0.005)
    [hit] = [r for r in emulator.requests if r.status == 429]
    await asyncio.gather(throttled, *(moi.tasks.list(page_size=1).first() for _ in range(5)))
    later = [r for r in emulator.requests if r.path == "/task/list" and r.at > hit.at]
    assert len(later) == 5
    assert all(r.at >= hit.at + 0.4 - 0.01 for r in later)


async def test_the_retry_budget_stops_hammering_a_dead_service(emulator: Emulator) -> None:
    async with MOIClient(emulator.url, **emulator.moi_credentials) as moi:
        task = await moi.tasks.list().first()
        assert task is not None
        emulator.inject(Fault("503", path="/task/get"))
        before = emulator.stats.requests
        errors = [o.error async for o in fan_out(moi.tasks.get, [task.id] * 300, concurrency=50)]
        assert all(isinstance(e, ServerError) for e in errors)
        attempts = emulator.stats.requests - before
        # 300 first attempts, and at most the budget's 100 retries (500 tokens at 5 each).
        assert 300 < attempts <= 400


async def test_retry_policy_per_client_and_per_call(emulator: Emulator) -> None:
    async with MOIClient(emulator.url, **emulator.moi_credentials) as moi:
        task = await moi.tasks.list().first()
        assert task is not None
        emulator.inject(Fault("503", path="/task/get", limit=2))
        with pytest.raises(ServerError):
            await moi.tasks.get(task.id, retry=RetryPolicy.disabled())
        fussy = moi.with_options(retry=RetryPolicy(max_attempts=3, backoff_base=0.01))
        assert (await fussy.tasks.get(task.id)).id == task.id
        assert moi.stats.retries == 1  # the copy shares the counters
