"""MOI's response envelope, and its token protocol (login, refresh).

Envelope (docs/wire/moi.md#envelope): ``{"code": "OK", "msg": "OK", "data": ...}`` from the
Go service, ``"ok"`` in lower case from BYOA, compared case-insensitively; ``data`` may be
absent. Any other code is an error even with HTTP 200. A 2xx JSON body with no ``code`` is the
data itself (BYOA's un-enveloped answers, docs/wire/moi.md#d12). FastAPI's 422
``{"detail": [...]}`` is a validation error, whatever shape its items have. The request id
comes from the body's ``request_id`` or the ``X-Request-Id`` header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._core.auth import Grant, claim_seconds, jwt_claims
from .._core.convert import loads
from .._core.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DecodeError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    error_class_for_status,
)
from .._core.session import Response, api_error

if TYPE_CHECKING:
    from .._core.session import Session
    from .paths import MOIPaths

# Codes seen in the docs (ErrInternal) and the emulator's flagged set (docs/wire/moi.md#d22).
_CODE_ERRORS: dict[str, type[APIError]] = {
    "ERRUNAUTHORIZED": AuthenticationError,
    "ERRFORBIDDEN": PermissionDeniedError,
    "ERRNOTFOUND": NotFoundError,
    "ERRINVALIDPARAM": BadRequestError,
    "ERRCONFLICT": ConflictError,
    "ERRINTERNAL": ServerError,
}


class MOIEnvelope:
    def request_id(self, response: Response) -> str | None:
        return response.headers.get("X-Request-Id")

    def unwrap(self, response: Response) -> Any:
        status = response.status
        ok = 200 <= status < 300
        body = response.body
        if not body or body.isspace():  # (what strip() would empty, without copying the body)
            if ok:
                return None
            raise self._error(response, None, None, "empty error body")
        try:
            doc = loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
            if ok:
                raise DecodeError(
                    "response body is not JSON",
                    status=status,
                    method=response.method,
                    path=response.path,
                    request_id=self.request_id(response),
                ) from None
            # A proxy's HTML error page: the status says everything we can know.
            raise self._error(response, None, None, "non-JSON error body") from None
        if not isinstance(doc, dict):
            if ok:
                return doc
            raise self._error(response, None, None, _excerpt(doc))
        code = doc.get("code")
        if ok and (
            code == "OK" or code is None or (isinstance(code, str) and code.upper() == "OK")
        ):
            return doc.get("data") if code is not None else doc
        message = _text(doc.get("msg")) or _text(doc.get("message")) or _detail(doc.get("detail"))
        raise self._error(response, code, doc.get("request_id"), message or "request failed")

    def _error(self, response: Response, code: Any, body_request_id: Any, message: str) -> APIError:
        status = response.status
        if 200 <= status < 300 and isinstance(code, str):
            cls = _CODE_ERRORS.get(code.upper(), APIError)
        else:
            cls = error_class_for_status(status)
        request_id = body_request_id if isinstance(body_request_id, str) else None
        if isinstance(code, bool) or not isinstance(code, (str, int)):
            code = None if code is None else _excerpt(code)
        elif isinstance(code, str):
            code = _excerpt(code)
        return api_error(
            response,
            cls,
            message,
            code=code,
            request_id=request_id or self.request_id(response),
        )


def _text(value: Any) -> str | None:
    """A message field as text: a string as sent, any other JSON value as a short excerpt."""
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else _excerpt(value)


def _detail(detail: Any) -> str | None:
    """FastAPI's validation detail, as one line.

    The documented shape is ``[{"loc": [...], "msg": "...", "type": "..."}]``; anything else a
    server sends (a ``loc`` that is a number or a string, items that are not objects) is shown
    as it came rather than trusted to have that shape.
    """
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail[:3]:
            if not isinstance(item, dict):
                continue
            loc = item.get("loc")
            where = loc if isinstance(loc, list) else ([] if loc is None else [loc])
            path = ".".join(_excerpt(p) for p in where if p != "body")
            msg = _text(item.get("msg")) or ""
            parts.append(f"{path}: {msg}" if path else msg)
        return "; ".join(p for p in parts if p) or None
    return _text(detail)


def _excerpt(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


class MOITokenProvider:
    """MOI's login and refresh (docs/wire/moi.md#auth): tokens travel in response headers."""

    def __init__(self, account_name: str, username: str, password: str, paths: MOIPaths):
        self._account_name = account_name
        self._username = username
        self._password = password
        self._paths = paths
        self.session: Session | None = None

    def __repr__(self) -> str:
        return f"MOITokenProvider(account_name={self._account_name!r}, username={self._username!r})"

    def _session(self) -> Session:
        if self.session is None:
            raise RuntimeError("token provider used before its session was attached")
        return self.session

    async def login(self) -> Grant:
        response, data = await self._session().request_raw(
            "POST",
            self._paths.login,
            json={
                "account_name": self._account_name,
                "username": self._username,
                "password": self._password,
            },
            idempotent=True,  # a repeated login only opens another session
            authenticate=False,
        )
        access = response.headers.get("Access-Token")
        if not access:
            raise DecodeError(
                "login succeeded but the answer has no Access-Token header",
                status=response.status,
                method=response.method,
                path=response.path,
            )
        claims = jwt_claims(access)
        uid = data.get("uid") if isinstance(data, dict) else None
        uid = uid or claims.get("uid")
        if not isinstance(uid, str) or not uid:
            raise DecodeError(
                "login answer carries no uid",
                status=response.status,
                method=response.method,
                path=response.path,
            )
        return self._grant(access, response.headers.get("Refresh-Token"), uid, claims)

    async def refresh(self, grant: Grant) -> Grant:
        access, refresh_token, uid = grant.state
        if not refresh_token:
            raise AuthenticationError(
                "no refresh token was issued", status=401, path=self._paths.refresh
            )
        response, _ = await self._session().request_raw(
            "POST",
            self._paths.refresh,
            json={"type": "user"},
            headers={"Access-Token": access, "Refresh-Token": refresh_token, "uid": uid},
            idempotent=True,
            authenticate=False,
        )
        new_access = response.headers.get("Access-Token")
        if not new_access:
            raise DecodeError(
                "refresh answer has no Access-Token header",
                status=response.status,
                method=response.method,
                path=response.path,
            )
        # The refresh token is not rotated (docs/wire/moi.md#d15): keep ours unless another came.
        new_refresh = response.headers.get("Refresh-Token") or refresh_token
        return self._grant(new_access, new_refresh, uid, jwt_claims(new_access))

    def _grant(
        self, access: str, refresh_token: str | None, uid: str, claims: dict[str, Any]
    ) -> Grant:
        refresh_claims = jwt_claims(refresh_token) if refresh_token else {}
        return Grant(
            # user-id is the account id, never the per-login uid (docs/wire/moi.md#d27).
            {"Access-Token": access, "uid": uid, "user-id": self._account_name},
            expires_at=claim_seconds(claims.get("exp")),
            issued_at=claim_seconds(claims.get("iat")),
            refresh_expires_at=claim_seconds(refresh_claims.get("exp")),
            state=(access, refresh_token, uid),
        )
