"""Clocks for timing tests that never wait for real time.

- :func:`run_virtual` runs a coroutine on an event loop whose time is virtual: when every task
  is waiting, the loop jumps straight to the next timer instead of sleeping. ``asyncio.sleep``,
  ``wait_for`` and the code under test all see the same virtual time, and a test that "waits ten
  minutes" takes milliseconds. No real sockets on this loop: it would jump past their timeouts.
- :class:`LoopClock` is a :class:`~asyncsdk._core.auth.Clock` reading that virtual time.
- :class:`ManualClock` is a clock that moves only when a test calls ``advance``; its ``sleep``
  returns when the clock has been advanced past the wake time. It works on a real loop, so with
  real sockets too.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

#: An arbitrary, realistic epoch time for virtual clocks' wall time.
EPOCH = 1_760_000_000.0


class _JumpingSelector(selectors.DefaultSelector):
    """Polls real file descriptors without blocking; an idle wait moves virtual time instead."""

    def __init__(self, loop: _VirtualLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = super().select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            raise RuntimeError("virtual loop deadlock: every task waits and no timer is set")
        self._loop.now += timeout
        return events


class _VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(selector=_JumpingSelector(self))

    def time(self) -> float:
        return self.now


def run_virtual(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a fresh virtual-time loop."""
    loop = _VirtualLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class LoopClock:
    """The running loop's (virtual) time; wall time is ``EPOCH`` plus it, plus ``skew``."""

    def __init__(self, skew: float = 0.0) -> None:
        self.skew = skew

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    def wall(self) -> float:
        return EPOCH + self.skew + self.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """Time that moves only when ``advance`` is called; wall time starts at ``wall``."""

    def __init__(self, wall: float = EPOCH) -> None:
        self.now = 0.0
        self._wall0 = wall
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self._wall0 + self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), future))
        await future

    def advance(self, seconds: float) -> None:
        """Move time on, and wake every sleeper whose time has come."""
        self.now += seconds
        while self._sleepers and self._sleepers[0][0] <= self.now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
