"""Authentication: the ``Auth`` protocol, token auth with background refresh, API-key auth.

Token auth, in short:

* Two windows before expiry. In the *advisory* window one task refreshes while every other call
  keeps using the still-valid token; in the shorter *mandatory* window calls wait for the new
  token. Both are measured on the lifetime the token had when it *arrived* (its ``exp`` minus
  the local time of receipt), never on ``iat``: a token can come without ``iat``, or from a
  service whose clock differs from ours.
* A token that looks expired on arrival (our clock runs ahead), or lives too briefly to be
  renewed ahead of time, or has no usable ``exp``, is used as it is: the service's 401 will say
  when it has really expired, and the call is renewed and replayed then. Renewing it ahead of
  time would only fetch another token that looks the same, in a loop.
* A renewal never follows another within ``min_renewal_gap``; after a failed renewal the gap
  doubles (up to ``max_renewal_backoff``) until one succeeds. Whatever the claims say, an idle
  client cannot renew faster than that.
* Single flight: however many calls find the token stale at once, one refresh (or login) runs and
  they all wait for it.
* On a 401 the cached token is dropped only if it is the one the failed request carried, so a
  burst of 401s from one expiry causes one renewal, not a burst.
* A rejected refresh falls back to a full login; a rejected login is remembered for
  ``login_cooldown`` seconds, and every path that can log in (a call, a 401, the background
  refresher) honours it, so a rotated password does not turn every call into a login attempt
  that could lock the account.

The protocol of a particular service (which endpoint, which headers) lives with that service, in
a :class:`TokenProvider`; nothing here knows a service.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import logging
import math
import time
from collections.abc import Mapping
from typing import Any, Protocol

from .errors import AuthenticationError, ClientClosedError, InvalidInputError

__all__ = [
    "ApiKeyAuth",
    "Auth",
    "Clock",
    "Grant",
    "SystemClock",
    "TokenAuth",
    "TokenProvider",
    "claim_seconds",
    "jwt_claims",
]

logger = logging.getLogger("asyncsdk.auth")

_INF = math.inf


class Auth(Protocol):
    """What the request pipeline needs from an authentication scheme."""

    def fresh(self) -> bool:
        """Whether ``headers()`` may be sent now with nothing to do first: then the pipeline
        skips ``ensure()`` and the coroutine it would make on every call."""

    async def ensure(self) -> None:
        """Make sure ``headers()`` will return usable credentials (log in, refresh)."""

    def headers(self) -> tuple[Mapping[str, str], object]:
        """The headers to send now, and an identity to hand back to ``unauthorized``."""

    async def unauthorized(self, identity: object) -> bool:
        """The service rejected the credentials ``identity`` named; return True to replay."""

    def start(self) -> None:
        """Start background work (if any). Called once the client is entered."""

    async def aclose(self) -> None:
        """Stop background work."""


class ApiKeyAuth:
    """A static key in one header (MAXIR's ``x-pd-api-key``, MOI's ``moi-key``).

    Nothing to log in to, nothing to refresh, no background task; a rejected key is final.
    """

    def __init__(self, header: str, key: str) -> None:
        self._headers = {header: key}

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={next(iter(self._headers))!r}, key=<hidden>)"

    def fresh(self) -> bool:
        return True

    async def ensure(self) -> None:
        return None

    def headers(self) -> tuple[Mapping[str, str], object]:
        return self._headers, self

    async def unauthorized(self, identity: object) -> bool:
        # A rejected API key will be rejected again: nothing to renew, no replay.
        return False

    def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class Clock(Protocol):
    """Where token auth reads the time and waits; replace it to test timing without waiting."""

    def wall(self) -> float:
        """Epoch seconds, to compare with a token's ``exp``."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps, for the windows and gaps."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""


class SystemClock:
    """The real clocks and ``asyncio.sleep``."""

    # The clock functions themselves: read on every call (is the token fresh?), so no Python
    # frame in between.
    wall = staticmethod(time.time)
    monotonic = staticmethod(time.monotonic)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Grant:
    """Credentials obtained from a login or refresh.

    ``headers`` is what every request carries. ``expires_at`` / ``issued_at`` are the access
    token's ``exp`` / ``iat`` claims (epoch seconds), ``refresh_expires_at`` the refresh token's
    ``exp``. ``state`` is the provider's own (e.g. the refresh token). Nothing here is printed:
    the repr shows only the expiry.
    """

    __slots__ = ("expires_at", "headers", "issued_at", "refresh_expires_at", "state")

    def __init__(
        self,
        headers: Mapping[str, str],
        *,
        expires_at: float | None = None,
        issued_at: float | None = None,
        refresh_expires_at: float | None = None,
        state: Any = None,
    ) -> None:
        self.headers = headers
        self.expires_at = expires_at
        self.issued_at = issued_at
        self.refresh_expires_at = refresh_expires_at
        self.state = state

    def __repr__(self) -> str:
        exp = self.expires_at
        return "<Grant>" if exp is None else f"<Grant exp={exp:.0f}>"


class TokenProvider(Protocol):
    """A service's token protocol: how to log in and how to refresh."""

    async def login(self) -> Grant:
        """Log in with stored credentials; raise AuthenticationError if they are rejected."""

    async def refresh(self, grant: Grant) -> Grant:
        """Renew ``grant``; raise AuthenticationError if the service refuses."""


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, read without verifying the signature; {} if it is not a JWT."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError, RecursionError):
        return {}
    return claims if isinstance(claims, dict) else {}


def claim_seconds(value: Any) -> float | None:
    """A JWT time claim (``exp``, ``iat``) as epoch seconds; None when it is not a usable number.

    Claims come from the wire: NaN, booleans, strings and numbers too large for a float are all
    possible. Integers beyond a float's range become an infinity of their sign (``exp: 10**400``
    means "never expires", not an ``OverflowError``).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return _INF if value > 0 else -_INF
    return None if math.isnan(seconds) else seconds


class _Held:
    """A grant plus the monotonic instants at which its windows open."""

    __slots__ = (
        "advisory_at",
        "expires_at",
        "grant",
        "mandatory_at",
        "mandatory_margin",
        "refresh_refused",
    )

    def __init__(
        self,
        grant: Grant,
        advisory_at: float = _INF,
        mandatory_at: float = _INF,
        expires_at: float = _INF,
        mandatory_margin: float = 0.0,
    ) -> None:
        self.grant = grant
        self.advisory_at = advisory_at
        self.mandatory_at = mandatory_at
        self.expires_at = expires_at
        self.mandatory_margin = mandatory_margin
        # The service refused this grant's refresh token: renew by logging in.
        self.refresh_refused = False


class TokenAuth:
    """Short-lived tokens kept fresh in the background.

    ``refresh_margin`` (default 120 s) opens the advisory window before expiry,
    ``mandatory_margin`` (default 30 s) the mandatory one; both shrink to 15% and 5% of the
    token's lifetime for tokens living under 15 minutes, so a 2-second token is refreshed about
    0.3 s before it expires. ``min_renewal_gap`` is the least time between two renewals (it
    doubles after each failed one, up to ``max_renewal_backoff``); ``clock`` supplies the time
    and the waits (see :class:`Clock`).
    """

    #: How long a rejected login is remembered before the stored credentials are tried again.
    login_cooldown = 10.0

    def __init__(
        self,
        provider: TokenProvider,
        *,
        refresh_margin: float = 120.0,
        mandatory_margin: float = 30.0,
        min_renewal_gap: float = 0.5,
        max_renewal_backoff: float = 60.0,
        clock: Clock | None = None,
    ) -> None:
        for name, value in (
            ("refresh_margin", refresh_margin),
            ("mandatory_margin", mandatory_margin),
            ("min_renewal_gap", min_renewal_gap),
            ("max_renewal_backoff", max_renewal_backoff),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not 0 <= value < _INF
            ):
                raise InvalidInputError(f"{name} must be a finite number of seconds >= 0")
        if mandatory_margin > refresh_margin:
            raise InvalidInputError("mandatory_margin must not exceed refresh_margin")
        self._provider = provider
        self._refresh_margin = float(refresh_margin)
        self._mandatory_margin = float(mandatory_margin)
        self._gap = float(min_renewal_gap)
        self._max_backoff = max(float(max_renewal_backoff), self._gap)
        #: Where the time comes from; tests may replace it before the client is used.
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._held: _Held | None = None
        self._renewal: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._refresher: asyncio.Task[None] | None = None
        # No renewal starts before this monotonic instant (the gap after the last one).
        self._not_before = -_INF
        self._failures = 0
        self._failure: Exception | None = None
        self._login_refused: tuple[float, AuthenticationError] | None = None
        self._closed = False
        self.logins = 0
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"TokenAuth(logins={self.logins}, refreshes={self.refreshes})"

    # -- the Auth protocol --------------------------------------------------------------------

    def fresh(self) -> bool:
        # Before the advisory window: nothing to renew yet.
        held = self._held
        return held is not None and self.clock.monotonic() < held.advisory_at

    async def ensure(self) -> None:
        if self.fresh():
            return
        held = self._held
        task = self._start_renewal()
        if held is None:
            # Nothing to send yet: wait for credentials, or report why there are none.
            await self._join(task)
            return
        if task is None or self.clock.monotonic() < held.mandatory_at:
            # Advisory window (renewing in the background), or too soon after the last renewal:
            # the held token goes out, and a 401 corrects us if it has really expired.
            return
        await asyncio.shield(task)

    def headers(self) -> tuple[Mapping[str, str], object]:
        held = self._held
        if held is None:
            # ensure() ran, but no grant is held; the request goes out unauthenticated, gets a
            # 401, and the pipeline renews and replays.
            return {}, None
        return held.grant.headers, held.grant

    async def unauthorized(self, identity: object) -> bool:
        held = self._held
        if held is not None and held.grant is not identity:
            # Renewed since that request was sent: replay it with the new credentials.
            return True
        if held is not None:
            logger.debug("credentials rejected by the service; renewing")
            # Keep the grant (its refresh token may still be good) but make every caller wait
            # for the renewal, as in the mandatory window.
            held.advisory_at = held.mandatory_at = -_INF
        # Joins a renewal already under way, so a burst of 401s renews once.
        await self._join(self._start_renewal())
        return True

    def start(self) -> None:
        if self._refresher is None and not self._closed:
            self._refresher = asyncio.create_task(self._refresh_loop(), name="asyncsdk-refresher")

    async def aclose(self) -> None:
        self._closed = True
        tasks = [t for t in (self._refresher, self._renewal) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            # Stopping: the outcome no longer matters, only that the task has ended.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._refresher = None
        self._renewal = None

    # -- renewal ------------------------------------------------------------------------------

    def _start_renewal(self) -> asyncio.Task[None] | None:
        """The renewal under way, or a new one; None while the gap after the last one runs."""
        if self._closed:
            raise ClientClosedError("the client is closed; create a new one")
        task = self._renewal
        if task is not None and not task.done():
            return task
        if self.clock.monotonic() < self._not_before:
            return None
        task = self._renewal = asyncio.create_task(self._renew_once(), name="asyncsdk-renew")
        task.add_done_callback(_consume_exception)
        return task

    async def _join(self, task: asyncio.Task[None] | None) -> None:
        """Wait for ``task``; with none allowed yet, report the last failure or wait the gap."""
        while task is None:
            if self._failure is not None:
                # A failed renewal is not repeated before its back-off has passed.
                raise copy.copy(self._failure)
            await self.clock.sleep(max(0.0, self._not_before - self.clock.monotonic()))
            task = self._start_renewal()
        # shield: one caller being cancelled must not cancel the renewal the others wait for.
        await asyncio.shield(task)

    async def _renew_once(self) -> None:
        held = self._held
        try:
            grant: Grant | None = None
            if held is not None and not held.refresh_refused and self._can_refresh(held):
                try:
                    grant = await self._provider.refresh(held.grant)
                    self.refreshes += 1
                    logger.debug("access token refreshed")
                except AuthenticationError:
                    held.refresh_refused = True
                    logger.debug("refresh rejected; logging in again")
            if grant is None:
                grant = await self._login()
        except Exception as exc:
            self._failures += 1
            self._failure = exc
            pause = min(self._max_backoff, self._gap * 2.0**self._failures)
            if isinstance(exc, AuthenticationError) and self._login_refused is not None:
                pause = max(pause, self.login_cooldown)
            self._not_before = self.clock.monotonic() + pause
            raise
        self._failures = 0
        self._failure = None
        self._not_before = self.clock.monotonic() + self._gap
        self._hold(grant)

    async def _login(self) -> Grant:
        refused = self._login_refused
        if refused is not None and self.clock.monotonic() - refused[0] < self.login_cooldown:
            raise copy.copy(refused[1])
        try:
            grant = await self._provider.login()
        except AuthenticationError as exc:
            self._login_refused = (self.clock.monotonic(), exc)
            raise
        self._login_refused = None
        self.logins += 1
        logger.debug("logged in")
        return grant

    def _can_refresh(self, held: _Held) -> bool:
        exp = claim_seconds(held.grant.refresh_expires_at)
        # A refresh token about to lapse would fail mid-flight; log in instead.
        return exp is None or self.clock.wall() < exp - held.mandatory_margin

    def _hold(self, grant: Grant) -> None:
        now = self.clock.monotonic()
        exp = claim_seconds(grant.expires_at)
        # The lifetime as observed on arrival; iat plays no part (it may be absent, or stamped
        # by a clock other than ours).
        lifetime = None if exp is None else exp - self.clock.wall()
        if lifetime is None or lifetime == _INF:
            # No usable expiry: nothing to renew ahead of; a 401 will say when.
            self._held = _Held(grant)
        elif lifetime <= 0:
            logger.debug("access token looks expired on arrival (clock skew?); using it as is")
            self._held = _Held(grant)
        else:
            advisory = min(self._refresh_margin, lifetime * 0.15)
            mandatory = min(self._mandatory_margin, lifetime * 0.05)
            if lifetime - advisory < self._gap:
                # Too short-lived to be renewed ahead of time without a storm of renewals.
                self._held = _Held(grant, mandatory_margin=mandatory)
            else:
                expires = now + lifetime
                self._held = _Held(
                    grant, expires - advisory, expires - mandatory, expires, mandatory
                )
        self._changed.set()

    async def _wait_for_change(self, timeout: float) -> bool:
        """Wait until a new grant is held (True) or ``timeout`` seconds have passed (False)."""
        self._changed.clear()
        if timeout == _INF:
            await self._changed.wait()
            return True
        changed = asyncio.ensure_future(self._changed.wait())
        slept = asyncio.ensure_future(self.clock.sleep(timeout))
        try:
            await asyncio.wait((changed, slept), return_when=asyncio.FIRST_COMPLETED)
        finally:
            changed.cancel()
            slept.cancel()
        return changed.done() and not changed.cancelled()

    async def _refresh_loop(self) -> None:
        """Renew ahead of expiry even when no call is being made."""
        while True:
            held = self._held
            if held is None:
                await self._wait_for_change(_INF)
                continue
            due = max(held.advisory_at, self._not_before)
            if due == _INF:
                await self._wait_for_change(_INF)
                continue
            delay = due - self.clock.monotonic()
            if delay > 0 and await self._wait_for_change(delay):
                continue  # the grant changed under us: recompute
            if self._held is not held:
                continue
            task = self._start_renewal()
            if task is None:
                continue  # the gap has not passed yet: `due` is recomputed with it
            try:
                await asyncio.shield(task)
            except AuthenticationError:
                # Credentials are rejected: calls will report it; wait for a new grant.
                logger.warning("background token refresh failed: credentials rejected")
                await self._wait_for_change(_INF)
            except Exception as exc:  # transport trouble: the back-off spaces the next attempt
                logger.warning("background token refresh failed (%s); retrying", type(exc).__name__)


def _consume_exception(task: asyncio.Task[None]) -> None:
    # Renewals started in the background may fail with nobody awaiting them; their callers see
    # the failure through the next ensure(). Mark it retrieved so asyncio does not log it.
    if not task.cancelled():
        task.exception()
