"""Token auth against a scripted MOI server that sends the tokens real services and clocks do.

Each test states the exact claims the server's tokens carry and the answers it gives, and counts
the logins and refreshes the client makes over real sockets.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import pytest

from asyncsdk import AuthenticationError, MOIClient

from ._canary import CANARY_PASSWORD
from ._clocks import ManualClock
from ._scripted_auth import Answer, ScriptedMOI, jwt, ok, refused

LOGIN, REFRESH, CALL = "/auth/login", "/auth/refresh", "/connectors/list"


def issuing(**claims: Any) -> Answer:
    return 200, {"Access-Token": jwt(**claims), "Refresh-Token": jwt()}, ok({"uid": "uid-1"})


def client(server: ScriptedMOI, clock: ManualClock | None = None) -> MOIClient:
    moi = MOIClient(server.url, account_name="acct", username="admin", password=CANARY_PASSWORD)
    if clock is not None:
        moi._session.auth.clock = clock  # type: ignore[attr-defined]
    return moi


async def call(moi: MOIClient) -> None:
    await moi.connectors.list(page_size=1).first()


ODD_CLAIMS: dict[str, Callable[[float], dict[str, Any]]] = {
    # The claims, as a function of the local wall time at which the server answers.
    "no iat, shorter-lived than the margins": lambda now: {"exp": now + 60},
    "exp already past (client clock ahead)": lambda now: {"exp": now - 300, "iat": now - 1200},
    "exp equal to iat": lambda now: {"exp": now, "iat": now},
    "exp NaN": lambda now: {"exp": math.nan, "iat": now},
    "huge negative exp": lambda now: {"exp": -(10**30)},
}


@pytest.mark.parametrize("case", list(ODD_CLAIMS))
async def test_odd_claims_cost_one_login_and_no_refresh_storm(case: str) -> None:
    def login(request: Any) -> Answer:
        return issuing(**ODD_CLAIMS[case](time.time()))

    async with ScriptedMOI(login=login, refresh=login) as server:
        async with client(server) as moi:
            for _ in range(50):
                await call(moi)
        assert server.count(LOGIN) == 1
        assert server.count(REFRESH) == 0
        assert server.count(CALL) == 50


async def test_a_token_expired_on_arrival_is_renewed_by_its_401_and_replayed() -> None:
    def login(request: Any) -> Answer:
        return issuing(exp=time.time() - 300, jti=len(server.seen))

    async with ScriptedMOI(login=login, refresh=login) as server:
        async with client(server) as moi:
            await call(moi)
            first = moi._session.auth.headers()[0]["Access-Token"]
            # The service now says that token has expired (its clock has caught up).
            server.call = lambda request: (
                refused("token expired")
                if request.headers.get("Access-Token") == first
                else (200, {}, ok({"connectors": [], "total": 0}))
            )
            await call(moi)
            await call(moi)
        assert [s.path for s in server.seen] == [LOGIN, CALL, CALL, REFRESH, CALL, CALL]


async def test_an_exp_beyond_float_range_does_not_escape_async_with() -> None:
    async with ScriptedMOI(login=lambda request: issuing(exp=10**400, iat=10**400)) as server:
        async with client(server) as moi:
            await call(moi)
        assert [s.path for s in server.seen] == [LOGIN, CALL]


async def test_a_rotated_password_in_the_advisory_window_is_one_login_attempt() -> None:
    clock = ManualClock(wall=time.time())
    async with ScriptedMOI(login=lambda request: issuing(exp=time.time() + 900)) as server:
        async with client(server, clock) as moi:
            # The password is rotated and the refresh token revoked; the advisory window opens.
            server.login = lambda request: refused("invalid password")
            server.refresh = lambda request: refused("refresh token revoked")
            clock.advance(800)
            outcomes = []
            for _ in range(100):
                try:
                    await call(moi)
                    outcomes.append("ok")
                except AuthenticationError:
                    outcomes.append("refused")
                clock.advance(0.015)
        # The first login, then at most one attempt with the rejected password.
        assert server.count(LOGIN) <= 2
        assert server.count(REFRESH) == 1
        # The token is still valid: the calls themselves go through meanwhile.
        assert outcomes == ["ok"] * 100
