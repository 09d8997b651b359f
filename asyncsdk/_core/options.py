"""Per-call options: one typed value instead of the same keyword arguments on every method.

Every public method takes ``**options: Unpack[CallOptions]`` (listings take
``Unpack[PageOptions]``), checks them once with :func:`call_options` / :func:`page_options`, and
hands them to the session or the paginator untouched. A new option is added here, once, and every
method has it.

    await moi.tasks.get(task_id, timeout=5, retry=RetryPolicy.disabled())
    await mx.datasets.get(dataset_id, extra_headers={"x-debug": "1"})
    async for task in moi.tasks.list(page_size=200, deadline=60): ...
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypedDict

from .errors import InvalidInputError
from .retry import RetryPolicy

__all__ = ["CALL_OPTION_NAMES", "CallOptions", "PageOptions", "call_options", "page_options"]


class CallOptions(TypedDict, total=False):
    """Options every call accepts.

    Two clocks bound a call, and they answer different questions:

    ``timeout`` (seconds, default the client's 30) bounds **one attempt**: connecting, sending
    and reading the whole answer (for a streamed download: connecting and each read, so a
    large file is not cut off). It is what openai-python calls ``timeout`` too, and there, as
    here, it is not the caller's wait: with retries, ``timeout=1`` can take several seconds
    (five attempts, backoff between them, a throttling pause before them).

    ``deadline`` (seconds, no default) bounds **the whole call**: attempts, backoff, waiting
    for renewed credentials or a connection slot, and throttling pauses. No wait starts that
    would end past it (a retry whose backoff would overrun is not made; an attempt gets only
    the time left), and the call fails with the last error it saw. This is the number to give
    when a caller must answer in time, e.g. an HTTP handler with its own budget.

    Throttling: a 429 (or a 503 with ``Retry-After``) from the service pauses every call of the
    client, not just the one that saw it. A call arriving during such a pause waits it out only
    if it may: with a ``deadline``, when the pause ends before it; without one, when its retry
    policy would wait that long for its own 429 (it retries at all, and the pause is no longer
    than ``max_retry_after``). Otherwise it fails at once, unsent, with a
    :class:`RateLimitError` whose ``retry_after`` says how long the pause still lasts. So
    ``get(timeout=2, retry=RetryPolicy.disabled())`` never sits out someone else's 8 s pause.

    Errors of a call that made several attempts say so: ``... (after 3 attempts over 4.2 s)``.

    ``retry``: the :class:`RetryPolicy` for this call. ``request_id``: sent as
    ``X-Request-ID`` on every attempt of the call (streamed ones too), so the service's logs
    and yours can be joined; one is generated when not given. The service's own request id is
    still what errors report. ``extra_headers`` / ``extra_query`` / ``extra_body``: merged into
    the request last (``extra_body`` into a JSON object body), so a server feature the SDK does
    not know yet is reachable without a release.
    """

    timeout: float
    deadline: float
    retry: RetryPolicy
    request_id: str
    extra_headers: Mapping[str, str]
    extra_query: Mapping[str, Any]
    extra_body: Mapping[str, Any]


class PageOptions(CallOptions, total=False):
    """Options of a listing: the call options (applied to every page request), plus paging."""

    page_size: int
    max_items: int | None
    prefetch: int
    concurrency: int
    resume_from: str | None


CALL_OPTION_NAMES = frozenset(CallOptions.__annotations__)
_PAGE_ONLY = frozenset(PageOptions.__annotations__) - CALL_OPTION_NAMES


def check_seconds(name: str, value: object) -> float:
    """``value`` as a finite number of seconds > 0, or :class:`InvalidInputError` naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError(f"{name} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise InvalidInputError(f"{name} must be a finite number of seconds > 0, got {value!r}")
    return float(value)


def _mapping(name: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise InvalidInputError(f"{name} must be a mapping with string keys, got {value!r}")
    return value


def _check_call(options: Mapping[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise InvalidInputError(f"unknown option(s): {', '.join(unknown)}")
    for name in ("timeout", "deadline"):
        if name in options:
            check_seconds(name, options[name])
    if "retry" in options and not isinstance(options["retry"], RetryPolicy):
        raise InvalidInputError(f"retry must be a RetryPolicy, got {options['retry']!r}")
    if "request_id" in options:
        request_id = options["request_id"]
        if (
            not isinstance(request_id, str)
            or not request_id.strip()
            or not request_id.isprintable()
            or not request_id.isascii()
        ):
            raise InvalidInputError(
                f"request_id must be a non-empty printable ASCII string, got {request_id!r}"
            )
    for name in ("extra_headers", "extra_query", "extra_body"):
        if name in options:
            _mapping(name, options[name])
    if "extra_headers" in options:
        for key, value in options["extra_headers"].items():
            if not isinstance(value, str):
                raise InvalidInputError(f"extra_headers[{key!r}] must be a string, got {value!r}")


def call_options(options: Mapping[str, Any]) -> CallOptions:
    """``options`` checked: an unknown name or a mistyped value raises
    :class:`InvalidInputError` naming it, before anything is sent."""
    _check_call(options, CALL_OPTION_NAMES)
    return CallOptions(**options)  # type: ignore[typeddict-item,no-any-return]


def _count(name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def page_options(options: Mapping[str, Any]) -> PageOptions:
    """Like :func:`call_options`, for a listing's options."""
    _check_call(options, CALL_OPTION_NAMES | _PAGE_ONLY)
    if "page_size" in options:
        _count("page_size", options["page_size"], minimum=1)
    if options.get("max_items") is not None:
        _count("max_items", options["max_items"], minimum=0)
    if "prefetch" in options:
        _count("prefetch", options["prefetch"], minimum=0)
    if "concurrency" in options:
        _count("concurrency", options["concurrency"], minimum=1)
    resume = options.get("resume_from")
    if resume is not None and not isinstance(resume, str):
        raise InvalidInputError(f"resume_from must be a resume token string, got {resume!r}")
    return PageOptions(**options)  # type: ignore[typeddict-item,no-any-return]


def split_page_options(options: PageOptions) -> tuple[CallOptions, dict[str, Any]]:
    """The call options (for each page request) and the paging options (for the paginator)."""
    call: dict[str, Any] = {}
    paging: dict[str, Any] = {}
    for name, value in options.items():
        (paging if name in _PAGE_ONLY else call)[name] = value
    return CallOptions(**call), paging  # type: ignore[typeddict-item]
