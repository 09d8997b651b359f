"""Hypothesis over the JWT claims a service may send: missing, huge, NaN, past, far future.

Whatever ``exp`` / ``iat`` the access and refresh tokens carry, and whatever the local clock's
skew, token auth raises nothing but asyncsdk errors, and no client (idle, busy, or fed 401s)
starts two renewals within the minimum gap. Runs on virtual time (tests/_clocks.py).
"""

from __future__ import annotations

import asyncio
import itertools
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from asyncsdk import AsyncSDKError
from asyncsdk._core.auth import Grant, TokenAuth, jwt_claims
from asyncsdk.moi._envelope import MOITokenProvider
from asyncsdk.moi.paths import resolve_paths

from ._clocks import LoopClock, run_virtual
from .wire import unsigned_jwt

GAP = 0.5
EPSILON = 1e-9  # float rounding of instants like 1000.1 + 0.5
IDLE = 120.0
BUSY = 200 * 0.05  # 200 calls, 50 ms apart

MISSING = object()
ODD_VALUES: list[Any] = [
    math.nan,
    math.inf,
    -math.inf,
    10**400,
    -(10**400),
    10**30,
    -(10**30),
    0,
    True,
    "1760000000",
    None,
    [1],
    {"n": 1},
]

# A claim: missing, an odd absolute value, or an offset from the local clock at issue time
# (past, now, soon, far future).
claims = st.one_of(
    st.just(("missing", None)),
    st.tuples(st.just("absolute"), st.sampled_from(ODD_VALUES)),
    st.tuples(st.just("relative"), st.integers(-(10**6), 10**6)),
    st.tuples(st.just("relative"), st.floats(-1e4, 1e4, allow_nan=False)),
    st.tuples(st.just("relative"), st.floats(0, 2)),
    st.tuples(st.just("relative"), st.integers(10**8, 10**12)),
)
# iat may also simply equal exp.
iats = st.one_of(claims, st.just(("same as exp", None)))
token_specs = st.tuples(claims, iats, claims)  # access exp, access iat, refresh exp


def _resolve(spec: tuple[str, Any], now: float) -> Any:
    kind, value = spec
    if kind == "absolute":
        return value
    if kind == "relative":
        return now + value
    return MISSING


class ClaimsProvider:
    """Issues tokens with the drawn claims (in turn), read by MOI's own token parsing."""

    def __init__(self, clock: LoopClock, specs: list[Any]) -> None:
        self.clock = clock
        self.specs = itertools.cycle(specs)
        self.moi = MOITokenProvider("acct", "admin", "pw", resolve_paths("seed"))
        self.starts: list[float] = []

    def _issue(self) -> Grant:
        # A storm fails the example at once instead of spinning through it.
        assert len(self.starts) <= 2 + (IDLE + BUSY) / GAP, "renewal storm"
        exp_spec, iat_spec, refresh_spec = next(self.specs)
        now = self.clock.wall()
        access: dict[str, Any] = {"uid": "uid-1"}
        exp = _resolve(exp_spec, now)
        if exp is not MISSING:
            access["exp"] = exp
        iat = exp if iat_spec[0] == "same as exp" else _resolve(iat_spec, now)
        if iat is not MISSING:
            access["iat"] = iat
        refresh: dict[str, Any] = {}
        refresh_exp = _resolve(refresh_spec, now)
        if refresh_exp is not MISSING:
            refresh["exp"] = refresh_exp
        token = unsigned_jwt(access)
        return self.moi._grant(token, unsigned_jwt(refresh), "uid-1", jwt_claims(token))

    async def login(self) -> Grant:
        self.starts.append(self.clock.monotonic())
        return self._issue()

    async def refresh(self, grant: Grant) -> Grant:
        self.starts.append(self.clock.monotonic())
        return self._issue()


def _check_gaps(starts: list[float]) -> None:
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= GAP - EPSILON for gap in gaps), f"renewals {min(gaps):.4f} s apart"


@settings(max_examples=100, deadline=None)
@given(specs=st.lists(token_specs, min_size=1, max_size=4), skew=st.sampled_from([0, 3600, -3600]))
def test_any_claims_only_asyncsdk_errors_and_no_renewal_within_the_gap(
    specs: list[Any], skew: float
) -> None:
    async def main() -> list[float]:
        clock = LoopClock(skew=skew)
        provider = ClaimsProvider(clock, specs)
        auth = TokenAuth(provider, clock=clock)
        try:
            await auth.ensure()  # what entering the client does
            auth.start()
            await asyncio.sleep(IDLE)  # idle
            _check_gaps(provider.starts)
            for i in range(200):  # busy, with the service rejecting every 7th call's token
                await auth.ensure()
                _, identity = auth.headers()
                if i % 7 == 0:
                    assert await auth.unauthorized(identity)
                await asyncio.sleep(0.05)
        except AsyncSDKError:
            pass
        finally:
            await auth.aclose()
        return provider.starts

    starts = run_virtual(main())
    _check_gaps(starts)
    # Idle and busy together: never more than one renewal per gap.
    assert len(starts) <= 1 + (IDLE + BUSY) / GAP
