"""Waiting for something to finish (a job, a load task, a data source sync), politely.

Polls with exponential backoff (``interval`` doubling up to ``max_interval``), gives up with
:class:`WaitTimeoutError` after ``max_wait`` seconds, and is cancellable like any coroutine:
cancelling the waiter stops the polling at once. ``max_wait`` bounds the whole wait; each poll is
an ordinary call, bounded by its own ``timeout`` option.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from . import checks
from .errors import InvalidInputError, WaitTimeoutError

__all__ = ["WaitTimeoutError", "check_wait", "poll_until"]

T = TypeVar("T")


def check_wait(max_wait: object, interval: object, max_interval: object) -> None:
    """Refuse a wait's arguments before the first poll: each named, with what it must be."""
    checks.seconds("max_wait", max_wait, allow_none=True)
    checks.seconds("interval", interval)
    checks.seconds("max_interval", max_interval)
    assert isinstance(interval, (int, float)) and isinstance(max_interval, (int, float))
    if max_interval < interval:
        raise InvalidInputError(
            f"max_interval must be >= interval, got interval={interval!r}, "
            f"max_interval={max_interval!r}"
        )


async def poll_until(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    max_wait: float | None,
    interval: float = 1.0,
    max_interval: float = 15.0,
    what: str = "resource",
) -> T:
    """Call ``fetch`` until ``done(result)``; return that result.

    Raises :class:`WaitTimeoutError` after ``max_wait`` seconds (None waits forever). Errors
    raised by ``fetch`` propagate (the client's retry policy has already handled transient
    ones).
    """
    check_wait(max_wait, interval, max_interval)
    deadline = None if max_wait is None else time.monotonic() + max_wait
    delay = interval
    while True:
        result = await fetch()
        if done(result):
            return result
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeoutError(f"{what} did not finish within {max_wait:g} s", last=result)
            delay = min(delay, left)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_interval)
