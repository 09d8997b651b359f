"""The exception tree. Every error the SDK raises is an :class:`AsyncSDKError`.

Each error says what was called (method and path, never the query string or a body, which may
carry user data), the HTTP status, the service's own code and message, and the request id the
service gave, so a support ticket can be written from ``str(error)`` alone. No error text ever
contains a credential: the pipeline never puts headers or request bodies into messages.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncSDKError",
    "AuthenticationError",
    "BadRequestError",
    "CallCancelledError",
    "ClientClosedError",
    "ConflictError",
    "DataSourceSyncError",
    "DecodeError",
    "InvalidInputError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ServerError",
    "TransportError",
    "WaitTimeoutError",
    "WrongEventLoopError",
    "error_class_for_status",
]


class AsyncSDKError(Exception):
    """Base of every error raised by asyncsdk.

    ``resume_token`` is set when the error interrupted a listing: pass it as ``resume_from=`` to
    the same list call to continue where the listing stopped.
    """

    method: str | None
    path: str | None
    request_id: str | None
    resume_token: str | None
    #: How many HTTP attempts the call made, and over how many seconds (set by the pipeline).
    attempts: int | None
    elapsed: float | None

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.request_id = request_id
        self.resume_token = None
        self.attempts = None
        self.elapsed = None

    def _describe(self) -> str:
        """What the error is about, without the call prefix."""
        return self.message

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method and self.path else ""
        text = where + self._describe()
        attempts = getattr(self, "attempts", None)  # absent on errors unpickled from 0.1
        if attempts is not None and attempts > 1:
            text += f" (after {attempts} attempts over {self.elapsed or 0.0:.1f} s)"
        if self.request_id:
            text += f" (request id {self.request_id})"
        if self.resume_token:
            text += " [listing can resume: error.resume_token]"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors break the default Exception pickling; rebuild from __dict__
        # so errors survive multiprocessing and logging handlers that pickle records.
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[AsyncSDKError], state: dict[str, Any]) -> AsyncSDKError:
    error = cls.__new__(cls)
    Exception.__init__(error, state.get("message", ""))
    error.__dict__.update(state)
    return error


class InvalidInputError(AsyncSDKError, ValueError):
    """The caller's arguments were rejected before anything was sent.

    It is a :class:`ValueError` too, so ``except ValueError`` works as with any Python API.
    """


class APIError(AsyncSDKError):
    """The service answered, and the answer is an error.

    ``status`` is the HTTP status; ``code`` and ``message`` are the service's own (a MOI code
    such as ``"ErrInternal"``, a MAXIR integer such as ``300003``); a service may report an error
    with HTTP 200 and only a code, which is why both are kept.
    """

    status: int
    code: str | int | None

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | int | None = None,
        method: str | None = None,
        path: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path, request_id=request_id)
        self.status = status
        self.code = code

    def _describe(self) -> str:
        code = f", code {self.code}" if self.code not in (None, "") else ""
        return f"HTTP {self.status}{code}: {self.message}"


class BadRequestError(APIError):
    """The service rejected the request's parameters (HTTP 400 or 422, or a validation code)."""


class AuthenticationError(APIError):
    """Credentials were rejected: login failed, or a token could not be renewed."""


class PermissionDeniedError(APIError):
    """The credentials are valid but not allowed to do this (HTTP 403 or a permission code)."""


class NotFoundError(APIError):
    """The resource does not exist (HTTP 404 or a not-found code)."""


class ConflictError(APIError):
    """The request conflicts with the current state, e.g. a duplicate name (HTTP 409)."""


class RateLimitError(APIError):
    """The service asked us to slow down (HTTP 429).

    ``retry_after`` is the delay the service asked for, in seconds, when it gave one. The SDK
    retries 429s itself; this error reaches you when retries ran out or when the service asked
    for a longer wait than the retry policy's ``max_retry_after`` (the SDK never silently shortens
    a requested wait).
    """

    retry_after: float | None

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | int | None = None,
        method: str | None = None,
        path: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, status=status, code=code, method=method, path=path, request_id=request_id
        )
        self.retry_after = retry_after

    def _describe(self) -> str:
        text = super()._describe()
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g} s)"
        return text


class ServerError(APIError):
    """The service failed (HTTP 5xx or an internal-error code).

    ``retry_after`` is the wait a 503's ``Retry-After`` asked for, when it gave one; the SDK
    honours it as it does a 429's.
    """

    retry_after: float | None = None

    def _describe(self) -> str:
        text = super()._describe()
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g} s)"
        return text


class TransportError(AsyncSDKError):
    """No usable HTTP answer: the connection failed or the call timed out.

    ``request_sent`` tells whether the request may have reached the service. When it is true for
    a call that is not safe to repeat (a create), the SDK does not retry it: check whether the
    call took effect (list, or ``get``) before repeating it yourself.
    """

    request_sent: bool

    def __init__(
        self,
        message: str,
        *,
        request_sent: bool,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path)
        self.request_sent = request_sent


class APIConnectionError(TransportError):
    """The connection could not be made, or broke before a whole answer arrived."""


class APITimeoutError(TransportError):
    """The service did not answer within the timeout."""


class DecodeError(AsyncSDKError):
    """The service answered with a body that is not the documented shape."""

    status: int | None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        path: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path, request_id=request_id)
        self.status = status


class ResponseTooLargeError(DecodeError):
    """An answer was larger than the client's ``max_response_bytes``; reading stopped there.

    A :class:`DecodeError`: the service did answer, but with nothing the SDK will hold in memory.
    It is not retried (the same request would bring the same answer). Raise the client's limit,
    or use a streamed call (downloads) for large bodies.
    """


class ClientClosedError(AsyncSDKError):
    """The client was closed: by ``aclose()`` (or leaving ``async with``) before or while this
    call ran. Create a new client."""


class WrongEventLoopError(AsyncSDKError, RuntimeError):
    """The client was used from another event loop than the one it was first used in.

    A client's connections belong to one loop; create one client per loop (per thread).
    """


class CallCancelledError(AsyncSDKError):
    """A call ended in a cancellation that its caller did not ask for.

    ``fan_out`` reports it as that item's outcome when the called function raised
    ``CancelledError`` although fan_out was not cancelling it (the call's own work was torn
    down, e.g. by code that cancelled a task the call was waiting on). The original
    ``CancelledError`` is the ``__cause__``.
    """


class PaginationError(AsyncSDKError):
    """A listing's paging metadata cannot be followed safely: a cursor that repeats or is not
    a string, a page that does not advance, an empty page before the total is reached, or a
    ``total`` / ``has_more`` of the wrong type.

    Following such a listing would loop, repeat items or stop short without a word, so it is
    stopped instead. ``resume_token`` is set to continue after the last good page (once the
    service is fixed, or to retry a transient glitch).
    """


class ShardSupersededError(AsyncSDKError):
    """A shard's checkpoint was taken over by a newer attempt (its worker was given up for lost
    and the shard given to another): this attempt stops rather than work beside the new one."""


_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
    429: RateLimitError,
}


def error_class_for_status(status: int) -> type[APIError]:
    """The error class an HTTP status maps to when the service's code says nothing more."""
    if status in _STATUS_ERRORS:
        return _STATUS_ERRORS[status]
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        return BadRequestError
    return APIError


# -- waiting (resources' ``wait``) ----------------------------------------------------------


class WaitTimeoutError(AsyncSDKError, TimeoutError):
    """A wait ran out of time (its ``max_wait``) before the resource reached the state waited
    for. ``last`` holds the last state seen, so the caller can report or decide what to do."""

    def __init__(self, message: str, *, last: object = None) -> None:
        super().__init__(message)
        self.last = last


class DataSourceSyncError(AsyncSDKError):
    """A data source ended ``invalid``: the service could not process its file.

    ``datasource`` is the data source as last seen. Upload the file again (after fixing it).
    """

    def __init__(self, message: str, *, datasource: object) -> None:
        super().__init__(message)
        self.datasource = datasource
