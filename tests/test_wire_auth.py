"""The exact wire shape of MOI login, refresh and authenticated calls (aioresponses)."""

from __future__ import annotations

import time

import pytest

from asyncsdk import AuthenticationError, MOIClient

from ._canary import CANARY_API_KEY
from ._clocks import ManualClock
from ._mock_http import MockHTTP
from .wire import BASE, jwt, ok, sent

LOGIN = f"{BASE}/auth/login"
REFRESH = f"{BASE}/auth/refresh"
LIST = f"{BASE}/connectors/list?page=1&page_size=100"
EMPTY = ok({"connectors": [], "total": 0})


def client() -> MOIClient:
    return MOIClient(BASE, account_name="acct-7", username="admin:accountadmin", password="pw-1")


async def test_login_sends_credentials_as_json_and_reads_tokens_from_headers() -> None:
    access, refresh = jwt(), jwt(lifetime=21600)
    with MockHTTP() as mock:
        mock.post(
            LOGIN,
            payload=ok({"uid": "uid-1", "login_at": "2025-02-12T03:38:36.5Z"}),
            headers={"Access-Token": access, "Refresh-Token": refresh},
        )
        mock.get(LIST, payload=EMPTY)
        async with client() as moi:
            assert await moi.connectors.list().collect() == []
        [login] = sent(mock, "POST", LOGIN)
        assert login["json"] == {
            "account_name": "acct-7",
            "username": "admin:accountadmin",
            "password": "pw-1",
        }
        assert login["headers"]["Content-Type"] == "application/json"
        assert "Access-Token" not in login["headers"]
        [call] = sent(mock, "GET", LIST)
        # Every later call carries the token, the login's uid, and the account id as user-id.
        assert call["headers"]["Access-Token"] == access
        assert call["headers"]["uid"] == "uid-1"
        assert call["headers"]["user-id"] == "acct-7"
        assert call["params"] == [("page", "1"), ("page_size", "100")]


async def test_refresh_sends_both_tokens_and_uid_and_keeps_an_unrotated_refresh_token() -> None:
    stale, fresh, refresh = jwt(), jwt(), jwt(lifetime=21600)
    clock = ManualClock(wall=time.time())
    with MockHTTP() as mock:
        mock.post(
            LOGIN,
            payload=ok({"uid": "uid-1"}),
            headers={"Access-Token": stale, "Refresh-Token": refresh},
        )
        # docs/wire/moi.md#d15: the answer has no data and may omit the refresh token.
        mock.post(REFRESH, payload=ok(), headers={"Access-Token": fresh})
        mock.get(LIST, payload=EMPTY)
        moi = client()
        moi._session.auth.clock = clock  # type: ignore[attr-defined]
        async with moi:
            clock.advance(900 - 10)  # into the mandatory window: the call must refresh
            await moi.connectors.list().collect()
            assert moi.stats.refreshes == 1
        [refresh_call] = sent(mock, "POST", REFRESH)
        assert refresh_call["json"] == {"type": "user"}
        assert refresh_call["headers"]["Access-Token"] == stale
        assert refresh_call["headers"]["Refresh-Token"] == refresh
        assert refresh_call["headers"]["uid"] == "uid-1"
        [call] = sent(mock, "GET", LIST)
        assert call["headers"]["Access-Token"] == fresh


async def test_a_401_renews_once_and_replays_the_call() -> None:
    first, second = jwt(), jwt()
    with MockHTTP() as mock:
        mock.post(
            LOGIN,
            payload=ok({"uid": "uid-1"}),
            headers={"Access-Token": first, "Refresh-Token": jwt(lifetime=21600)},
        )
        mock.get(LIST, status=401, payload={"code": "ErrUnauthorized", "msg": "token expired"})
        mock.post(REFRESH, payload=ok(), headers={"Access-Token": second})
        mock.get(LIST, payload=EMPTY)
        async with client() as moi:
            assert await moi.connectors.list().collect() == []
            assert moi.stats.replays == 1
        calls = sent(mock, "GET", LIST)
        assert [c["headers"]["Access-Token"] for c in calls] == [first, second]


async def test_wrong_password_is_one_login_and_an_authentication_error() -> None:
    with MockHTTP() as mock:
        refusal = {"code": "ErrUnauthorized", "msg": "invalid password", "request_id": "r-9"}
        mock.post(LOGIN, status=401, payload=refusal)
        with pytest.raises(AuthenticationError) as info:
            async with client():
                pass
        assert len(sent(mock, "POST", LOGIN)) == 1
    err = info.value
    assert (err.status, err.code, err.request_id) == (401, "ErrUnauthorized", "r-9")
    assert "pw-1" not in str(err)


async def test_api_key_mode_sends_moi_key_alone_and_never_logs_in() -> None:
    with MockHTTP() as mock:
        mock.get(LIST, payload=EMPTY)
        mock.get(LIST, status=401, payload={"code": "ErrUnauthorized", "msg": "bad key"})
        async with MOIClient(BASE, api_key=CANARY_API_KEY) as moi:
            assert await moi.connectors.list().collect() == []
            with pytest.raises(AuthenticationError):
                await moi.connectors.list().collect()
        calls = sent(mock, "GET", LIST)
        assert len(calls) == 2  # the 401 was not replayed
        for call in calls:
            assert call["headers"]["moi-key"] == CANARY_API_KEY
            assert not {"Access-Token", "uid", "user-id"} & call["headers"].keys()
        # Nothing else was requested: no login, no refresh.
        assert {key[1].path for key in mock.requests} == {"/connectors/list"}
