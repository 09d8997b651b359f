"""MOI authentication against the emulator, over real sockets."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from asyncsdk import AuthenticationError, ClientClosedError, InvalidInputError, MOIClient
from asyncsdk.emulator import Emulator, MOICredentials


async def call(moi: MOIClient) -> None:
    """One cheap authenticated call."""
    await moi.connectors.list(page_size=1).first()


def client(emu: Emulator) -> MOIClient:
    return MOIClient(emu.url, **emu.moi_credentials)


async def test_login_on_enter_and_calls_carry_valid_headers(emulator: Emulator) -> None:
    async with client(emulator) as moi:
        assert emulator.stats.logins == 1
        await call(moi)
    assert emulator.stats.unauthorized == 0
    assert moi.closed


async def test_login_on_first_use_without_async_with(emulator: Emulator) -> None:
    moi = client(emulator)
    try:
        assert emulator.stats.logins == 0
        await call(moi)
        assert emulator.stats.logins == 1
    finally:
        await moi.aclose()


@pytest.mark.slow
async def test_refresh_happens_before_expiry_during_a_seven_second_run() -> None:
    async with Emulator(access_token_ttl=2) as emu, client(emu) as moi:
        deadline = time.monotonic() + 7
        calls = 0

        async def worker() -> None:
            nonlocal calls
            while time.monotonic() < deadline:
                await call(moi)
                calls += 1
                await asyncio.sleep(0.02)  # pacing the load, not synchronising

        await asyncio.gather(*(worker() for _ in range(4)))
        assert calls > 200
        # Tokens live 2-3 s (exp rounds up): a 7 s run needs about three refreshes.
        assert 2 <= emu.stats.refreshes <= 4
        assert emu.stats.logins == 1
        # Refreshed ahead of expiry: no call ever went out with an expired token.
        assert emu.stats.unauthorized == 0
        assert moi.stats.refreshes == emu.stats.refreshes


@pytest.mark.slow
async def test_a_thousand_concurrent_calls_across_an_expiry_share_one_renewal() -> None:
    # Single flight is proven on virtual time (test_auth_unit.py); this is the same over real
    # sockets. The login's token lives 2 s, every later one 15 minutes, so exactly one renewal
    # is due however slowly the machine runs (a slow run used to see a second 2 s token reach
    # its own window before the last call, and count 3 refreshes). On a loaded machine the
    # refresh may reach the service after the 2 s token expired; it is then refused and the
    # renewal is a login instead: one renewal either way.
    async with Emulator(access_token_ttl=2) as emu, client(emu) as moi:
        emu.config.access_token_ttl = 900

        def renewals() -> int:
            return moi.stats.refreshes + moi.stats.logins - 1

        done = 0

        async def worker() -> None:
            nonlocal done
            while renewals() == 0:
                await call(moi)
            await call(moi)  # and one call with the renewed token
            done += 1

        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(1000))), 60)
        assert done == 1000
        assert emu.stats.refreshes + emu.stats.logins == 2
        assert renewals() == 1


async def test_a_thousand_concurrent_first_calls_log_in_once(emulator: Emulator) -> None:
    moi = client(emulator)
    try:
        await asyncio.gather(*(call(moi) for _ in range(1000)))
    finally:
        await moi.aclose()
    assert emulator.stats.logins == 1


async def test_a_401_refreshes_and_replays(emulator: Emulator) -> None:
    async with client(emulator) as moi:
        emulator.revoke_access_tokens()
        await call(moi)
        assert emulator.stats.unauthorized == 1
        assert emulator.stats.refreshes == 1
        assert emulator.stats.logins == 1
        assert moi.stats.replays == 1


async def test_a_burst_of_401s_renews_once(emulator: Emulator) -> None:
    async with client(emulator) as moi:
        emulator.revoke_access_tokens()
        await asyncio.gather(*(call(moi) for _ in range(200)))
        assert emulator.stats.refreshes == 1
        assert emulator.stats.logins == 1


async def test_rejected_refresh_falls_back_to_login(emulator: Emulator) -> None:
    async with client(emulator) as moi:
        emulator.revoke_access_tokens()
        emulator.revoke_refresh_tokens()
        await call(moi)
        assert emulator.stats.failed_refreshes == 1
        assert emulator.stats.logins == 2


@pytest.mark.slow
async def test_an_expiring_refresh_token_means_a_fresh_login() -> None:
    # The refresh token outlives two access tokens at most; the client reads its exp and logs
    # in again instead of presenting an expired refresh token.
    async with Emulator(access_token_ttl=1, refresh_token_ttl=3) as emu, client(emu) as moi:
        deadline = time.monotonic() + 15
        while emu.stats.logins < 2 and time.monotonic() < deadline:
            await call(moi)
            await asyncio.sleep(0.05)
        assert emu.stats.logins >= 2
        assert emu.stats.failed_refreshes == 0
        assert emu.stats.unauthorized == 0


async def test_wrong_password_raises_after_exactly_one_login_attempt(emulator: Emulator) -> None:
    creds: MOICredentials = {**emulator.moi_credentials, "password": "not-the-password"}
    with pytest.raises(AuthenticationError) as info:
        async with MOIClient(emulator.url, **creds):
            pass
    assert emulator.stats.failed_logins == 1
    assert info.value.status == 401
    assert "not-the-password" not in str(info.value)


async def test_concurrent_calls_with_a_wrong_password_do_not_storm_the_login(
    emulator: Emulator,
) -> None:
    wrong: MOICredentials = {**emulator.moi_credentials, "password": "wrong"}
    moi = MOIClient(emulator.url, **wrong)
    try:
        results = await asyncio.gather(*(call(moi) for _ in range(50)), return_exceptions=True)
        # ...and calls made right after are refused from memory, not by another login.
        late = await asyncio.gather(*(call(moi) for _ in range(50)), return_exceptions=True)
    finally:
        await moi.aclose()
    assert all(isinstance(r, AuthenticationError) for r in results + late)
    assert emulator.stats.failed_logins == 1


async def test_no_secret_in_repr_logs_or_errors(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncsdk")
    texts: list[str] = []
    secrets: list[str] = [emulator.config.password]
    async with client(emulator) as moi:
        await call(moi)
        auth = moi._session.auth
        grant = auth._held.grant  # type: ignore[attr-defined]
        secrets += [grant.headers["Access-Token"], grant.state[1]]
        emulator.revoke_access_tokens()
        await call(moi)  # 401, refresh, replay: logs at DEBUG
        grant = auth._held.grant  # type: ignore[attr-defined]
        secrets.append(grant.headers["Access-Token"])
        texts += [repr(moi), repr(auth), repr(grant), str(moi.stats)]
    canary: MOICredentials = {**emulator.moi_credentials, "password": "pw-canary"}
    try:
        async with MOIClient(emulator.url, **canary):
            pass
    except AuthenticationError as exc:
        texts += [str(exc), repr(exc)]
    secrets.append("pw-canary")
    texts += [record.getMessage() for record in caplog.records]
    assert any("401" in text for text in texts)  # the logs did capture the replay
    for secret in secrets:
        assert secret
        for text in texts:
            assert secret not in text


async def test_closing_leaves_no_task_behind(emulator: Emulator) -> None:
    async with client(emulator) as moi:
        await call(moi)
        names = {task.get_name() for task in asyncio.all_tasks()}
        assert "asyncsdk-refresher" in names
    names = {task.get_name() for task in asyncio.all_tasks()}
    assert not {name for name in names if name.startswith("asyncsdk")}


async def test_a_closed_client_refuses_calls(emulator: Emulator) -> None:
    async with client(emulator) as moi:
        pass
    with pytest.raises(ClientClosedError, match="closed"):
        await call(moi)


def test_from_env_reads_settings_and_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASYNCSDK_MOI_BASE_URL", "http://moi.example")
    monkeypatch.setenv("ASYNCSDK_MOI_ACCOUNT_NAME", "acct")
    monkeypatch.setenv("ASYNCSDK_MOI_USERNAME", "admin")
    monkeypatch.delenv("ASYNCSDK_MOI_PASSWORD", raising=False)
    monkeypatch.delenv("ASYNCSDK_MOI_API_KEY", raising=False)
    with pytest.raises(InvalidInputError, match="ASYNCSDK_MOI_PASSWORD"):
        MOIClient.from_env()
    monkeypatch.setenv("ASYNCSDK_MOI_PASSWORD", "secret-pw")
    moi = MOIClient.from_env(timeout=5)
    assert "acct" in repr(moi)
    assert "secret-pw" not in repr(moi)
    assert MOIClient.from_env(username="other")._username == "other"


def test_missing_credentials_are_rejected_before_anything_is_sent() -> None:
    with pytest.raises(InvalidInputError, match="password"):
        MOIClient("http://moi.example", account_name="a", username="u", password="")
    with pytest.raises(ValueError, match="base_url"):
        MOIClient("moi.example", account_name="a", username="u", password="p")
