"""Slots: a counter with a queue of waiters, for the hot paths that bound concurrency."""

from __future__ import annotations

import asyncio
import collections
import contextlib

__all__ = ["Slots"]


class Slots:
    """At most ``size`` holders at once: a client's requests in flight, ``fan_out``'s calls
    and waiting outcomes. Callers that find none free wait in arrival order, and a freed slot
    goes straight to the first of them.

    Not an ``asyncio.Semaphore``: taking a free slot here is a comparison and no coroutine,
    where the semaphore's ``acquire`` is a coroutine that first scans its waiters (about 1 µs
    of CPU per call, measured).

    The two hot paths (the session's attempts, ``fan_out``'s items) write :meth:`take_now` and
    the no-waiter case of :meth:`release` inline, as ``if s.free and not s.waiters: s.free -= 1``
    and ``s.free += 1``: each method call is a Python frame, and these four were about 0.6% of
    a typed call's client CPU (docs/performance.md#fanout). Everything else calls the methods.
    """

    __slots__ = ("free", "waiters")

    def __init__(self, size: int) -> None:
        #: Slots nobody holds. A freed slot goes to the first waiter instead, if there is one.
        self.free = size
        #: Callers waiting for a slot, first come first served (some may have been cancelled).
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def take_now(self) -> bool:
        """Take a slot if one is free and nobody is waiting for one (they come first)."""
        if self.free and not self.waiters:
            self.free -= 1
            return True
        return False

    async def take(self) -> None:
        """Wait for a slot."""
        if self.take_now():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot, then cancelled before using it: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self.waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Give a slot back: to the first caller still waiting, or to the free ones."""
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1
