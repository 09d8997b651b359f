"""TokenAuth alone, on virtual time: windows, single flight, gaps, cool-down, odd claims.

Every test runs on a loop whose clock jumps to the next timer when all tasks wait (see
tests/_clocks.py), so "ten idle minutes" cost milliseconds and no assertion depends on how
busy the machine is.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from collections.abc import Callable

import pytest

from asyncsdk import APIConnectionError, AuthenticationError, InvalidInputError
from asyncsdk._core.auth import Grant, TokenAuth

from ._clocks import LoopClock, run_virtual

GAP = 0.5  # TokenAuth's default min_renewal_gap
EPSILON = 1e-9  # float rounding of instants like 1000.1 + 0.5


class Provider:
    """A token service on virtual time: each grant's exp comes from ``exp_for(wall_now)``."""

    def __init__(self, clock: LoopClock, exp_for: Callable[[float], float | None]) -> None:
        self.clock = clock
        self.exp_for = exp_for
        self.attempts: list[tuple[str, float]] = []  # (login|refresh, monotonic time)
        self.login_error: Exception | None = None
        self.refresh_error: Exception | None = None
        self.gate: asyncio.Event | None = None
        self.serial = 0

    def grant(self) -> Grant:
        self.serial += 1
        return Grant(
            {"Access-Token": f"token-{self.serial}"},
            expires_at=self.exp_for(self.clock.wall()),
            state=self.serial,
        )

    async def _answer(self, kind: str, error: Exception | None) -> Grant:
        self.attempts.append((kind, self.clock.monotonic()))
        if self.gate is not None:
            await self.gate.wait()
        if error is not None:
            raise copy.copy(error)
        return self.grant()

    async def login(self) -> Grant:
        return await self._answer("login", self.login_error)

    async def refresh(self, grant: Grant) -> Grant:
        return await self._answer("refresh", self.refresh_error)

    def count(self, kind: str) -> int:
        return sum(1 for k, _ in self.attempts if k == kind)


def lives(seconds: float) -> Callable[[float], float]:
    return lambda now: now + seconds


def refused(what: str) -> AuthenticationError:
    return AuthenticationError(f"{what} refused", status=401)


def token(auth: TokenAuth) -> str:
    return auth.headers()[0]["Access-Token"]


# -- windows ----------------------------------------------------------------------------------


def test_before_the_advisory_window_calls_use_the_token_without_renewing() -> None:
    async def main() -> None:
        clock = LoopClock()
        provider = Provider(clock, lives(900))
        auth = TokenAuth(provider, clock=clock)
        await auth.ensure()
        await asyncio.sleep(900 - 121)  # advisory window opens 120 s before expiry
        for _ in range(100):
            await auth.ensure()
        assert provider.attempts == [("login", 0.0)]
        assert token(auth) == "token-1"

    run_virtual(main())


def test_in_the_advisory_window_one_background_renewal_runs_and_calls_do_not_wait() -> None:
    async def main() -> None:
        clock = LoopClock()
        provider = Provider(clock, lives(900))
        auth = TokenAuth(provider, clock=clock)
        await auth.ensure()
        await asyncio.sleep(900 - 100)  # inside the advisory, outside the mandatory window
        provider.gate = asyncio.Event()  # the refresh hangs until released
        for _ in range(50):
            await auth.ensure()  # returns at once: nothing waits for the refresh
            assert token(auth) == "token-1"
        await asyncio.sleep(0.001)
        assert provider.count("refresh") == 1
        provider.gate.set()
        await asyncio.sleep(0.001)
        assert token(auth) == "token-2"
        await auth.aclose()

    run_virtual(main())


def test_in_the_mandatory_window_calls_wait_for_one_shared_refresh() -> None:
    async def main() -> None:
        clock = LoopClock()
        provider = Provider(clock, lives(900))
        auth = TokenAuth(provider, clock=clock)
        await auth.ensure()
        await asyncio.sleep(900 - 20)  # mandatory window opens 30 s before expiry
        provider.gate = asyncio.Event()
        waiters = [asyncio.ensure_future(auth.ensure()) for _ in range(1000)]
        await asyncio.sleep(1)
        assert not any(w.done() for w in waiters)  # they wait for the renewal...
        provider.gate.set()
        await asyncio.gather(*waiters)
        assert provider.count("refresh") == 1  # ...which ran once for all of them
        assert token(auth) == "token-2"

    run_virtual(main())


def test_margins_shrink_for_short_tokens_and_follow_the_lifetime_seen_on_arrival() -> None:
    async def main() -> None:
        clock = LoopClock()
        provider = Provider(clock, lives(10))  # 15% = 1.5 s advisory, 5% = 0.5 s mandatory
        auth = TokenAuth(provider, clock=clock)
        await auth.ensure()
        await asyncio.sleep(8.4)
        await auth.ensure()
        assert provider.count("refresh") == 0
        await asyncio.sleep(0.2)  # 8.6 s: advisory window
        await auth.ensure()
        await asyncio.sleep(0)
        assert provider.count("refresh") == 1

    run_virtual(main())


def test_the_background_refresher_renews_an_idle_client_ahead_of_expiry() -> None:
    async def main() -> None:
        clock = LoopClock()
        provider = Provider(clock, lives(900))
        auth = TokenAuth(provider, clock=clock)
        await auth.ensure()
        auth.start()
        await asyncio.sleep(3600)
        await auth.aclose()
        times = [t for kind, t in provider.attempts if kind == "refresh"]
        # Every 780 s (900 s minus the 120 s advisory margin), never later.
        assert times == pytest.approx([780.0, 1560.0, 2340.0, 3120.0])

    run_virtual(main())


# -- the claims that used to cause refresh storms ----------------------------------------------

STORM_CASES: dict[str, Callable[[float], float | None]] = {
    # The exp the token carries, as a function of the local wall time of its arrival.
    "no exp": lambda now: None,
    "shorter-lived than the margins": lambda now: now + 60,
    "already past by the local clock": lambda now: now - 300,
    "exp equal to now": lambda now: now,
    "huge negative exp": lambda now: -1e300,
    "far future exp": lambda now: float("inf"),
    "a few milliseconds to live": lambda now: now + 0.004,
}


@pytest.mark.parametrize("case", list(STORM_CASES))
def test_an_idle_client_never_renews_twice_within_the_gap(case: str) -> None:
    async def main() -> list[float]:
        clock = LoopClock()
        provider = Provider(clock, STORM_CASES[case])
        auth = TokenAuth(provider, clock=clock)
        await auth.ensure()
        auth.start()
        await asyncio.sleep(600)  # ten idle minutes
        await auth.aclose()
        return [t for _, t in provider.attempts]

    times = run_virtual(main())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= GAP - EPSILON for gap in gaps), gaps[:5]
    if case == "shorter-lived than the margins":
        assert len(times) == 1 + 600 // 51  # renewed 9 s (15%) before each expiry
    else:
        # Nothing can be renewed ahead of time: the token is used until a 401 says otherwise.
        assert len(times) == 1


@pytest.mark.parametrize("case", list(STORM_CASES))
def test_busy_calls_never_renew_twice_within_the_gap(case: str) -> None:
    async def main() -> list[float]:
        clock = LoopClock()
        provider = Provider(clock, STORM_CASES[case])
        auth = TokenAuth(provider, clock=clock)
        await auth.ensure()
        auth.start()
        for _ in range(6000):  # a call every 10 ms for a minute
            await auth.ensure()
            await asyncio.sleep(0.01)
        await auth.aclose()
        return [t for _, t in provider.attempts]

    times = run_virtual(main())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= GAP - EPSILON for gap in gaps), gaps[:5]
    assert len(times) <= 2


def test_a_token_that_looks_expired_on_arrival_is_used_and_renewed_on_its_401() -> None:
    async def main() -> None:
        clock = LoopClock(skew=3600)  # our clock runs an hour ahead of the service
        provider = Provider(clock, lambda now: now - 3600 + 900)
        auth = TokenAuth(provider, clock=clock)
        await auth.ensure()
        auth.start()
        for _ in range(100):
            await auth.ensure()
            await asyncio.sleep(1)
        assert provider.attempts == [("login", 0.0)]
        _, identity = auth.headers()
        assert await auth.unauthorized(identity)  # the service says it expired: renew, replay
        assert [kind for kind, _ in provider.attempts] == ["login", "refresh"]
        assert token(auth) == "token-2"
        await auth.aclose()

    run_virtual(main())


# -- 401s -------------------------------------------------------------------------------------


def test_a_burst_of_401s_renews_once_and_a_401_right_after_waits_for_the_gap() -> None:
    async def main() -> None:
        clock = LoopClock()
        provider = Provider(clock, lives(900))
        auth = TokenAuth(provider, clock=clock)
        await auth.ensure()
        _, first = auth.headers()
        assert all(await asyncio.gather(*(auth.unauthorized(first) for _ in range(100))))
        assert provider.count("refresh") == 1
        # The new token is refused at once too (revoked): renewal again, but not within the gap.
        _, second = auth.headers()
        assert await auth.unauthorized(second)
        refreshes = [t for kind, t in provider.attempts if kind == "refresh"]
        assert len(refreshes) == 2
        assert refreshes[1] - refreshes[0] >= GAP - EPSILON

    run_virtual(main())


def test_a_stale_401_replays_without_renewing() -> None:
    async def main() -> None:
        clock = LoopClock()
        provider = Provider(clock, lives(900))
        auth = TokenAuth(provider, clock=clock)
        await auth.ensure()
        _, old = auth.headers()
        await auth.unauthorized(old)
        await asyncio.sleep(10)
        # A request that carried the old token comes back 401 after the renewal: replay only.
        assert await auth.unauthorized(old)
        assert provider.count("refresh") == 1

    run_virtual(main())


# -- failures: back-off and the login cool-down ------------------------------------------------


def test_failed_background_renewals_back_off_exponentially() -> None:
    async def main() -> list[float]:
        clock = LoopClock()
        provider = Provider(clock, lives(3600))
        auth = TokenAuth(provider, clock=clock)
        await auth.ensure()
        provider.refresh_error = APIConnectionError("down", request_sent=False)
        auth.start()
        await asyncio.sleep(3480 + 600)  # the advisory window opens at 3480 s
        await auth.aclose()
        return [t for kind, t in provider.attempts if kind == "refresh"]

    times = run_virtual(main())
    assert times[0] == pytest.approx(3480)
    spacing = [b - a for a, b in itertools.pairwise(times)]
    # 1, 2, 4 ... seconds apart (twice the 0.5 s gap per failure), never more than 60 s.
    assert spacing[:6] == pytest.approx([1, 2, 4, 8, 16, 32])
    assert spacing[6:] == pytest.approx([60] * len(spacing[6:]))
    assert len(times) == 7 + (600 - 63) // 60


def test_a_rejected_login_is_remembered_for_the_cooldown() -> None:
    async def main() -> None:
        clock = LoopClock()
        provider = Provider(clock, lives(900))
        provider.login_error = refused("login")
        auth = TokenAuth(provider, clock=clock)
        results = await asyncio.gather(*(auth.ensure() for _ in range(100)), return_exceptions=True)
        for _ in range(90):  # 9 s of calls, inside the 10 s cool-down
            await asyncio.sleep(0.1)
            with pytest.raises(AuthenticationError, match="login refused"):
                await auth.ensure()
        assert all(isinstance(r, AuthenticationError) for r in results)
        assert provider.count("login") == 1
        await asyncio.sleep(1.1)  # the cool-down is over: the credentials are tried again
        with pytest.raises(AuthenticationError):
            await auth.ensure()
        assert provider.count("login") == 2

    run_virtual(main())


@pytest.mark.parametrize("window", ["advisory", "mandatory", "401"])
def test_a_rotated_password_costs_one_login_attempt_per_cooldown_on_every_path(
    window: str,
) -> None:
    async def main() -> None:
        clock = LoopClock()
        provider = Provider(clock, lives(900))
        auth = TokenAuth(provider, clock=clock)
        await auth.ensure()
        auth.start()
        # The password was rotated and the refresh token revoked.
        provider.refresh_error = refused("refresh")
        provider.login_error = refused("login")
        await asyncio.sleep({"advisory": 800, "mandatory": 875, "401": 10}[window])
        start = clock.monotonic()
        try:
            for _ in range(100):  # 100 calls in 1.5 s
                try:
                    await auth.ensure()
                    if window == "401":
                        await auth.unauthorized(auth.headers()[1])
                except AuthenticationError:
                    pass
                await asyncio.sleep(0.015)
        finally:
            await auth.aclose()
        logins = [t for kind, t in provider.attempts if kind == "login" and t >= start]
        assert len(logins) <= 1

    run_virtual(main())


def test_bad_margins_are_refused() -> None:
    provider = Provider(LoopClock(), lives(900))
    with pytest.raises(InvalidInputError, match="mandatory_margin"):
        TokenAuth(provider, refresh_margin=10, mandatory_margin=20)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(InvalidInputError, match="min_renewal_gap"):
            TokenAuth(provider, min_renewal_gap=bad)
