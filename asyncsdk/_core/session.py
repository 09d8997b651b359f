"""The request pipeline: one ``aiohttp.ClientSession`` per client, and one path every call takes.

    wait out a shared 429 pause → ensure credentials → take a connection slot → attach the auth
    headers (at send time, not queue time) → send → decode the service envelope → typed error →
    retry (policy, idempotency, shared budget) or replay once after a 401

Service specifics enter through two seams: an :class:`~asyncsdk._core.auth.Auth` and an
:class:`Envelope` that turns an HTTP answer into data or an :class:`APIError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from enum import Enum
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import aiohttp
from attrs import define
from multidict import CIMultiDictProxy

from .auth import Auth
from .convert import dumps
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncSDKError,
    AuthenticationError,
    DecodeError,
    InvalidInputError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TransportError,
    error_class_for_status,
)
from .options import CallOptions
from .retry import RetryBudget, RetryPolicy, parse_retry_after

__all__ = ["Envelope", "Response", "Session", "SessionStats", "api_error", "encode_params"]

T = TypeVar("T")

logger = logging.getLogger("asyncsdk.http")

_USER_AGENT = "asyncsdk/0.1 (+aiohttp)"
#: Sent with every attempt so server logs can tie retries of one call together.
ATTEMPT_HEADER = "asyncsdk-request"
INVOCATION_HEADER = "asyncsdk-invocation-id"


class Response:
    """One HTTP answer, read in full."""

    __slots__ = ("body", "headers", "method", "path", "status")

    def __init__(
        self, method: str, path: str, status: int, headers: CIMultiDictProxy[str], body: bytes
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        return f"<Response {self.method} {self.path} {self.status}>"


class Envelope(Protocol):
    """A service's response convention: return the payload, or raise the error it describes."""

    def unwrap(self, response: Response) -> Any: ...

    def request_id(self, response: Response) -> str | None:
        """The id the service gave this answer (for error reports and logs)."""


def api_error(
    response: Response,
    cls: type[APIError],
    message: str,
    *,
    code: str | int | None,
    request_id: str | None,
) -> APIError:
    """Build the error an envelope found, with the call's method, path and request id."""
    if 300 <= response.status < 400:
        message = f"unexpected redirect, not followed (check base_url): {message}"
    if issubclass(cls, RateLimitError):
        return cls(
            message,
            status=response.status,
            code=code,
            method=response.method,
            path=response.path,
            request_id=request_id,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    return cls(
        message,
        status=response.status,
        code=code,
        method=response.method,
        path=response.path,
        request_id=request_id,
    )


@define
class SessionStats:
    """Counters for one client (shared by its ``with_options`` copies)."""

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    replays: int = 0
    rate_limited: int = 0


def encode_params(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Query parameters as the services expect them.

    ``None`` values are left out, booleans are ``true``/``false``, enums are their values, and
    sequences repeat the key (``status=1&status=2``, MOI's documented form).
    """
    if not params:
        return []
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            pairs.extend((key, _query_value(item)) for item in value)
        else:
            pairs.append((key, _query_value(value)))
    return pairs


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        value = value.value
    return str(value)


class _Shared:
    """State shared by a client and every ``with_options`` copy of it."""

    def __init__(
        self,
        base_url: str,
        auth: Auth,
        envelope: Envelope,
        pool_size: int,
        connect_timeout: float,
        user_agent: str,
        budget: RetryBudget,
    ) -> None:
        self.base_url = base_url
        self.auth = auth
        self.envelope = envelope
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.user_agent = user_agent
        self.budget = budget
        self.http: aiohttp.ClientSession | None = None
        self.slots: asyncio.Semaphore | None = None
        self.pause_until = 0.0
        self.started = False
        self.closed = False
        self.stats = SessionStats()
        self.timeouts: dict[float, aiohttp.ClientTimeout] = {}
        # Invocation ids: a random prefix per client and a counter, unique without paying
        # for a UUID on every call.
        self._invocation_prefix = os.urandom(6).hex()
        self._invocations = itertools.count(1)

    def next_invocation_id(self) -> str:
        return f"{self._invocation_prefix}-{next(self._invocations):x}"


def _normalise_base_url(base_url: str) -> str:
    base = str(base_url).strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InvalidInputError(f"base_url must start with http:// or https://, got {base_url!r}")
    return base


class Session:
    """Sends requests for one client. Create through a service client, not directly."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: Auth,
        envelope: Envelope,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        pool_size: int = 100,
        retry: RetryPolicy | None = None,
        budget: RetryBudget | None = None,
        user_agent: str = _USER_AGENT,
    ) -> None:
        if timeout <= 0 or connect_timeout <= 0:
            raise InvalidInputError("timeouts must be > 0 seconds")
        if pool_size < 1:
            raise InvalidInputError(f"pool_size must be >= 1, got {pool_size}")
        self._shared = _Shared(
            _normalise_base_url(base_url),
            auth,
            envelope,
            pool_size,
            connect_timeout,
            user_agent,
            budget if budget is not None else RetryBudget(),
        )
        self.timeout = timeout
        self.retry = retry if retry is not None else RetryPolicy()

    @property
    def base_url(self) -> str:
        return self._shared.base_url

    @property
    def stats(self) -> SessionStats:
        return self._shared.stats

    @property
    def auth(self) -> Auth:
        return self._shared.auth

    @property
    def closed(self) -> bool:
        return self._shared.closed

    def derive(self, *, timeout: float | None = None, retry: RetryPolicy | None = None) -> Session:
        """A view with other defaults, sharing connections, credentials and counters."""
        view = Session.__new__(Session)
        view._shared = self._shared
        view.timeout = self.timeout if timeout is None else timeout
        view.retry = self.retry if retry is None else retry
        if view.timeout <= 0:
            raise InvalidInputError("timeout must be > 0 seconds")
        return view

    # -- life cycle ---------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        shared = self._shared
        if shared.http is None:
            if shared.closed:
                raise RuntimeError("the client is closed; create a new one")
            # A few connections beyond the slots, so a login or refresh issued while every slot
            # waits on it still finds a connection.
            connector = aiohttp.TCPConnector(limit=shared.pool_size + 4, limit_per_host=0)
            shared.http = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": shared.user_agent, "Accept": "application/json"},
                auto_decompress=True,
                raise_for_status=False,
            )
            shared.slots = asyncio.Semaphore(shared.pool_size)
        return shared.http

    async def start(self) -> None:
        """Open connections, authenticate, start background refresh."""
        self._http()
        await self._shared.auth.ensure()
        self._start_auth()

    def _start_auth(self) -> None:
        if not self._shared.started:
            self._shared.started = True
            self._shared.auth.start()

    async def aclose(self) -> None:
        """Stop background work and close every connection. Safe to call twice."""
        shared = self._shared
        if shared.closed:
            return
        shared.closed = True
        await shared.auth.aclose()
        if shared.http is not None:
            await shared.http.close()
            shared.http = None

    # -- requests -----------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        headers: Mapping[str, str] | None = None,
        parse: Callable[[Any], T] | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        authenticate: bool = True,
        absent_ok_on_retry: bool = False,
        options: CallOptions | None = None,
    ) -> T:
        """Send a request and return ``parse(data)`` (or the envelope's data).

        ``idempotent`` declares whether repeating the call is harmless; non-idempotent calls are
        repeated only when the failure proves the service did not act (connection refused,
        429, 503, 401 before a replay). Anything ``parse`` raises becomes a DecodeError.

        ``form`` builds a multipart body (uploads); it is called once per attempt, because a
        form is consumed by sending it.

        ``absent_ok_on_retry`` makes deletes idempotent: when a retried attempt finds the
        resource gone (404), an earlier attempt deleted it, and the call succeeds.
        """
        response, data = await self.request_raw(
            method,
            path,
            idempotent=idempotent,
            params=params,
            json=json,
            form=form,
            headers=headers,
            timeout=timeout,
            retry=retry,
            authenticate=authenticate,
            absent_ok_on_retry=absent_ok_on_retry,
            options=options,
        )
        if parse is None:
            return data  # type: ignore[no-any-return]
        return self.decode(response, data, parse)

    def decode(self, response: Response, data: Any, parse: Callable[[Any], T]) -> T:
        """``parse(data)`` for the answer ``response``; anything it raises becomes a
        :class:`DecodeError` that names the call and its request id."""
        try:
            return parse(data)
        except AsyncSDKError as exc:
            _locate(exc, response)
            raise
        except Exception as exc:
            raise DecodeError(
                f"unexpected response shape: {type(exc).__name__}: {exc}",
                status=response.status,
                method=response.method,
                path=response.path,
                request_id=self._shared.envelope.request_id(response),
            ) from exc

    async def request_raw(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        form: Callable[[], aiohttp.FormData] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        authenticate: bool = True,
        absent_ok_on_retry: bool = False,
        options: CallOptions | None = None,
    ) -> tuple[Response, Any]:
        """Like :meth:`request`, returning the HTTP answer with the unwrapped data."""
        shared = self._shared
        if options:
            # Interim: the options value mapped onto the existing keywords (the pipeline
            # redesign consumes it whole, deadline included).
            timeout = options.get("timeout", timeout)
            retry = options.get("retry", retry)
            if "extra_query" in options:
                params = {**(params or {}), **options["extra_query"]}
            if "extra_body" in options and (json is None or isinstance(json, dict)):
                json = {**(json or {}), **options["extra_body"]}
            extra = dict(options.get("extra_headers", {}))
            if "request_id" in options:
                extra["X-Request-ID"] = options["request_id"]
            if extra:
                headers = {**(headers or {}), **extra}
        policy = retry if retry is not None else self.retry
        seconds = timeout if timeout is not None else self.timeout
        if seconds <= 0:
            raise InvalidInputError("timeout must be > 0 seconds")
        url = shared.base_url + path
        query = encode_params(params)
        body = None if json is None else dumps(json)
        send_headers: dict[str, str] = dict(headers) if headers else {}
        if body is not None:
            send_headers["Content-Type"] = "application/json"
        send_headers[INVOCATION_HEADER] = self._shared.next_invocation_id()
        shared.stats.calls += 1
        attempt = 0
        replayed = False
        waited: float | None = None
        while True:
            attempt += 1
            # Tell the service which attempt this is and how long we waited before it, so its
            # logs can tie retries together (and tests can check the waits).
            send_headers[ATTEMPT_HEADER] = f"attempt={attempt}; max={policy.max_attempts}" + (
                f"; backoff={waited:.4f}" if waited is not None else ""
            )
            pause = shared.pause_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)  # a 429 elsewhere throttles every call
            if authenticate:
                # Outside the retry handling: a failed login or refresh has been retried by
                # its own request already and is final here.
                await shared.auth.ensure()
                if not shared.started:
                    self._start_auth()
            try:
                response, identity = await self._attempt(
                    method,
                    path,
                    url,
                    query,
                    form() if form is not None else body,
                    send_headers,
                    seconds,
                    authenticate,
                )
                data = shared.envelope.unwrap(response)
            except AuthenticationError as exc:
                _locate(exc, None, method, path)
                if authenticate and not replayed and exc.status == 401:
                    # The token was rejected (expired early, revoked): renew once and replay.
                    # Safe even for creates: a 401 means the service did not act.
                    replayed = True
                    shared.stats.replays += 1
                    if await shared.auth.unauthorized(identity):
                        attempt -= 1
                        continue
                raise
            except (APIError, TransportError) as exc:
                if absent_ok_on_retry and attempt > 1 and isinstance(exc, NotFoundError):
                    return response, None
                delay = self._retry_delay(exc, attempt, policy, idempotent)
                if delay is None:
                    raise
                shared.stats.retries += 1
                logger.debug(
                    "%s %s: %s; retry %d in %.3f s", method, path, _brief(exc), attempt, delay
                )
                await asyncio.sleep(delay)
                waited = delay
                continue
            except DecodeError as exc:
                _locate(exc, None, method, path)
                raise
            shared.budget.refund()
            return response, data

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        target: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        authenticate: bool = True,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
        options: CallOptions | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Open a streamed answer (downloads): the body is read by the caller, in chunks.

        ``target`` is an API path, or an absolute URL (a presigned link). Credentials are
        attached only for the API's own origin, never for another host, whatever
        ``authenticate`` says. ``timeout`` bounds connecting and each read, not the whole
        transfer, so a large file is not cut off. Failures before the first byte are retried
        like any idempotent call; an error answer raises the service's error; a connection
        lost mid-transfer raises :class:`APIConnectionError` (``Download`` resumes from there,
        sending ``Range`` in ``headers``).
        """
        if options:
            timeout = options.get("timeout", timeout)
            retry = options.get("retry", retry)
            if "extra_headers" in options:
                headers = {**(headers or {}), **options["extra_headers"]}
        seconds = timeout if timeout is not None else self.timeout
        url = target if "://" in target else self._shared.base_url + target
        path = urlsplit(url).path
        raw = await self._open_stream(
            method, url, path, params, json, headers, authenticate, seconds, retry or self.retry
        )
        try:
            yield raw
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise transport_error(exc, method, path, seconds, self._shared.connect_timeout) from exc
        finally:
            raw.release()

    async def _open_stream(
        self,
        method: str,
        url: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        extra_headers: Mapping[str, str] | None,
        authenticate: bool,
        seconds: float,
        policy: RetryPolicy,
    ) -> aiohttp.ClientResponse:
        shared = self._shared
        http = self._http()
        api_origin = _same_origin(url, shared.base_url)
        send_auth = authenticate and api_origin
        client_timeout = aiohttp.ClientTimeout(
            total=None, connect=min(shared.connect_timeout, seconds), sock_read=seconds
        )
        body = None if json is None else dumps(json)
        attempt = 0
        while True:
            attempt += 1
            headers = dict(extra_headers) if extra_headers else {}
            if body is not None:
                headers["Content-Type"] = "application/json"
            if send_auth:
                await shared.auth.ensure()
                headers.update(shared.auth.headers()[0])
            shared.stats.attempts += 1
            error: APIError | TransportError
            try:
                raw = await http.request(
                    method,
                    url,
                    params=encode_params(params),
                    data=body,
                    headers=headers,
                    timeout=client_timeout,
                    # A redirect may lead to another host: follow only without credentials.
                    allow_redirects=not send_auth,
                )
                if raw.status < 300:
                    return raw
                detail = await raw.content.read(64 * 1024)
                raw.release()
                response = Response(method, path, raw.status, raw.headers, detail)
                if api_origin:
                    shared.envelope.unwrap(response)  # raises the service's own error
                error = api_error(
                    response,
                    error_class_for_status(raw.status),
                    detail.decode(errors="replace")[:200] or "download failed",
                    code=None,
                    request_id=None,
                )
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                error = transport_error(exc, method, path, seconds, shared.connect_timeout)
            except APIError as exc:
                error = exc
            delay = self._retry_delay(error, attempt, policy, idempotent=True)
            if delay is None:
                raise error
            shared.stats.retries += 1
            await asyncio.sleep(delay)

    async def _attempt(
        self,
        method: str,
        path: str,
        url: str,
        query: list[tuple[str, str]],
        body: bytes | aiohttp.FormData | None,
        headers: dict[str, str],
        seconds: float,
        authenticate: bool,
    ) -> tuple[Response, object]:
        shared = self._shared
        http = self._http()
        identity: object = None
        assert shared.slots is not None
        # Login and refresh skip the queue for slots (they use the connections reserved for
        # them): every queued call is waiting on them, and a refresh that queues behind a
        # thousand calls reaches the service after the token it renews has expired.
        slot = shared.slots if authenticate else contextlib.nullcontext()
        async with slot:
            if authenticate:
                # Read the credentials only now that a connection slot is ours: a call that
                # waited in the queue must not carry a token that expired while it waited.
                auth_headers, identity = shared.auth.headers()
                headers = {**headers, **auth_headers}
            shared.stats.attempts += 1
            started = time.perf_counter()
            try:
                async with http.request(
                    method,
                    url,
                    params=query,
                    data=body,
                    headers=headers,
                    timeout=self._client_timeout(seconds),
                    allow_redirects=False,  # auth headers must never follow a redirect
                ) as raw:
                    payload = await raw.read()
                    response = Response(method, path, raw.status, raw.headers, payload)
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                raise transport_error(exc, method, path, seconds, shared.connect_timeout) from exc
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d in %.1f ms (request id %s)",
                method,
                path,
                response.status,
                (time.perf_counter() - started) * 1000,
                shared.envelope.request_id(response),
            )
        return response, identity

    def _client_timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        shared = self._shared
        cached = shared.timeouts.get(seconds)
        if cached is None:
            cached = aiohttp.ClientTimeout(
                total=seconds, connect=min(shared.connect_timeout, seconds)
            )
            shared.timeouts[seconds] = cached
        return cached

    def _retry_delay(
        self, exc: APIError | TransportError, attempt: int, policy: RetryPolicy, idempotent: bool
    ) -> float | None:
        """Seconds to wait before another attempt, or None to give up and raise ``exc``."""
        shared = self._shared
        if isinstance(exc, TransportError):
            if exc.request_sent and not idempotent:
                return None
            is_timeout = isinstance(exc, APITimeoutError)
        else:
            # Some services report throttling or an internal failure with HTTP 200 and a code
            # (MAXIR's 201 and 9999): judge those by what the error is, not by the status.
            status = exc.status
            if isinstance(exc, RateLimitError):
                status = 429
            elif isinstance(exc, ServerError) and status < 500:
                status = 500
            if not policy.retries_status(status, idempotent=idempotent):
                return None
            is_timeout = status == 408
        if isinstance(exc, RateLimitError):
            shared.stats.rate_limited += 1
            if exc.retry_after is not None:
                if exc.retry_after > policy.max_retry_after:
                    return None  # never silently shorten a requested wait: let the caller decide
                # A 429 throttles the whole client, not just the call that saw it.
                shared.pause_until = max(shared.pause_until, time.monotonic() + exc.retry_after)
        if attempt >= policy.max_attempts:
            return None
        if not shared.budget.try_spend(timeout=is_timeout):
            logger.warning("retry budget exhausted; not retrying %s %s", exc.method, exc.path)
            return None
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            return exc.retry_after
        return policy.backoff(attempt)


def _same_origin(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def transport_error(
    exc: BaseException, method: str, path: str, timeout: float, connect_timeout: float
) -> TransportError:
    """The asyncsdk error for an aiohttp/socket failure, saying whether the request went out."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return APITimeoutError(
            f"could not connect within {connect_timeout:g} s",
            request_sent=False,
            method=method,
            path=path,
        )
    if isinstance(exc, asyncio.TimeoutError):
        return APITimeoutError(
            f"no answer within {timeout:g} s", request_sent=True, method=method, path=path
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        return APIConnectionError(
            f"could not connect: {exc.os_error.strerror or exc.os_error}",
            request_sent=False,
            method=method,
            path=path,
        )
    return APIConnectionError(
        f"connection failed: {type(exc).__name__}: {exc}",
        request_sent=True,
        method=method,
        path=path,
    )


def _locate(
    exc: AsyncSDKError,
    response: Response | None,
    method: str | None = None,
    path: str | None = None,
) -> None:
    """Fill in where an error happened, when the code that raised it did not know."""
    if response is not None:
        method, path = response.method, response.path
    if exc.method is None:
        exc.method = method
    if exc.path is None:
        exc.path = path


def _brief(exc: AsyncSDKError) -> str:
    if isinstance(exc, APIError):
        return f"HTTP {exc.status}"
    return type(exc).__name__
