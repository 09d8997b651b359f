"""What the service clients share: life cycle, per-client option copies, counters, env config."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TypeVar, Unpack

from attrs import define

from .errors import InvalidInputError
from .options import CallOptions, call_options
from .session import Session

__all__ = ["BaseClient", "ClientStats", "read_env"]

C = TypeVar("C", bound="BaseClient")


@define(frozen=True)
class ClientStats:
    """A snapshot of one client's counters (shared with its ``with_options`` copies).

    ``calls`` are SDK calls (pages count one each); ``attempts`` the HTTP requests they sent;
    ``retries`` the attempts repeated after a transient failure; ``replays`` the calls repeated
    after a 401; ``logins`` and ``refreshes`` the token renewals (MOI).
    """

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    replays: int = 0
    rate_limited: int = 0
    logins: int = 0
    refreshes: int = 0


class BaseClient:
    """An async context manager around one :class:`Session`.

    ``async with`` authenticates and starts background work; leaving it (or ``aclose()``)
    stops everything and closes every connection.
    """

    _session: Session
    _owner: bool

    def _bind(self, session: Session) -> None:
        """Attach the session and build the resources on it (subclasses add resources)."""
        self._session = session

    async def __aenter__(self: C) -> C:
        try:
            await self._session.start()
        except BaseException:
            # __aexit__ will not run when __aenter__ fails: close here, or the connections leak.
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop background refresh and close every connection. Copies made with
        ``with_options`` share the connections: closing a copy does nothing."""
        if self._owner:
            await self._session.aclose()

    @property
    def closed(self) -> bool:
        return self._session.closed

    def with_options(
        self: C,
        *,
        headers: Mapping[str, str] | None = None,
        base_url: str | None = None,
        **options: Unpack[CallOptions],
    ) -> C:
        """A copy with other defaults, sharing connections, credentials and counters with this
        client. Every call option is accepted (``timeout``, ``deadline``, ``retry``,
        ``request_id``, ``extra_headers``, ``extra_query``, ``extra_body``); a call's own
        options still win, and the ``extra_*`` mappings merge key by key. ``headers`` go with
        every call; ``base_url`` sends the copy's calls to another address of the same service
        (credentials go to that origin)::

            patient = moi.with_options(timeout=120, retry=RetryPolicy(max_attempts=10))
            bounded = moi.with_options(deadline=30)
            traced = moi.with_options(headers={"x-trace": "nightly-sync"})

        Closing a copy does nothing; close the original.
        """
        checked = call_options(options)
        if headers is not None:
            call_options({"extra_headers": headers})  # the same checks
        clone = copy.copy(self)
        clone._owner = False
        clone._bind(self._session.derive(options=checked, headers=headers, base_url=base_url))
        return clone

    @property
    def stats(self) -> ClientStats:
        counters = self._session.stats
        auth = self._session.auth
        return ClientStats(
            calls=counters.calls,
            attempts=counters.attempts,
            retries=counters.retries,
            replays=counters.replays,
            rate_limited=counters.rate_limited,
            logins=getattr(auth, "logins", 0),
            refreshes=getattr(auth, "refreshes", 0),
        )


def read_env(
    prefix: str, names: Mapping[str, bool], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Settings from ``<prefix><NAME>`` variables; ``names`` maps each to whether it is
    required. Explicit ``overrides`` win. Missing required ones are named in one error (their
    values never are)."""
    settings: dict[str, Any] = {}
    missing = []
    for name, required in names.items():
        if name in overrides:
            settings[name] = overrides[name]
            continue
        value = os.environ.get(prefix + name.upper())
        if value:
            settings[name] = value
        elif required:
            missing.append(prefix + name.upper())
    if missing:
        raise InvalidInputError("missing environment variable(s): " + ", ".join(missing))
    for key, value in overrides.items():
        settings.setdefault(key, value)
    return settings
