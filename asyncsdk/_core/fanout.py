"""``fan_out``: a bounded concurrent map with one outcome per item.

    async for outcome in fan_out(load, moi.connectors.files(cid), concurrency=32, rate=50):
        if outcome.error:
            failed.append(outcome.item)

- Outcomes arrive in completion order, each carrying its item and either a value or an error:
  one item's failure never stops the others.
- At most ``concurrency`` calls run at once (as many long-lived workers, each reading its next
  item itself), and at most ``concurrency`` more outcomes wait for the caller: items are read
  from the source only as slots free up, so an async iterable (a paginator over a million
  files) is never read ahead by more than ``2 * concurrency`` items; memory stays bounded.
- ``rate`` caps how many calls start per second, client-side.
- Breaking out of the loop, or cancelling the task that iterates, cancels every call in flight
  and leaves nothing running.
- If the source itself fails (a listing error), the calls in flight finish and their outcomes
  are delivered, then that error is raised.
- Every item read yields exactly one outcome, even when its call raises ``CancelledError``
  that fan_out did not cause (the outcome then carries a :class:`CallCancelledError`).
- ``on_progress`` is called with a :class:`FanOutProgress` as each outcome is handed out. A
  callback that raises stops the fan-out like a consumer that raises: the calls in flight are
  cancelled and the callback's exception propagates from the loop.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from typing import Any, Generic, Protocol, TypeVar, cast

from attrs import define

from .errors import CallCancelledError, InvalidInputError
from .slots import Slots

__all__ = ["FanOutProgress", "Outcome", "fan_out"]

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


# Outcome is frozen, so its __init__ stores each field through object.__setattr__; storing
# them through the slots' own descriptors costs half as much (0.3 against 0.6 µs), and
# fan_out makes one outcome per item.
_new_outcome = object.__new__
_set_item, _set_value, _set_error = (
    cast(Any, Outcome).__dict__[name].__set__ for name in ("item", "value", "error")
)


@define(frozen=True)
class FanOutProgress:
    """Where a fan-out stands, given to an ``on_progress`` callback as each outcome is handed
    out.

    ``done`` counts the outcomes handed out so far (failed ones included); ``failed`` those of
    them carrying an error; ``in_flight`` the calls running at that moment; ``retries`` the
    attempts the client given as ``stats=`` repeated since the fan-out started (all its calls,
    not only these: the client's own counter; 0 without ``stats=``); ``elapsed`` the seconds
    since the fan-out started.
    """

    done: int
    failed: int
    in_flight: int
    retries: int
    elapsed: float


class _RetryCounter(Protocol):
    @property
    def retries(self) -> int: ...


class HasStats(Protocol):
    """Anything with a ``stats.retries`` counter: an asyncsdk client."""

    @property
    def stats(self) -> _RetryCounter: ...


class _Done:
    """End-of-stream marker, carrying the source's error if it failed."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class _NoItem(enum.Enum):
    """What reading the source gives when it has no more items (exhausted or failed)."""

    NO_ITEM = 0


class _Pacer:
    """Spaces call starts at least 1/rate seconds apart."""

    def __init__(self, rate: float) -> None:
        self._interval = 1.0 / rate
        self._next = 0.0

    async def wait(self) -> None:
        # The start is booked before sleeping, so workers waiting together get successive
        # starts rather than the same one.
        now = time.monotonic()
        start = max(now, self._next)
        self._next = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)


def fan_out(
    fn: Callable[[T], Awaitable[R]],
    items: Iterable[T] | AsyncIterable[T],
    *,
    concurrency: int = 16,
    rate: float | None = None,
    on_progress: Callable[[FanOutProgress], object] | None = None,
    stats: HasStats | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncGenerator[Outcome[T, R], None]:
    """Call ``fn(item)`` for every item, ``concurrency`` at a time; yield each ``Outcome`` as
    its call finishes. ``rate`` (calls per second) paces the starts.

    ``on_progress(FanOutProgress)`` is called as each outcome is handed out, before the loop
    body sees it; ``stats`` (the client ``fn`` calls through) supplies its retry counter, and
    ``clock`` the time for ``elapsed``.

    Returned at once, like a paginator; bad arguments are refused here, before anything runs.
    It is an async generator: ``contextlib.aclosing(fan_out(...))`` stops every call in flight
    when the block exits, even if the loop body raised.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidInputError(f"concurrency must be a positive integer, got {concurrency!r}")
    if rate is not None and not rate > 0:
        raise InvalidInputError(f"rate must be > 0 calls per second, or None, got {rate!r}")
    if on_progress is not None and not callable(on_progress):
        raise InvalidInputError(f"on_progress must be callable, got {on_progress!r}")
    if stats is not None and not isinstance(
        getattr(getattr(stats, "stats", None), "retries", None), int
    ):
        raise InvalidInputError(f"stats must be a client (with .stats.retries), got {stats!r}")
    return _fan_out(fn, items, concurrency, rate, on_progress, stats, clock)


async def _fan_out(
    fn: Callable[[T], Awaitable[R]],
    items: Iterable[T] | AsyncIterable[T],
    concurrency: int,
    rate: float | None,
    on_progress: Callable[[FanOutProgress], object] | None = None,
    stats: HasStats | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncGenerator[Outcome[T, R], None]:
    # Long-lived workers, each reading the next item itself and calling ``fn`` on it: no task,
    # generator step or limiter per item (they cost the CPU of a call's own pipeline again).
    #
    # A slot is held from the moment an item is read until its outcome is taken by the caller:
    # running calls plus outcomes waiting to be read never exceed twice `concurrency`, however
    # slow the caller is. A worker takes a slot before reading, the caller gives it back. With
    # only `concurrency` slots a worker that finished waited for the caller's next step before
    # starting again, so the workers restarted in bursts, which made the garbage collector run
    # about 25 times as often as in a plain worker pool (8-11 us of CPU per call); the spare
    # slots let a worker go on at once while the caller keeps up.
    #
    # Slots are the session's own counter with waiters (Slots) and outcomes a deque, rather
    # than an asyncio.Semaphore and an asyncio.Queue: those cost about 2 µs of CPU per item
    # between them (the semaphore scans its waiters on every acquire), a third of fan_out's
    # own cost.
    loop = asyncio.get_running_loop()
    slots = Slots(2 * concurrency)
    ready: deque[Outcome[T, R] | _Done] = deque()  # outcomes the caller has not taken yet
    wake: asyncio.Future[None] | None = None  # the caller, waiting for an outcome
    workers: set[asyncio.Task[None]] = set()
    pacer = _Pacer(rate) if rate is not None else None
    sync_source: Iterator[T] | None = None
    async_source: AsyncIterator[T] | None = None
    if isinstance(items, AsyncIterable):
        async_source = aiter(items)
    else:
        sync_source = iter(items)
    # An async source is read by one worker at a time (an async generator refuses a second
    # reader); a plain iterator needs no lock, since next() does not await.
    reading = asyncio.Lock()

    stopping = False
    ended = False  # the source is exhausted or failed: no worker reads again
    error: BaseException | None = None
    live = 0
    running = 0  # calls under way, for progress reports

    def deliver(outcome: Outcome[T, R] | _Done) -> None:
        ready.append(outcome)
        if wake is not None and not wake.done():
            wake.set_result(None)

    def failed_source(exc: BaseException) -> None:
        nonlocal error
        if isinstance(exc, asyncio.CancelledError):
            if stopping:
                raise exc
            # The source raised a cancellation nobody asked for (its client closed under it):
            # end like any failing source, or the caller would wait for the end forever.
            uncancel()
            error = CallCancelledError("the source of items was cancelled")
            error.__cause__ = exc
        else:
            error = exc

    def source_ended(exc: BaseException | None = None) -> _NoItem:
        # Exhausted (no exc) or failed: no worker reads the source again.
        nonlocal ended
        if exc is not None:
            failed_source(exc)
        ended = True
        return _NoItem.NO_ITEM

    async def read_async() -> T | _NoItem:
        assert async_source is not None
        try:
            async with reading:
                if ended:
                    return _NoItem.NO_ITEM
                return await anext(async_source)
        except StopAsyncIteration:
            return source_ended()
        except (Exception, asyncio.CancelledError) as exc:
            return source_ended(exc)

    def uncancel() -> None:
        # Swallowing a CancelledError aimed at this task must also take back its request, or
        # the task's later awaits (timeouts) would see a cancellation still pending.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            task.uncancel()

    def spawn() -> None:
        nonlocal live
        live += 1
        task = asyncio.create_task(work(), name="asyncsdk-fan-out")
        workers.add(task)
        task.add_done_callback(workers.discard)

    async def work() -> None:
        nonlocal live, running
        try:
            while not ended:
                # Take a slot before reading the next item, so the source is never read
                # further ahead than the slots allow.
                if slots.free and not slots.waiters:  # Slots.take_now, inline
                    slots.free -= 1
                else:
                    # Only when `concurrency` outcomes wait for the caller: it gives slots back.
                    await slots.take()
                item: T | _NoItem
                if sync_source is not None:  # a plain iterator, read here: no frame per item
                    try:
                        item = next(sync_source)
                    except StopIteration:
                        item = source_ended()
                    except (Exception, asyncio.CancelledError) as exc:
                        item = source_ended(exc)
                else:
                    item = await read_async()
                if item is _NoItem.NO_ITEM:
                    slots.release()
                    break
                # The source has items: start all the remaining workers now, together (an
                # empty source starts one). Started one per turn of the loop, each by the one
                # before, the workers sent their first calls across `concurrency` turns, and
                # that cost 2-4% more client CPU per call than starting them together, in
                # slices of 500 calls and in blocks of 2,000 (docs/performance.md#fanout).
                while live < concurrency and not ended:
                    spawn()
                if pacer is not None:
                    await pacer.wait()
                running += 1
                try:
                    value = await fn(item)
                    # Outcome(item, value=value), without its frozen __init__ (see _set_item).
                    outcome: Outcome[T, R] = _new_outcome(Outcome)
                    _set_item(outcome, item)
                    _set_value(outcome, value)
                    _set_error(outcome, None)
                except Exception as exc:  # one item's failure is its outcome, not the loop's
                    outcome = Outcome(item, error=exc)
                except asyncio.CancelledError as exc:
                    if stopping:
                        raise
                    # Cancelled, but not by fan_out: the call raised CancelledError from inside
                    # (a task it awaited was cancelled, its client was closed under it). That
                    # is this item's outcome; without one, the item would be lost and its slot
                    # never freed.
                    uncancel()
                    failure = CallCancelledError(
                        "the call was cancelled, though fan_out did not cancel it"
                    )
                    failure.__cause__ = exc
                    outcome = Outcome(item, error=failure)
                finally:
                    running -= 1
                deliver(outcome)
        finally:
            live -= 1
            if live == 0 and not stopping:
                # The last worker out signals the end: every call in flight has delivered.
                deliver(_Done(error))

    started = clock()
    retries_before = stats.stats.retries if stats is not None else 0
    done = failed = 0
    spawn()
    try:
        while True:
            if not ready:
                wake = loop.create_future()
                await wake
                wake = None
            got = ready.popleft()
            if isinstance(got, _Done):
                if got.error is not None:
                    raise got.error
                return
            if slots.waiters:
                slots.release()
            else:  # Slots.release, inline
                slots.free += 1
            if on_progress is not None:
                done += 1
                failed += got.error is not None
                retried = stats.stats.retries - retries_before if stats is not None else 0
                # Raised here, the callback's error leaves through the finally below, which
                # cancels the calls in flight: the same as a loop body that raises.
                on_progress(FanOutProgress(done, failed, running, retried, clock() - started))
            yield got
    finally:
        # Normal end, break, or cancellation: stop reading, cancel what still runs, and wait
        # for it, so no task or connection outlives the loop.
        stopping = True
        pending = list(workers)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
