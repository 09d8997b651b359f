"""Waiting for something to finish (a job, a load task, a data source sync), politely.

Polls with exponential backoff (``interval`` doubling up to ``max_interval``), gives up with
:class:`WaitTimeoutError` after ``timeout`` seconds, and is cancellable like any coroutine:
cancelling the waiter stops the polling at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .errors import AsyncSDKError, InvalidInputError

__all__ = ["WaitTimeoutError", "poll_until"]

T = TypeVar("T")


class WaitTimeoutError(AsyncSDKError, TimeoutError):
    """A wait ran out of time before the resource reached the state waited for.

    ``last`` holds the last state seen, so the caller can report or decide what to do.
    """

    def __init__(self, message: str, *, last: object = None) -> None:
        super().__init__(message)
        self.last = last


async def poll_until(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    timeout: float | None,
    interval: float = 1.0,
    max_interval: float = 15.0,
    what: str = "resource",
) -> T:
    """Call ``fetch`` until ``done(result)``; return that result.

    Raises :class:`WaitTimeoutError` after ``timeout`` seconds (None waits forever). Errors
    raised by ``fetch`` propagate (the client's retry policy has already handled transient
    ones).
    """
    if not interval > 0 or max_interval < interval:
        raise InvalidInputError(
            f"need 0 < interval <= max_interval, got interval={interval!r}, "
            f"max_interval={max_interval!r}"
        )
    if timeout is not None and not timeout > 0:
        raise InvalidInputError(f"timeout must be > 0 seconds, or None, got {timeout!r}")
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = interval
    while True:
        result = await fetch()
        if done(result):
            return result
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitTimeoutError(f"{what} did not finish within {timeout:g} s", last=result)
            delay = min(delay, left)
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_interval)
