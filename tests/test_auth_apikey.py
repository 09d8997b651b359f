"""MOI's API-key mode over real sockets: ``moi-key`` on every call, nothing else, ever."""

from __future__ import annotations

import asyncio
import io
import logging

import pytest

from asyncsdk import AuthenticationError, InvalidInputError, MOIClient, cli
from asyncsdk.emulator import Emulator

from ._canary import CANARY_API_KEY, CANARY_PASSWORD, register_secret
from ._scripted_auth import ScriptedMOI, refused

KEY = CANARY_API_KEY  # the suite's canary fails the run if it ever shows up in text


def key_only(server: ScriptedMOI) -> None:
    """Every request carried the key and none of the login-mode headers."""
    for seen in server.seen:
        headers = {k.lower(): v for k, v in seen.headers.items()}
        assert headers["moi-key"] == KEY
        assert not {"access-token", "refresh-token", "uid", "user-id"} & headers.keys()


async def test_every_call_carries_the_key_and_nothing_logs_in() -> None:
    async with ScriptedMOI() as server:
        async with MOIClient(server.url, api_key=KEY) as moi:
            assert server.seen == []  # entering sends nothing: there is no login
            for _ in range(3):
                assert await moi.connectors.list().collect() == []
            names = {task.get_name() for task in asyncio.all_tasks()}
            assert not {n for n in names if n.startswith("asyncsdk")}  # no refresher
        assert [s.path for s in server.seen] == ["/connectors/list"] * 3
        key_only(server)
        assert (moi.stats.logins, moi.stats.refreshes) == (0, 0)


async def test_a_rejected_key_raises_at_once_without_renewal_or_replay(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncsdk")
    async with ScriptedMOI(call=lambda request: refused("invalid moi-key")) as server:
        async with MOIClient(server.url, api_key=KEY) as moi:
            with pytest.raises(AuthenticationError) as info:
                await moi.connectors.list().collect()
        # One request: no login, no refresh, no replay (and none counted).
        assert [s.path for s in server.seen] == ["/connectors/list"]
        assert moi.stats.replays == 0
    texts = [str(info.value), repr(info.value), repr(moi), repr(moi._session.auth)]
    texts += [record.getMessage() for record in caplog.records]
    assert info.value.status == 401
    assert not [text for text in texts if KEY in text]


async def test_the_cli_works_with_the_key_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with ScriptedMOI() as server:
        monkeypatch.setenv("ASYNCSDK_MOI_BASE_URL", server.url)
        monkeypatch.setenv("ASYNCSDK_MOI_API_KEY", KEY)
        # Password settings left over in the environment lose to the key.
        monkeypatch.setenv("ASYNCSDK_MOI_ACCOUNT_NAME", "acct")
        monkeypatch.setenv("ASYNCSDK_MOI_USERNAME", "admin")
        monkeypatch.setenv("ASYNCSDK_MOI_PASSWORD", CANARY_PASSWORD)
        out, err = io.StringIO(), io.StringIO()
        code = await cli.run(["moi", "connectors", "ls"], stdout=out, stderr=err)
        assert (code, err.getvalue()) == (0, "")
        assert [s.path for s in server.seen] == ["/connectors/list"]
        key_only(server)

        server.call = lambda request: refused("invalid moi-key")
        out, err = io.StringIO(), io.StringIO()
        code = await cli.run(["moi", "connectors", "ls"], stdout=out, stderr=err)
        assert code == 1
        assert err.getvalue().startswith("asyncsdk: error: ")
        assert err.getvalue().count("\n") == 1
        assert KEY not in err.getvalue() + out.getvalue()


def test_from_env_prefers_the_key_and_explicit_arguments_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASYNCSDK_MOI_BASE_URL", "http://moi.example")
    monkeypatch.setenv("ASYNCSDK_MOI_ACCOUNT_NAME", "acct")
    monkeypatch.setenv("ASYNCSDK_MOI_USERNAME", "admin")
    monkeypatch.setenv("ASYNCSDK_MOI_PASSWORD", CANARY_PASSWORD)
    monkeypatch.setenv("ASYNCSDK_MOI_API_KEY", KEY)
    moi = MOIClient.from_env()
    assert type(moi._session.auth).__name__ == "ApiKeyAuth"
    assert KEY not in repr(moi) and KEY not in repr(moi._session.auth)
    assert "acct" in repr(moi)  # kept as the metrics' default account
    # An explicit password means the caller wants to log in.
    moi = MOIClient.from_env(password="other-pw")
    assert type(moi._session.auth).__name__ == "TokenAuth"
    monkeypatch.delenv("ASYNCSDK_MOI_API_KEY")
    assert type(MOIClient.from_env()._session.auth).__name__ == "TokenAuth"
    assert type(MOIClient.from_env(api_key=KEY)._session.auth).__name__ == "ApiKeyAuth"
    for name in ("ASYNCSDK_MOI_ACCOUNT_NAME", "ASYNCSDK_MOI_USERNAME", "ASYNCSDK_MOI_PASSWORD"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("ASYNCSDK_MOI_API_KEY", KEY)
    assert MOIClient.from_env()._account_name is None


def test_a_key_with_a_password_and_bad_keys_are_refused_without_echoing_them() -> None:
    url = "http://moi.example"
    with pytest.raises(InvalidInputError, match="either api_key or") as info:
        MOIClient(url, api_key=KEY, password=CANARY_PASSWORD)
    assert KEY not in str(info.value) and CANARY_PASSWORD not in str(info.value)
    with pytest.raises(InvalidInputError, match="either api_key or"):
        MOIClient(url, api_key=KEY, account_name="a", username="u", password=CANARY_PASSWORD)
    with pytest.raises(InvalidInputError, match="api_key must be a non-empty string"):
        MOIClient(url, api_key="")
    with pytest.raises(InvalidInputError, match="api_key must be a non-empty string"):
        MOIClient(url, api_key=42)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="printable ASCII") as info:
        MOIClient(url, api_key=KEY + "\r\nX-Injected: 1")
    assert KEY not in str(info.value)
    with pytest.raises(InvalidInputError, match="credentials are required"):
        MOIClient(url)


async def test_metrics_need_an_account_when_the_client_has_none() -> None:
    from datetime import UTC, datetime, timedelta

    async with ScriptedMOI() as server, MOIClient(server.url, api_key=KEY) as moi:
        end = datetime.now(UTC)
        with pytest.raises(InvalidInputError, match="account is required"):
            await moi.metrics.query("file_count", end - timedelta(hours=1), end, 60)
        assert server.seen == []


@pytest.mark.skipif(
    not hasattr(Emulator, "api_key"), reason="this emulator does not accept moi-key yet"
)
@pytest.mark.parametrize("api", ["seed", "current"])
async def test_the_key_against_the_emulator_one_request_per_call_and_no_login(api: str) -> None:
    async with Emulator(api=api) as emu:  # type: ignore[arg-type,unused-ignore]
        register_secret(emu.api_key)  # type: ignore[attr-defined,unused-ignore]
        async with MOIClient(emu.url, api_key=emu.api_key, paths=api) as moi:  # type: ignore[arg-type,attr-defined,unused-ignore]
            before = len(emu.requests)
            await moi.connectors.list(page_size=1).first()
            await moi.tasks.list(page_size=1).first()
            made = list(emu.requests)[before:]
        assert len(made) == 2  # one request per call
        assert all(r.auth == "api_key" for r in made)  # type: ignore[attr-defined,unused-ignore]
        assert (emu.stats.logins, emu.stats.refreshes) == (0, 0)
        async with MOIClient(emu.url, api_key=KEY) as wrong:
            before = len(emu.requests)
            with pytest.raises(AuthenticationError):
                await wrong.connectors.list(page_size=1).first()
            assert len(emu.requests) - before == 1  # refused at once: no renewal, no replay
