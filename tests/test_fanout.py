"""fan_out: bounded, lazy, isolating failures, cancellable."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from asyncsdk import (
    CallCancelledError,
    FanOutProgress,
    InvalidInputError,
    MOIClient,
    Outcome,
    fan_out,
)
from asyncsdk._core.auth import Grant, TokenAuth
from asyncsdk.emulator import Emulator


class Probe:
    """A function under fan-out that records how many calls run at once."""

    def __init__(self, delay: float = 0.0, fail: set[int] | None = None) -> None:
        self.delay = delay
        self.fail = fail or set()
        self.running = 0
        self.max_running = 0
        self.started: list[float] = []

    async def __call__(self, item: int) -> int:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        self.started.append(time.monotonic())
        try:
            await asyncio.sleep(self.delay)
            if item in self.fail:
                raise ValueError(f"item {item} is bad")
            return item * 2
        finally:
            self.running -= 1


async def test_every_item_gets_one_outcome_and_failures_stay_isolated() -> None:
    probe = Probe(fail={3, 50})
    outcomes = [o async for o in fan_out(probe, range(100), concurrency=10)]
    assert sorted(o.item for o in outcomes) == list(range(100))
    failed = {o.item for o in outcomes if not o.ok}
    assert failed == {3, 50}
    assert all(o.value == o.item * 2 for o in outcomes if o.ok)
    bad = next(o for o in outcomes if o.item == 3)
    assert isinstance(bad.error, ValueError)
    with pytest.raises(ValueError, match="item 3"):
        bad.result()


async def test_outcomes_arrive_in_completion_order() -> None:
    async def slow_first(item: int) -> int:
        await asyncio.sleep(0.05 if item == 0 else 0)
        return item

    order = [o.item async for o in fan_out(slow_first, [0, 1, 2], concurrency=3)]
    assert order[-1] == 0


async def test_concurrency_bounds_calls_in_flight() -> None:
    probe = Probe(delay=0.005)
    async for _ in fan_out(probe, range(200), concurrency=7):
        pass
    assert probe.max_running == 7


async def test_an_async_source_is_not_read_ahead_beyond_the_bound() -> None:
    read = 0

    async def source() -> AsyncIterator[int]:
        nonlocal read
        for i in range(10_000):
            read += 1
            yield i

    taken = 0
    async for _ in fan_out(Probe(), source(), concurrency=5):
        taken += 1
        # Slow consumer: the source must not run ahead of what the slots allow (5 calls in
        # flight and 5 outcomes waiting).
        await asyncio.sleep(0)
        assert read <= taken + 10
        if taken == 300:
            break
    assert read <= 310


async def test_workers_go_on_while_the_caller_holds_an_outcome() -> None:
    started: list[int] = []

    async def instant(item: int) -> int:
        started.append(item)
        return item

    outcomes = fan_out(instant, range(100), concurrency=2)
    first = await anext(outcomes)
    # The caller sits on its first outcome; let every worker step that can run, run (a fixed
    # number of turns of the loop, no clock). The workers did not wait for the caller: they
    # went on until 2 calls' worth of outcomes more than the 2 in flight were waiting, that
    # is 4 slots besides the one the caller took back with its outcome.
    for _ in range(20):
        await asyncio.sleep(0)
    assert first.item == 0
    assert started == [0, 1, 2, 3, 4]
    await outcomes.aclose()


async def test_every_worker_starts_together_once_the_source_has_items() -> None:
    # The first worker starts the others as soon as it has read an item, so all of them send
    # their first call within the same few turns of the loop (not one more per turn).
    started: list[int] = []
    release = asyncio.Event()

    async def held(item: int) -> int:
        started.append(item)
        await release.wait()
        return item

    outcomes = fan_out(held, iter(range(100)), concurrency=40)
    waiting = asyncio.ensure_future(anext(outcomes))
    for _ in range(5):  # turns of the loop, no clock (three are enough)
        await asyncio.sleep(0)
    assert sorted(started) == list(range(40))
    release.set()
    assert (await waiting).item in range(40)
    await outcomes.aclose()


async def test_rate_spaces_call_starts() -> None:
    probe = Probe()
    async for _ in fan_out(probe, range(11), concurrency=11, rate=50):
        pass
    # Eleven starts at 50 per second span at least ten intervals of 20 ms (a start may be
    # scheduled a little late, so single gaps vary; the span may not shrink).
    assert probe.started[-1] - probe.started[0] >= 10 / 50 - 0.003


async def test_a_failing_source_delivers_what_ran_then_raises() -> None:
    async def source() -> AsyncIterator[int]:
        yield 1
        yield 2
        raise ConnectionError("listing broke")

    seen: list[Outcome[int, int]] = []
    with pytest.raises(ConnectionError, match="listing broke"):
        async for outcome in fan_out(Probe(delay=0.01), source(), concurrency=4):
            seen.append(outcome)
    assert sorted(o.item for o in seen) == [1, 2]


async def test_breaking_out_cancels_the_calls_in_flight() -> None:
    probe = Probe(delay=30)  # only cancellation can end these in time
    slow_started = asyncio.Event()

    async def mixed(item: int) -> int:
        if item == 0:
            return item
        slow_started.set()
        return await probe(item)

    async for _ in fan_out(mixed, range(100), concurrency=10):
        await slow_started.wait()
        break
    for _ in range(100):
        if probe.running == 0:
            break
        await asyncio.sleep(0.01)
    assert probe.max_running > 0
    assert probe.running == 0
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("asyncsdk-fan")]


def test_bad_arguments_are_refused_at_the_call() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        fan_out(Probe(), [1], concurrency=0)
    with pytest.raises(ValueError, match="rate"):
        fan_out(Probe(), [1], rate=0)


async def test_cancelling_a_thousand_item_fan_out_mid_way_is_quick_and_clean() -> None:
    async with (
        Emulator(tasks=50, latency_ms=50) as emu,
        MOIClient(emu.url, **emu.moi_credentials) as moi,
    ):
        ids = list((emu.state.moi_tasks.tasks if emu.state.moi_tasks else {}).keys())
        items = [ids[i % len(ids)] for i in range(1000)]
        done = 0
        mid_way = asyncio.Event()

        async def consume() -> None:
            nonlocal done
            async for outcome in fan_out(moi.tasks.get, items, concurrency=50):
                assert outcome.ok
                done += 1
                if done == 200:
                    mid_way.set()

        consumer = asyncio.create_task(consume())
        await mid_way.wait()
        started = time.monotonic()
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        assert time.monotonic() - started < 1.0
        assert 200 <= done < 1000
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("asyncsdk-fan")]


async def test_a_call_that_raises_cancelled_error_still_yields_its_outcome() -> None:
    async def call(item: int) -> int:
        if item % 3 == 0:
            raise asyncio.CancelledError  # not fan_out's doing
        return item

    async def run() -> list[Outcome[int, int]]:
        return [o async for o in fan_out(call, range(30), concurrency=2)]

    # Before the fix, every such call leaked its slot: with 2 slots the loop hung for good.
    outcomes = await asyncio.wait_for(run(), 10)
    assert sorted(o.item for o in outcomes) == list(range(30))
    cancelled = sorted(o.item for o in outcomes if isinstance(o.error, CallCancelledError))
    assert cancelled == list(range(0, 30, 3))
    assert all(o.value == o.item for o in outcomes if o.ok)
    with pytest.raises(CallCancelledError, match="fan_out did not cancel it"):
        next(o for o in outcomes if not o.ok).result()


async def test_closing_the_credentials_mid_run_gives_every_item_one_outcome() -> None:
    # Calls wait on a shared token renewal; closing the auth (as closing the client does)
    # cancels that renewal under them.
    class Provider:
        def __init__(self) -> None:
            self.release = asyncio.Event()
            self.entered = asyncio.Event()

        async def login(self) -> Grant:
            self.entered.set()
            await self.release.wait()
            return Grant({"Access-Token": "t"})

        async def refresh(self, grant: Grant) -> Grant:
            raise AssertionError("not reached")

    provider = Provider()
    auth = TokenAuth(provider)

    async def call(item: int) -> int:
        await auth.ensure()
        return item

    seen: list[Outcome[int, int]] = []

    async def run() -> None:
        async for outcome in fan_out(call, range(50), concurrency=8):
            seen.append(outcome)

    runner = asyncio.ensure_future(run())
    await provider.entered.wait()
    await auth.aclose()  # the renewal all 8 calls wait for is cancelled
    await asyncio.wait_for(runner, 10)
    assert sorted(o.item for o in seen) == list(range(50))
    assert all(not o.ok for o in seen)


async def test_a_source_that_raises_cancelled_error_ends_the_loop_with_an_error() -> None:
    async def source() -> AsyncIterator[int]:
        yield 1
        yield 2
        raise asyncio.CancelledError  # e.g. its client closed under it; nobody cancelled us

    async def run() -> list[Outcome[int, int]]:
        seen = []
        with pytest.raises(CallCancelledError, match="source"):
            async for outcome in fan_out(Probe(), source(), concurrency=4):
                seen.append(outcome)
        return seen

    seen = await asyncio.wait_for(run(), 10)  # it used to wait for the end forever
    assert sorted(o.item for o in seen) == [1, 2]


class _Counters:
    """A client's stats stand-in: ``retries`` moves when the test says so."""

    def __init__(self, retries: int) -> None:
        self.retries = retries


class _Client:
    def __init__(self, retries: int) -> None:
        self.stats = _Counters(retries)


class _StepClock:
    """Each reading is one second after the one before."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


async def test_on_progress_reports_each_outcome_with_counts_retries_and_elapsed() -> None:
    gates = {item: asyncio.Event() for item in range(5)}
    all_started = asyncio.Event()
    client = _Client(retries=7)  # retries made before the fan-out are not its own
    running = 0

    async def call(item: int) -> int:
        nonlocal running
        running += 1
        if running == 4:
            all_started.set()
        client.stats.retries += item  # this call's retries, as the client counts them
        await gates[item].wait()
        if item == 2:
            raise ValueError("bad item")
        return item

    reports: list[FanOutProgress] = []
    handed: list[int] = []

    async def run() -> None:
        stream = fan_out(
            call,
            range(5),
            concurrency=4,
            on_progress=reports.append,
            stats=client,
            clock=_StepClock(100.0),
        )
        async with contextlib.aclosing(stream):
            async for outcome in stream:
                # The report for this outcome is in before the body sees it.
                assert len(reports) == len(handed) + 1
                handed.append(outcome.item)
                if outcome.item + 1 in gates:
                    gates[outcome.item + 1].set()

    runner = asyncio.ensure_future(run())
    await all_started.wait()
    gates[0].set()
    await asyncio.wait_for(runner, 10)
    assert handed == [0, 1, 2, 3, 4]
    assert [r.done for r in reports] == [1, 2, 3, 4, 5]
    assert [r.failed for r in reports] == [0, 0, 1, 1, 1]
    # Item 0's worker went straight on to item 4 (a spare slot) before 0 was reported; items
    # 1-3 still wait.
    assert [r.in_flight for r in reports] == [4, 3, 2, 1, 0]
    assert reports[-1].retries == 0 + 1 + 2 + 3 + 4
    assert [r.elapsed for r in reports] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert all(isinstance(r, FanOutProgress) for r in reports)


async def test_without_stats_progress_reports_no_retries() -> None:
    reports: list[FanOutProgress] = []
    outcomes = [o async for o in fan_out(Probe(), range(3), on_progress=reports.append)]
    assert len(outcomes) == 3
    assert [(r.done, r.failed, r.retries) for r in reports] == [(1, 0, 0), (2, 0, 0), (3, 0, 0)]


async def test_a_progress_callback_that_raises_stops_the_fan_out_and_propagates() -> None:
    never = asyncio.Event()
    started: list[int] = []
    cancelled: list[int] = []

    async def call(item: int) -> int:
        started.append(item)
        if item == 0:
            return item
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.append(item)
            raise
        return item

    def broken(progress: FanOutProgress) -> None:
        raise RuntimeError("progress bar closed")

    seen: list[int] = []

    async def run() -> None:
        stream = fan_out(call, range(100), concurrency=4, on_progress=broken)
        async with contextlib.aclosing(stream):
            async for outcome in stream:
                seen.append(outcome.item)  # never reached: the report comes first

    with pytest.raises(RuntimeError, match="progress bar closed"):
        await asyncio.wait_for(run(), 10)
    assert seen == []
    # The calls in flight were cancelled and waited for; nothing more was started.
    assert sorted(cancelled) == sorted(i for i in started if i != 0)
    assert len(started) <= 5
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "asyncsdk-fan-out"]


def test_bad_progress_arguments_are_refused_before_anything_runs() -> None:
    with pytest.raises(InvalidInputError, match="on_progress must be callable"):
        fan_out(Probe(), range(3), on_progress=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="stats must be a client"):
        fan_out(Probe(), range(3), stats=object())  # type: ignore[arg-type]
