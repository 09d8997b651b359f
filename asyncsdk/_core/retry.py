"""Retry policy: which failures are retried, how long to wait, how many times.

Waits are exponential with *full jitter* (a uniform draw between 0 and the capped exponential),
which spreads a fan-out's retries instead of synchronising them into waves. A ``Retry-After``
from the service is honoured as given, up to ``max_retry_after``; a longer one is not silently
shortened: the call fails with a :class:`RateLimitError` carrying the requested delay, so the
caller decides.

Retry safety is declared per operation (``idempotent=`` on every request), not guessed from the
HTTP method: MOI's ``POST /connectors/validate`` is a read, ``POST /task`` is a create.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable

from attrs import define, field

from .errors import InvalidInputError

__all__ = ["RETRYABLE_STATUSES", "RetryBudget", "RetryPolicy", "parse_retry_after"]

#: The HTTP statuses that mean "try again": timeout, throttled, transient server failures.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

#: Statuses after which even a non-idempotent call may be repeated, because they say the request
#: was not acted on: 429 (throttled before handling), 503 (the service declined to handle it),
#: 401 is handled separately (re-authenticate, then replay once).
NOT_ACTED_ON_STATUSES = frozenset({429, 503})


def _positive(_: object, attribute: object, value: float) -> None:
    if value < 0:
        name = getattr(attribute, "name", "value")
        raise InvalidInputError(f"RetryPolicy.{name} must be >= 0, got {value!r}")


def _at_least_one(_: object, attribute: object, value: int) -> None:
    if value < 1:
        raise InvalidInputError(f"RetryPolicy.max_attempts must be >= 1, got {value!r}")


@define(frozen=True)
class RetryPolicy:
    """How a failed call is retried.

    ``max_attempts`` counts the first try (``1`` disables retries). The wait before retry *n*
    (1-based) is ``uniform(0, min(backoff_cap, backoff_base * 2 ** (n - 1)))``, or the service's
    ``Retry-After`` when it sent one no longer than ``max_retry_after``.

    Example::

        patient = RetryPolicy(max_attempts=8, backoff_cap=30)
        await moi.tasks.get(task_id, retry=patient)
        await moi.tasks.get(task_id, retry=RetryPolicy.disabled())
    """

    max_attempts: int = field(default=5, validator=_at_least_one)
    backoff_base: float = field(default=0.2, validator=_positive)
    backoff_cap: float = field(default=10.0, validator=_positive)
    max_retry_after: float = field(default=60.0, validator=_positive)
    retry_statuses: frozenset[int] = RETRYABLE_STATUSES
    #: Source of jitter in [0, 1); replace it to make waits deterministic in tests.
    jitter: Callable[[], float] = field(default=random.random, eq=False, repr=False)

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_attempts=1)

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry ``retry_number`` (1 for the first retry)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** (retry_number - 1))
        return self.jitter() * ceiling

    def retries_status(self, status: int, *, idempotent: bool) -> bool:
        """Whether an answer with this HTTP status is worth another attempt."""
        if status not in self.retry_statuses:
            return False
        return idempotent or status in NOT_ACTED_ON_STATUSES


class RetryBudget:
    """A token bucket shared by every call of one client, so a dead service is not hammered.

    Each retry spends tokens (timeouts cost more: they hold connections longest); each success
    returns one. While the bucket is empty, failures are raised at once instead of retried. With
    the defaults, a 10% transient failure rate is sustainable indefinitely, while a service that
    fails everything stops seeing retries after about 100 of them.
    """

    def __init__(
        self,
        capacity: float = 500.0,
        retry_cost: float = 5.0,
        timeout_cost: float = 10.0,
        success_refund: float = 1.0,
    ) -> None:
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.success_refund = success_refund
        self._tokens = capacity

    @property
    def available(self) -> float:
        return self._tokens

    def try_spend(self, *, timeout: bool = False) -> bool:
        cost = self.timeout_cost if timeout else self.retry_cost
        if self._tokens < cost:
            return False
        self._tokens -= cost
        return True

    def refund(self) -> None:
        if self._tokens < self.capacity:
            self._tokens = min(self.capacity, self._tokens + self.success_refund)


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):  # a year no datetime can hold overflows
        return None
    return max(0.0, when.timestamp() - now())
