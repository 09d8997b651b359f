from __future__ import annotations

import pytest

from asyncsdk import RetryPolicy
from asyncsdk._core.retry import RetryBudget, parse_retry_after


def test_backoff_is_full_jitter_under_a_capped_exponential() -> None:
    top = RetryPolicy(backoff_base=0.5, backoff_cap=3.0, jitter=lambda: 0.999999)
    assert [round(top.backoff(n), 3) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert RetryPolicy(jitter=lambda: 0.0).backoff(4) == 0.0


def test_non_idempotent_calls_retry_only_statuses_that_prove_nothing_happened() -> None:
    policy = RetryPolicy()
    assert policy.retries_status(500, idempotent=True)
    assert not policy.retries_status(500, idempotent=False)
    assert policy.retries_status(429, idempotent=False)
    assert policy.retries_status(503, idempotent=False)
    assert not policy.retries_status(404, idempotent=True)


def test_invalid_policies_are_rejected_with_the_field_named() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="backoff_cap"):
        RetryPolicy(backoff_cap=-1)


def test_retry_after_in_seconds_and_as_http_date() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=lambda: 1445412480.0) == 10.0


def test_budget_stops_retries_when_everything_fails_and_refills_on_success() -> None:
    budget = RetryBudget(capacity=20, retry_cost=5, success_refund=1)
    assert [budget.try_spend() for _ in range(5)] == [True, True, True, True, False]
    for _ in range(5):
        budget.refund()
    assert budget.try_spend()
