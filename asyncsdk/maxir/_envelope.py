"""MAXIR's response envelope (docs/wire/maxir.md#envelope).

Success is ``{"code": 0, "data": ...}``; any other code is an error, *whatever the HTTP
status*: business errors arrive as HTTP 200 with a non-zero code. The message is in ``msg``
(third-party clients read ``message``: both are tried). The server's trace id comes back in the
``x-pd-trace-id`` header and becomes every error's ``request_id``.

Errors are classified by code first, then by HTTP status:

* 1002 / 1003 / 1004 (expired, missing, wrong API key; sent with HTTP 403): the key itself is
  the problem, so :class:`AuthenticationError`. 300002 ("No permissions"): the key is fine but
  may not do this, so :class:`PermissionDeniedError`. Without a code, HTTP 401 is an
  authentication error and HTTP 403 a permission error (the generic table's "key lacks
  permission").
* 300003 → :class:`NotFoundError`; 300001 / 300004 / 300005 (invalid parameters, file
  extension, empty file) → :class:`BadRequestError`; 201 → :class:`RateLimitError`;
  9999 → :class:`ServerError`.
* Any other code keeps its HTTP status's class when the status is an error (a 2100xx job error
  with HTTP 400 is a ``BadRequestError``), and is a plain :class:`APIError` on HTTP 200
  (quota, upload and presign failures: the code says what happened).
"""

from __future__ import annotations

import re
from typing import Any

from .._core.convert import loads
from .._core.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    DecodeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    error_class_for_status,
)
from .._core.session import Response, api_error

__all__ = ["TRACE_ID_HEADER", "MaxirEnvelope"]

_DECIMAL = re.compile(r"-?[0-9]{1,18}")

#: The server's trace id on every answer (the request id of every error).
TRACE_ID_HEADER = "x-pd-trace-id"

_CODE_ERRORS: dict[int, type[APIError]] = {
    1002: AuthenticationError,  # expired credentials
    1003: AuthenticationError,  # insufficient authentication (key missing)
    1004: AuthenticationError,  # bad credentials
    300001: BadRequestError,  # invalid parameters
    300002: PermissionDeniedError,  # no permissions
    300003: NotFoundError,  # <resource> not found
    300004: BadRequestError,  # invalid file extension
    300005: BadRequestError,  # empty file
    201: RateLimitError,  # rate limit reached
    9999: ServerError,  # internal server error
}


class MaxirEnvelope:
    def request_id(self, response: Response) -> str | None:
        return response.headers.get(TRACE_ID_HEADER)

    def unwrap(self, response: Response) -> Any:
        status = response.status
        ok = 200 <= status < 300
        body = response.body
        if not body or body.isspace():  # (what strip() would empty, without copying the body)
            if ok:
                return None
            raise self._error(response, None, "empty error body")
        try:
            doc = loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python recurses
            if ok:
                raise self._decode_error(response, "response body is not JSON") from None
            # A proxy's HTML error page: the status says all we can know.
            raise self._error(response, None, "non-JSON error body") from None
        if not isinstance(doc, dict) or "code" not in doc:
            if ok:
                raise self._decode_error(response, "response is not a {code, data} envelope")
            raise self._error(response, None, _excerpt(doc))
        code = _code(doc.get("code"))
        if ok and code == 0:
            # Modify and delete answer ``data: null`` or ``{}`` (docs/wire/maxir.md#m4); their
            # methods ignore it and return None.
            return doc.get("data")
        message = doc.get("msg") or doc.get("message")
        if not isinstance(message, str) or not message:
            message = "request failed" if code != 0 else f"HTTP {status} with code 0"
        raise self._error(response, code, message)

    def _error(self, response: Response, code: int | str | None, message: str) -> APIError:
        status = response.status
        cls: type[APIError] | None = _CODE_ERRORS.get(code) if isinstance(code, int) else None
        if cls is None:
            cls = error_class_for_status(status) if status >= 300 else APIError
        return api_error(response, cls, message, code=code, request_id=self.request_id(response))

    def _decode_error(self, response: Response, message: str) -> DecodeError:
        return DecodeError(
            message,
            status=response.status,
            method=response.method,
            path=response.path,
            request_id=self.request_id(response),
        )


def _code(value: Any) -> int | str | None:
    """The envelope code as an int when it is one (``0``, ``"0"``), else as sent."""
    if isinstance(value, dict) and "code" in value:
        # "Get dataset overview" documents ``"code": {"code": 0}``, a doc bug, tolerated
        # (docs/wire/maxir.md#m11).
        value = value["code"]
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        # Only plain ASCII decimals are numbers: ``str.isdigit`` also accepts "²" and other
        # digits ``int()`` refuses, and a very long run would exceed ``int()``'s digit limit.
        if _DECIMAL.fullmatch(text):
            return int(text)
        return _excerpt(text) or None
    return None if value is None else _excerpt(value)


def _excerpt(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 120 else text[:117] + "..."
