"""The emulator as a wire peer: tokens, expiry, envelopes, counters, and its command line."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from asyncsdk.emulator import Emulator, EmulatorConfig


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    padded = payload + "=" * (-len(payload) % 4)
    result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return result


async def login(http: aiohttp.ClientSession, emu: Emulator) -> tuple[str, str, str]:
    async with http.post(f"{emu.url}/auth/login", json=emu.moi_credentials) as resp:
        assert resp.status == 200
        body = await resp.json()
        return resp.headers["Access-Token"], resp.headers["Refresh-Token"], body["data"]["uid"]


async def test_login_answer_matches_the_documented_shape() -> None:
    async with Emulator(access_token_ttl=900) as emu, aiohttp.ClientSession() as http:
        async with http.post(f"{emu.url}/auth/login", json=emu.moi_credentials) as resp:
            raw = await resp.read()
            access = resp.headers["Access-Token"]
            refresh = resp.headers["Refresh-Token"]
            assert resp.headers["X-Request-Id"]
        body = json.loads(raw)
        assert list(body) == ["code", "msg", "data"]  # compact, in the service's key order
        assert b" " not in raw
        assert body["code"] == "OK"
        uid = body["data"]["uid"]
        assert uid.endswith(f"-{emu.config.account_name}:{emu.config.username}")
        assert body["data"]["login_at"].endswith("Z")
        access_claims, refresh_claims = claims(access), claims(refresh)
        assert access_claims["uid"] == uid
        assert access_claims["iss"] == "moi"
        assert access_claims["exp"] - access_claims["iat"] >= 900
        assert refresh_claims["exp"] - refresh_claims["iat"] >= 21600


async def test_expired_access_tokens_are_refused_with_401() -> None:
    async with Emulator(access_token_ttl=1) as emu, aiohttp.ClientSession() as http:
        access, _, uid = await login(http, emu)
        headers = {"Access-Token": access, "uid": uid, "user-id": emu.config.account_name}
        async with http.get(f"{emu.url}/connectors/list", headers=headers) as resp:
            assert resp.status == 200
        await asyncio.sleep(claims(access)["exp"] - time.time() + 0.05)  # wait out its life
        async with http.get(f"{emu.url}/connectors/list", headers=headers) as resp:
            assert resp.status == 401
            assert (await resp.json())["code"] == "ErrUnauthorized"
        assert emu.stats.unauthorized == 1


async def test_calls_without_the_account_id_header_are_refused(emulator: Emulator) -> None:
    async with aiohttp.ClientSession() as http:
        access, _, uid = await login(http, emulator)
        headers = {"Access-Token": access, "uid": uid, "user-id": "someone-else"}
        async with http.get(f"{emulator.url}/connectors/list", headers=headers) as resp:
            assert resp.status == 401


async def test_refresh_returns_a_new_access_token_and_the_same_refresh_token(
    emulator: Emulator,
) -> None:
    async with aiohttp.ClientSession() as http:
        access, refresh, uid = await login(http, emulator)
        headers = {"Access-Token": access, "Refresh-Token": refresh, "uid": uid}
        async with http.post(
            f"{emulator.url}/auth/refresh", json={"type": "user"}, headers=headers
        ) as resp:
            assert resp.status == 200
            assert await resp.json() == {"code": "OK", "msg": "OK"}
            assert resp.headers["Access-Token"] != access
            assert resp.headers["Refresh-Token"] == refresh
        assert emulator.stats.refreshes == 1


async def test_bad_login_counts_and_answers_401(emulator: Emulator) -> None:
    async with aiohttp.ClientSession() as http:
        bad = {**emulator.moi_credentials, "password": "nope"}
        async with http.post(f"{emulator.url}/auth/login", json=bad) as resp:
            assert resp.status == 401
            assert "Access-Token" not in resp.headers
    assert (emulator.stats.logins, emulator.stats.failed_logins) == (0, 1)


async def test_requests_are_logged_with_attempt_numbers_but_no_credentials(
    emulator: Emulator,
) -> None:
    async with aiohttp.ClientSession() as http:
        headers = {"asyncsdk-request": "attempt=3; max=5", "asyncsdk-invocation-id": "inv-1"}
        async with http.post(
            f"{emulator.url}/auth/login", json=emulator.moi_credentials, headers=headers
        ):
            pass
        # asyncsdk's first attempts carry only the call's id; another client's, neither.
        for headers in ({"X-Request-ID": "call-2"}, {}):
            async with http.get(f"{emulator.url}/task/list", headers=headers):
                pass
    record, first, anonymous = list(emulator.requests)
    assert (record.method, record.path, record.status) == ("POST", "/auth/login", 200)
    assert (record.attempt, record.invocation) == (3, "inv-1")
    assert (first.attempt, first.invocation) == (1, "call-2")
    assert (anonymous.attempt, anonymous.invocation) == (None, None)
    assert emulator.config.password not in repr(record)


async def test_python_dash_m_emulator_serves_until_stopped() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asyncsdk.emulator",
        "--port",
        "0",
        "--access-token-ttl",
        "60",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert line.startswith("asyncsdk emulator listening on http://")
        url = line.rsplit(" ", 1)[1].strip()
        creds = {
            "account_name": "0194dfaa-3eda-7ea5-b47c-b4f4f5940e97",
            "username": "admin:accountadmin",
            "password": "emulator-password",
        }
        async with aiohttp.ClientSession() as http, http.post(f"{url}/auth/login", json=creds) as r:
            assert r.status == 200
            assert claims(r.headers["Access-Token"])["exp"] - time.time() <= 61
    finally:
        proc.terminate()
        await proc.wait()


async def test_the_command_line_serves_a_generation_and_prints_the_api_key() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "asyncsdk.emulator",
        "--port",
        "0",
        "--api",
        "current",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("export ASYNCSDK_MAXIR_USER_ID="):
            lines.append((await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip())
        url = lines[0].rsplit(" ", 1)[1]
        assert "# MOI API: current" in lines
        exports = dict(line.removeprefix("export ").split("=", 1) for line in lines[3:])
        key = exports["ASYNCSDK_MOI_API_KEY"]
        assert key == EmulatorConfig().moi_api_key
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{url}/byoa/api/v1/workflow_job", headers={"moi-key": key}) as r,
        ):
            assert r.status == 200 and (await r.json())["code"] == "ok"
    finally:
        proc.terminate()
        await proc.wait()


def test_an_unknown_generation_is_refused() -> None:
    with pytest.raises(ValueError, match="api must be one of seed, current"):
        Emulator(api="2024")


def test_emulator_refuses_mixed_configuration() -> None:
    from asyncsdk.emulator import EmulatorConfig

    with pytest.raises(TypeError):
        Emulator(EmulatorConfig(), seed=1)


async def test_a_handler_runs_alone_on_a_state_of_its_own() -> None:
    from aiohttp.test_utils import make_mocked_request

    from asyncsdk.emulator import build_app, moi_tasks
    from asyncsdk.emulator._state import EmulatorState

    state = EmulatorState(EmulatorConfig(api="current", tasks=1))
    build_app(state)  # makes the stores; nothing listens
    assert state.moi_tasks is not None
    [task_id] = state.moi_tasks.tasks
    request = make_mocked_request("GET", f"/task/get?task_id={task_id}")
    response = await moi_tasks.get(state, request)
    assert isinstance(response, web.Response) and response.text is not None
    data = json.loads(response.text)["data"]
    assert data["id"] == task_id and isinstance(data["status"], str)
