"""``fan_out``: a bounded concurrent map with one outcome per item.

    async for outcome in fan_out(load, moi.connectors.files(cid), concurrency=32, rate=50):
        if outcome.error:
            failed.append(outcome.item)

- Outcomes arrive in completion order, each carrying its item and either a value or an error:
  one item's failure never stops the others.
- At most ``concurrency`` calls run at once (an anyio ``CapacityLimiter``), and items are read
  from the source only as slots free up, so an async iterable (a paginator over a million
  files) is never read ahead by more than that; memory stays bounded.
- ``rate`` caps how many calls start per second, client-side.
- Breaking out of the loop, or cancelling the task that iterates, cancels every call in flight
  and leaves nothing running.
- If the source itself fails (a listing error), the calls in flight finish and their outcomes
  are delivered, then that error is raised.
- Every item read yields exactly one outcome, even when its call raises ``CancelledError``
  that fan_out did not cause (the outcome then carries a :class:`CallCancelledError`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
)
from typing import Any, Generic, TypeVar

import anyio
from attrs import define

from .errors import CallCancelledError, InvalidInputError

__all__ = ["Outcome", "fan_out"]

T = TypeVar("T")
R = TypeVar("R")


@define(frozen=True)
class Outcome(Generic[T, R]):
    """The result of one item: ``value`` when the call succeeded, ``error`` when it raised."""

    item: T
    value: R | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def result(self) -> R:
        """The value, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class _Done:
    """End-of-stream marker, carrying the source's error if it failed."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class _Pacer:
    """Spaces call starts at least 1/rate seconds apart."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0

    async def wait(self) -> None:
        now = time.monotonic()
        if self._next > now:
            await asyncio.sleep(self._next - now)
            now = self._next
        self._next = now + self._interval


async def _items(source: Iterable[T] | AsyncIterable[T]) -> AsyncGenerator[T, None]:
    if isinstance(source, AsyncIterable):
        async for item in source:
            yield item
    else:
        for item in source:
            yield item


def fan_out(
    fn: Callable[[T], Awaitable[R]],
    items: Iterable[T] | AsyncIterable[T],
    *,
    concurrency: int = 16,
    rate: float | None = None,
) -> AsyncIterator[Outcome[T, R]]:
    """Call ``fn(item)`` for every item, ``concurrency`` at a time; yield each ``Outcome`` as
    its call finishes. ``rate`` (calls per second) paces the starts.

    Returned at once, like a paginator; bad arguments are refused here, before anything runs.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidInputError(f"concurrency must be a positive integer, got {concurrency!r}")
    if rate is not None and not rate > 0:
        raise InvalidInputError(f"rate must be > 0 calls per second, or None, got {rate!r}")
    return _fan_out(fn, items, concurrency, rate)


async def _fan_out(
    fn: Callable[[T], Awaitable[R]],
    items: Iterable[T] | AsyncIterable[T],
    concurrency: int,
    rate: float | None,
) -> AsyncIterator[Outcome[T, R]]:
    limiter = anyio.CapacityLimiter(concurrency)
    # A slot is held from the moment an item is read until its outcome is taken by the caller:
    # running calls plus outcomes waiting to be read never exceed `concurrency`, however slow
    # the caller is.
    outcomes: asyncio.Queue[tuple[Outcome[T, R], object] | _Done] = asyncio.Queue()
    workers: set[asyncio.Task[None]] = set()
    pacer = _Pacer(rate) if rate is not None else None

    stopping = False

    async def work(item: T, slot: object) -> None:
        try:
            outcome: Outcome[T, R] = Outcome(item, value=await fn(item))
        except Exception as exc:  # one item's failure is its outcome, not the loop's
            outcome = Outcome(item, error=exc)
        outcomes.put_nowait((outcome, slot))

    def finished(item: T, slot: object, task: asyncio.Task[None]) -> None:
        workers.discard(task)
        if task.cancelled() and not stopping:
            # Cancelled, but not by fan_out: the call raised CancelledError from inside (a task
            # it awaited was cancelled, its client was closed under it) or someone cancelled
            # the worker. Either way that is this item's outcome; without one, the item would
            # be lost and its slot never freed.
            error = CallCancelledError("the call was cancelled, though fan_out did not cancel it")
            try:
                task.result()
            except asyncio.CancelledError as exc:
                error.__cause__ = exc
            outcomes.put_nowait((Outcome(item, error=error), slot))

    async def feed() -> None:
        error: BaseException | None = None
        try:
            async with contextlib.aclosing(_items(items)) as source:
                while True:
                    # Take a slot before reading the next item, so the source is never read
                    # further ahead than the slots allow.
                    slot = object()
                    try:
                        # A free slot is taken at once: awaiting would cost a trip through
                        # the event loop for every item.
                        limiter.acquire_on_behalf_of_nowait(slot)
                    except anyio.WouldBlock:
                        await limiter.acquire_on_behalf_of(slot)
                    try:
                        item = await source.__anext__()
                    except StopAsyncIteration:
                        limiter.release_on_behalf_of(slot)
                        break
                    if pacer is not None:
                        await pacer.wait()
                    task = asyncio.create_task(work(item, slot), name="asyncsdk-fan-out")
                    workers.add(task)
                    task.add_done_callback(functools.partial(finished, item, slot))
        except Exception as exc:
            error = exc
        except asyncio.CancelledError as exc:
            if stopping:
                raise
            # The source raised a cancellation nobody asked for (its client closed under it):
            # end like any failing source, or the caller would wait for the end forever.
            error = CallCancelledError("the source of items was cancelled")
            error.__cause__ = exc
        # Let the calls in flight finish, then signal the end.
        while workers:
            await asyncio.gather(*list(workers), return_exceptions=True)
        outcomes.put_nowait(_Done(error))

    feeder = asyncio.create_task(feed(), name="asyncsdk-fan-out-feeder")
    try:
        while True:
            got = await outcomes.get()
            if isinstance(got, _Done):
                if got.error is not None:
                    raise got.error
                return
            outcome, slot = got
            limiter.release_on_behalf_of(slot)
            yield outcome
    finally:
        # Normal end, break, or cancellation: stop feeding, cancel what still runs, and wait
        # for it, so no task or connection outlives the loop.
        stopping = True
        pending: list[asyncio.Task[Any]] = [feeder, *workers]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
