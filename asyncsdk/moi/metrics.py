"""``moi.metrics``: load and processing metrics over a time range.

The public docs call ``POST /metric/observice`` on the API host (the default here); the seed
calls ``POST /ob/metrics`` on an in-cluster host. ``MOIClient(metrics_url=...)`` sends queries
to such a URL instead (credentials go with them only if it is the API's own origin), and
``MOIClient(paths=evolve(SEED_PATHS, metrics=...))`` changes just the path.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, Unpack

from .._core import checks
from .._core.convert import structure
from .._core.errors import InvalidInputError
from .._core.options import CallOptions, call_options
from .._core.resource import Resource, items
from .._core.session import Session
from .models import MetricName, MetricSeries
from .paths import MOIPaths

__all__ = ["Metrics"]


def _series(data: Any) -> list[MetricSeries]:
    return structure(items(data, "metrics"), list[MetricSeries])


def _instant(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidInputError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        # A naive datetime is ambiguous (local time? UTC?); guessing would shift the window.
        raise InvalidInputError(f"{name} must be timezone-aware, e.g. datetime.now(timezone.utc)")
    return value


def _seconds(value: object) -> int:
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        if seconds != int(seconds):
            raise InvalidInputError(f"interval must be whole seconds, got {value}")
        value = int(seconds)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"interval must be seconds (an int) or a timedelta, got {value!r}")
    if value <= 0:
        raise InvalidInputError(f"interval must be > 0 seconds, got {value}")
    return value


def _names(names: object) -> list[str]:
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, Iterable):
        raise InvalidInputError(
            f"names must be metric names (MetricName or str), got {type(names).__name__}"
        )
    out = []
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError(f"metric names must be non-empty strings, got {name!r}")
        out.append(str(name.value) if isinstance(name, MetricName) else name)
    if not out:
        raise InvalidInputError("names must name at least one metric")
    return out


class Metrics(Resource[MOIPaths]):
    """Query metric series::

    end = datetime.now(timezone.utc)
    series = await moi.metrics.query(
        [MetricName.PROCESS_FINISH_JOB_COUNT], end - timedelta(hours=1), end, 60
    )
    for s in series:
        for point in s.points:
            print(s.name, point.timestamp, point.value)  # value None: no data
    """

    def __init__(
        self, session: Session, paths: MOIPaths, account: str, url: str | None = None
    ) -> None:
        super().__init__(session, paths)
        self._account = account
        self._url = url

    async def query(
        self,
        names: Iterable[MetricName | str] | MetricName | str,
        start: datetime,
        end: datetime,
        interval: int | timedelta,
        *,
        account: str | None = None,
        **options: Unpack[CallOptions],
    ) -> list[MetricSeries]:
        """Series for ``names`` between ``start`` and ``end`` (aware datetimes, sent as RFC
        3339), in buckets of ``interval`` seconds. One series per metric (and per label set,
        e.g. per workflow); a point's ``value`` is None where its bucket had no data.
        ``account`` defaults to the client's account. Safe to retry."""
        checked = call_options(options)
        account = self._account if account is None else checks.text("account", account)
        if not account:
            raise InvalidInputError("account is required: the client has no account_name")
        body = {
            "account": account,
            "start": _instant("start", start).isoformat(),
            "end": _instant("end", end).isoformat(),
            "interval": _seconds(interval),
            "metrics": [{"name": name} for name in _names(names)],
        }
        if start >= end:
            raise InvalidInputError("start must be before end")
        # MOIClient(metrics_url=...) may name another host: the pipeline attaches credentials
        # only for the API's own origin.
        target = self._paths.metrics if self._url is None else self._url
        return await self._post(target, json=body, idempotent=True, parse=_series, options=checked)
