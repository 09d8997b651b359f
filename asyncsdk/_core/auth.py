"""Authentication: the ``Auth`` protocol, token auth with background refresh, API-key auth.

Token auth follows the lessons in DESIGN.md:

* Two windows before expiry. In the *advisory* window one task refreshes while every other call
  keeps using the still-valid token; in the shorter *mandatory* window calls wait for the new
  token. Both scale down for short-lived tokens (tests use 2-second tokens).
* Single flight: however many calls find the token stale at once, one refresh (or login) runs and
  they all wait for it.
* On a 401 the cached token is dropped only if it is the one the failed request carried, so a
  burst of 401s from one expiry causes one renewal, not a burst.
* A rejected refresh falls back to a full login; a rejected login is remembered for a short
  cool-down, so a wrong password does not turn every incoming call into a login attempt.

The protocol of a particular service (which endpoint, which headers) lives with that service, in
a :class:`TokenProvider`; nothing here knows MOI.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from .errors import AuthenticationError, InvalidInputError

__all__ = [
    "ApiKeyAuth",
    "Auth",
    "Grant",
    "TokenAuth",
    "TokenProvider",
    "jwt_claims",
]

logger = logging.getLogger("asyncsdk.auth")


class Auth(Protocol):
    """What the request pipeline needs from an authentication scheme."""

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
    """A static key in one header (MAXIR's ``x-pd-api-key``). Nothing to refresh."""

    def __init__(self, header: str, key: str) -> None:
        self._headers = {header: key}

    def __repr__(self) -> str:
        return f"ApiKeyAuth(header={next(iter(self._headers))!r}, key=<hidden>)"

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


class Grant:
    """Credentials obtained from a login or refresh.

    ``headers`` is what every request carries. ``expires_at`` / ``issued_at`` are the access
    token's ``exp`` / ``iat`` claims (epoch seconds), ``refresh_expires_at`` the refresh token's
    ``exp``. ``state`` is the provider's own (e.g. the refresh token). Nothing here is printed:
    the repr shows only lifetimes.
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
        left = "unknown" if self.expires_at is None else f"{self.expires_at - time.time():.0f} s"
        return f"<Grant expires in {left}>"


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
    except (ValueError, TypeError):
        return {}
    return claims if isinstance(claims, dict) else {}


class _Held:
    """A grant plus the monotonic instants at which its windows open."""

    __slots__ = ("advisory_at", "expires_at", "grant", "mandatory_at")

    def __init__(self, grant: Grant, advisory_at: float, mandatory_at: float, expires_at: float):
        self.grant = grant
        self.advisory_at = advisory_at
        self.mandatory_at = mandatory_at
        self.expires_at = expires_at


class TokenAuth:
    """Short-lived tokens kept fresh in the background.

    ``refresh_margin`` (default 120 s) opens the advisory window before expiry,
    ``mandatory_margin`` (default 30 s) the mandatory one. For tokens living under 15 minutes
    both shrink in proportion (15% and 5% of the lifetime), so a 2-second token is refreshed
    about 0.3 s before it expires.
    """

    #: How long a rejected login is remembered before the stored credentials are tried again.
    login_cooldown = 10.0

    def __init__(
        self,
        provider: TokenProvider,
        *,
        refresh_margin: float = 120.0,
        mandatory_margin: float = 30.0,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if refresh_margin < 0 or mandatory_margin < 0:
            raise InvalidInputError("refresh margins must be >= 0 seconds")
        if mandatory_margin > refresh_margin:
            raise InvalidInputError("mandatory_margin must not exceed refresh_margin")
        self._provider = provider
        self._refresh_margin = refresh_margin
        self._mandatory_margin = mandatory_margin
        self._wall = wall_clock
        self._mono = monotonic
        self._held: _Held | None = None
        self._renewal: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._refresher: asyncio.Task[None] | None = None
        self._login_failure: tuple[float, AuthenticationError] | None = None
        self._closed = False
        self.logins = 0
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"TokenAuth(logins={self.logins}, refreshes={self.refreshes})"

    # -- the Auth protocol --------------------------------------------------------------------

    async def ensure(self) -> None:
        held = self._held
        if held is not None:
            now = self._mono()
            if now < held.advisory_at:
                return
            if now < held.mandatory_at:
                self._renew_in_background()
                return
        await self._renew()

    def headers(self) -> tuple[Mapping[str, str], object]:
        held = self._held
        if held is None:
            # ensure() ran, but a concurrent 401 dropped the grant meanwhile; the request goes
            # out unauthenticated, gets a 401, and the pipeline renews and replays.
            return {}, None
        return held.grant.headers, held.grant

    async def unauthorized(self, identity: object) -> bool:
        held = self._held
        if held is not None and held.grant is not identity:
            # Renewed since that request was sent: replay it with the new credentials.
            return True
        if held is not None:
            logger.debug("credentials rejected by the service; renewing")
            # Keep the grant (its refresh token is still good) but make every caller wait for
            # the renewal, as in the mandatory window.
            held.advisory_at = held.mandatory_at = float("-inf")
        # Joins a renewal already under way, so a burst of 401s renews once.
        await self._renew()
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

    async def _renew(self) -> None:
        """Renew, joining a renewal already under way (single flight)."""
        if self._closed:
            raise RuntimeError("the client is closed")
        task = self._renewal
        if task is None or task.done():
            failure = self._login_failure
            if failure is not None and self._mono() - failure[0] < self.login_cooldown:
                raise copy.copy(failure[1])
            task = self._renewal = asyncio.create_task(self._renew_once(), name="asyncsdk-renew")
            task.add_done_callback(_consume_exception)
        # shield: one caller being cancelled must not cancel the renewal the others wait for.
        await asyncio.shield(task)

    def _renew_in_background(self) -> None:
        if self._renewal is None or self._renewal.done():
            task = self._renewal = asyncio.create_task(self._renew_once(), name="asyncsdk-renew")
            task.add_done_callback(_consume_exception)

    async def _renew_once(self) -> None:
        held = self._held
        grant: Grant | None = None
        if held is not None and self._can_refresh(held.grant):
            try:
                grant = await self._provider.refresh(held.grant)
                self.refreshes += 1
                logger.debug("access token refreshed")
            except AuthenticationError:
                logger.debug("refresh rejected; logging in again")
        if grant is None:
            grant = await self._login()
        self._hold(grant)

    async def _login(self) -> Grant:
        try:
            grant = await self._provider.login()
        except AuthenticationError as exc:
            self._login_failure = (self._mono(), exc)
            raise
        self._login_failure = None
        self.logins += 1
        logger.debug("logged in")
        return grant

    def _can_refresh(self, grant: Grant) -> bool:
        exp = grant.refresh_expires_at
        # A refresh token about to lapse would fail mid-flight; log in instead.
        return exp is None or self._wall() < exp - self._mandatory_margin_for(grant)

    def _lifetime(self, grant: Grant) -> float | None:
        if grant.expires_at is None:
            return None
        if grant.issued_at is not None and grant.expires_at > grant.issued_at:
            return grant.expires_at - grant.issued_at
        return None

    def _mandatory_margin_for(self, grant: Grant) -> float:
        lifetime = self._lifetime(grant)
        if lifetime is None:
            return self._mandatory_margin
        return min(self._mandatory_margin, lifetime * 0.05)

    def _hold(self, grant: Grant) -> None:
        now = self._mono()
        if grant.expires_at is None:
            # An opaque token: no proactive refresh; a 401 will trigger renewal.
            self._held = _Held(grant, float("inf"), float("inf"), float("inf"))
        else:
            remaining = grant.expires_at - self._wall()
            lifetime = self._lifetime(grant)
            if lifetime is not None:
                # Guard against clock skew between us and the service: a fresh token can't
                # live longer than exp - iat, and one that looks already expired was just
                # issued, so trust its stated lifetime (a 401 corrects us if we are wrong).
                remaining = lifetime if remaining <= 0 else min(remaining, lifetime)
                advisory = min(self._refresh_margin, lifetime * 0.15)
                mandatory = min(self._mandatory_margin, lifetime * 0.05)
            else:
                advisory, mandatory = self._refresh_margin, self._mandatory_margin
            expires = now + remaining
            self._held = _Held(grant, expires - advisory, expires - mandatory, expires)
        self._changed.set()

    async def _refresh_loop(self) -> None:
        """Renew ahead of expiry even when no call is being made."""
        failures = 0
        while True:
            held = self._held
            if held is None or held.advisory_at == float("inf"):
                self._changed.clear()
                await self._changed.wait()
                continue
            delay = held.advisory_at - self._mono()
            if delay > 0:
                self._changed.clear()
                try:
                    await asyncio.wait_for(self._changed.wait(), timeout=delay)
                    continue  # the grant changed under us: recompute
                except TimeoutError:
                    pass
            if self._held is not held:
                continue
            try:
                await self._renew()
                failures = 0
            except AuthenticationError:
                # Credentials are rejected: calls will report it; wait for a new grant.
                logger.warning("background token refresh failed: credentials rejected")
                self._changed.clear()
                await self._changed.wait()
            except Exception as exc:  # transport trouble: retry before the token lapses
                failures += 1
                # Back off exponentially, but try again well before a still-valid token lapses.
                pause = min(30.0, 0.5 * 2.0**failures)
                left = held.expires_at - self._mono()
                if left > 0:
                    pause = min(pause, max(left / 4, 0.05))
                logger.warning("background token refresh failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(pause)


def _consume_exception(task: asyncio.Task[None]) -> None:
    # Renewals started in the background may fail with nobody awaiting them; their callers see
    # the failure through the next ensure(). Mark it retrieved so asyncio does not log it.
    if not task.cancelled():
        task.exception()
