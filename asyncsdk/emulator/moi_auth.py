"""MOI authentication: login and refresh, API keys, and the check every other MOI route passes.

A caller authenticates either with an API key in the ``moi-key`` header (what today's service
issues and the vendor's own clients send, nothing else: matrixorigin/moi-go-sdk ``client.go``
at b28c3bb, matrixorigin/moi-python-sdk ``moi/client.py`` at 37a7381) or with the login
flow's headers (``Access-Token``, ``uid``, ``user-id``). Bad credentials and expired or
revoked tokens answer HTTP 401 ``{"code": "ErrUnauthorized", ...}``.
"""

from __future__ import annotations

import functools
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from aiohttp import web

from ._http import MOIError, Params, invalid, moi_ok
from ._routes import Route, add_routes
from ._state import EmulatorState

#: How the request being answered authenticated (``"api_key"`` or ``"token"``), for the log.
AUTH_KIND: ContextVar[str | None] = ContextVar("emulator_auth_kind", default=None)
API_KEY_HEADER = "moi-key"


def _unauthorized(msg: str) -> MOIError:
    return MOIError(401, "ErrUnauthorized", msg)


def _login_at() -> str:
    now = datetime.now(UTC)
    # RFC 3339 with nanoseconds, as the real service writes login_at.
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}000Z"


def issue(state: EmulatorState, uid: str) -> tuple[str, str]:
    config = state.config
    claims = {
        "uid": uid,
        "name": f"{config.account_name}:{config.username}",
        "email": "",
        "login_method": "",
    }
    access = state.tokens.issue("access", config.access_token_ttl, claims)
    refresh = state.tokens.issue("refresh", config.refresh_token_ttl, claims)
    return access, refresh


async def login(state: EmulatorState, request: web.Request) -> web.Response:
    config = state.config
    params = await Params.read(request, known=("account_name", "username", "password"))
    for name in ("account_name", "username", "password"):
        if not params.get_str(name):
            raise invalid(f"{name} is required")
    if (
        params.get_str("account_name") != config.account_name
        or params.get_str("username") != config.username
        or params.get_str("password") != config.password
    ):
        state.stats.failed_logins += 1
        raise _unauthorized("invalid account, username or password")
    uid = f"{uuid.uuid4()}-{config.account_name}:{config.username}"
    state.moi_sessions[uid] = config.account_name
    access, refresh = issue(state, uid)
    state.stats.logins += 1
    return moi_ok(
        {"uid": uid, "login_at": _login_at()},
        headers={"Access-Token": access, "Refresh-Token": refresh},
    )


async def refresh(state: EmulatorState, request: web.Request) -> web.Response:
    config = state.config
    await Params.read(request, known=("type",))  # the seed's body: {"type": "user"}
    # A revoked (but unexpired) access token may still be refreshed: revocation models the
    # service dropping sessions, after which clients are expected to refresh and replay.
    access_check = state.tokens.check(
        request.headers.get("Access-Token"), "access", allow_revoked=True
    )
    refresh_token = request.headers.get("Refresh-Token")
    refresh_check = state.tokens.check(refresh_token, "refresh")
    uid = request.headers.get("uid")
    reason = access_check.reason or refresh_check.reason
    if not reason and (
        uid not in state.moi_sessions or (access_check.claims or {}).get("uid") != uid
    ):
        reason = "uid does not match the tokens"
    if reason:
        state.stats.failed_refreshes += 1
        raise _unauthorized(f"cannot refresh: {reason}")
    access = state.tokens.issue("access", config.access_token_ttl, {**(access_check.claims or {})})
    state.stats.refreshes += 1
    # The refresh token is returned unchanged: it is not rotated, its lifetime not extended.
    return moi_ok(headers={"Access-Token": access, "Refresh-Token": refresh_token or ""})


def check(state: EmulatorState, request: web.Request) -> None:
    """Raise 401 unless the request carries a valid API key, or a valid token, its uid, and
    the account id."""
    key = request.headers.get(API_KEY_HEADER)
    if key is not None:
        if key != state.config.moi_api_key:
            state.stats.unauthorized += 1
            raise _unauthorized("invalid API key")
        AUTH_KIND.set("api_key")
        return
    result = state.tokens.check(request.headers.get("Access-Token"), "access")
    reason = result.reason
    if not reason:
        uid = request.headers.get("uid")
        if uid is None or (result.claims or {}).get("uid") != uid:
            reason = "uid header does not match the access token"
        elif request.headers.get("user-id") != state.moi_sessions.get(uid):
            reason = "user-id header must be the account id"
    if reason:
        state.stats.unauthorized += 1
        raise _unauthorized(reason)
    AUTH_KIND.set("token")


ROUTES = (Route("POST", "/auth/login", login), Route("POST", "/auth/refresh", refresh))


def setup(app: web.Application, state: EmulatorState) -> None:
    """Serve :data:`ROUTES` and install :func:`check` as the token check of other routes."""
    state.moi_auth_check = functools.partial(check, state)
    add_routes(app, state, ROUTES)
