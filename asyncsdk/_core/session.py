"""The request pipeline: one ``aiohttp.ClientSession`` per client, and one loop every call takes.

A call is first prepared into one value (:class:`_Call`: URL, body, headers, the merged
options), then sent through :meth:`Session._send`, whose every turn is the same steps::

    wait out a shared throttling pause → ensure credentials → take a connection slot →
    attach the credentials (at send time, not queue time) → send → read (capped) → envelope →
    retry (policy, idempotency, shared budget, deadline) or replay once after a 401

Buffered calls (:meth:`Session.request`) and streamed ones (:meth:`Session.stream`) differ in
one flag: a streamed answer is handed over unread, still holding its connection slot. Absolute
URLs (presigned links) take the same road; credentials go only to the API's own origin.

Service specifics enter through two seams: an :class:`~asyncsdk._core.auth.Auth` and an
:class:`Envelope` that turns an HTTP answer into data or an :class:`APIError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from enum import Enum
from typing import Any, Protocol, TypeVar

import aiohttp
from attrs import define
from multidict import CIMultiDictProxy
from yarl import URL

from .auth import Auth
from .convert import dumps
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncSDKError,
    AuthenticationError,
    ClientClosedError,
    DecodeError,
    InvalidInputError,
    NotFoundError,
    RateLimitError,
    ResponseTooLargeError,
    ServerError,
    TransportError,
    WrongEventLoopError,
    error_class_for_status,
)
from .options import CallOptions, check_seconds
from .retry import RetryBudget, RetryPolicy, parse_retry_after
from .slots import Slots

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "Envelope",
    "Response",
    "Session",
    "SessionStats",
    "api_error",
    "encode_params",
]

T = TypeVar("T")

logger = logging.getLogger("asyncsdk.http")

_USER_AGENT = "asyncsdk/0.1 (+aiohttp)"
#: Sent with every attempt so server logs can tie retries of one call together.
ATTEMPT_HEADER = "asyncsdk-request"
#: The call's id: the caller's ``request_id`` or a generated one, the same on every attempt.
REQUEST_ID_HEADER = "X-Request-ID"
#: The largest non-streamed answer a client holds in memory, unless told otherwise.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 2**20
#: How much of a streamed error answer is read to describe the error.
_ERROR_EXCERPT_BYTES = 64 * 1024
_EXTRA_MAPPINGS = ("extra_headers", "extra_query", "extra_body")


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


class _PlainEnvelope:
    """Another origin's answers (an object store behind a presigned link): they speak no
    service envelope, so an error is judged by its status and shown by an excerpt."""

    def request_id(self, response: Response) -> str | None:
        return None

    def unwrap(self, response: Response) -> Any:
        if response.status < 300:
            return response.body
        message = response.body.decode(errors="replace")[:200] or "request failed"
        raise api_error(
            response, error_class_for_status(response.status), message, code=None, request_id=None
        )


_PLAIN = _PlainEnvelope()


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
    error = cls(
        message,
        status=response.status,
        code=code,
        method=response.method,
        path=response.path,
        request_id=request_id,
    )
    if isinstance(error, ServerError) and response.status == 503:
        # RFC 9110: a 503's Retry-After says how long the service expects to be unavailable.
        error.retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return error


@define
class SessionStats:
    """Counters for one client (shared by its ``with_options`` copies)."""

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    replays: int = 0
    rate_limited: int = 0


def encode_params(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Query parameters as the services expect them, as (name, value) pairs.

    ``None`` values are left out, booleans are ``true``/``false``, enums are their values, and
    sequences repeat the key (``status=1&status=2``, MOI's documented form).
    """
    return [
        (key, item)
        for key, value in query_params(params).items()
        for item in (value if isinstance(value, list) else (value,))
    ]


def query_params(params: Mapping[str, Any] | None) -> dict[str, str | list[str]]:
    """:func:`encode_params`' pairs as the mapping aiohttp sends, a list repeating its key.

    A dict is what aiohttp (yarl) encodes quickest: a list of pairs first goes through two
    isinstance checks against abstract classes (about 1 µs per request, measured).
    """
    query: dict[str, str | list[str]] = {}
    if params:
        for key, value in params.items():
            if value is None:
                continue
            if type(value) is str:  # the usual case: an id
                query[key] = value
            elif isinstance(value, (list, tuple, set, frozenset)):
                query[key] = [_query_value(item) for item in value]
            else:
                query[key] = _query_value(value)
    return query


#: RFC 3986's unreserved characters: a query made of them alone needs no quoting.
_UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"


def wire_query(params: Mapping[str, Any] | None) -> str | dict[str, str | list[str]]:
    """The query as handed to aiohttp: :func:`query_params`' mapping, or, for the usual read
    (one string parameter, key and value of unreserved characters alone, an id), the finished
    ``key=value``. yarl passes a string through one quoter written in C; a mapping goes
    through a Python loop that quotes each pair, about 6,000 instructions more a request
    (docs/performance.md#fanout). Both send the same bytes for such a query."""
    if params and len(params) == 1:
        ((key, value),) = params.items()
        if type(value) is str and not key.strip(_UNRESERVED) and not value.strip(_UNRESERVED):
            return f"{key}={value}"
    return query_params(params)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        value = value.value
    return str(value)


def _origin(url: URL) -> tuple[str, str, int | None]:
    # yarl gives the scheme's default port when none is written: https://h and https://h:443
    # are one origin.
    return (url.scheme.lower(), (url.host or "").lower(), url.port)


class _Shared:
    """State shared by a client and every ``with_options`` copy of it."""

    def __init__(
        self,
        auth: Auth,
        envelope: Envelope,
        pool_size: int,
        connect_timeout: float,
        user_agent: str,
        budget: RetryBudget,
        max_response_bytes: int,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.auth = auth
        self.envelope = envelope
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.user_agent = user_agent
        self.budget = budget
        self.max_response_bytes = max_response_bytes
        self.clock = clock
        self.sleep = sleep
        self.http: aiohttp.ClientSession | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.slots: Slots | None = None
        #: Until when (``clock`` time) every call waits: a 429 or 503 asked the client to.
        self.pause_until = 0.0
        self.started = False
        self.closed = False
        self.stats = SessionStats()
        self.timeouts: dict[float, aiohttp.ClientTimeout] = {}
        # Request ids: a random prefix per client and a counter, unique without paying for a
        # UUID on every call. Made by C code alone (a counter mapped through a format), so a
        # new id costs no Python frame.
        ids = map(f"{os.urandom(6).hex()}-{{:x}}".format, itertools.count(1))
        self.next_request_id: Callable[[], str] = functools.partial(next, ids)


def _normalise_base_url(base_url: str) -> str:
    base = str(base_url).strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InvalidInputError(f"base_url must start with http:// or https://, got {base_url!r}")
    return base


@define(slots=True)
class _Call:
    """One call, prepared: everything the loop needs, decided once before the first attempt."""

    method: str
    url: str
    #: Shown in errors and logs: the URL's path, never its query (it may carry a signature).
    path: str
    query: str | dict[str, str | list[str]]
    body: bytes | None
    form: Callable[[], aiohttp.FormData] | None
    headers: dict[str, str]
    idempotent: bool
    #: Attach the client's credentials: asked for, and the API's own origin.
    credentials: bool
    #: A login or refresh: skips the slot queue and uses the connections held back for it.
    reserved: bool
    #: The API's own origin: its throttling answers pause the whole client.
    api_origin: bool
    envelope: Envelope
    absent_ok_on_retry: bool
    policy: RetryPolicy
    timeout: float
    deadline: float | None


class _Run:
    """How far one call has come: attempts sent, retries, time spent, the last answer."""

    __slots__ = (
        "backoff",
        "clock",
        "deadline",
        "deadline_at",
        "identity",
        "response",
        "retries",
        "sent",
        "started",
    )

    def __init__(self, clock: Callable[[], float], deadline: float | None) -> None:
        self.clock = clock
        self.started = clock()
        self.deadline = deadline
        self.deadline_at = None if deadline is None else self.started + deadline
        self.sent = 0  # requests that went out (replays included)
        self.retries = 0  # attempts repeated after a failure (replays not included)
        self.backoff: float | None = None  # the wait before the current attempt
        self.identity: object = None  # the credentials the last attempt carried
        self.response: Response | None = None

    def remaining(self) -> float | None:
        if self.deadline_at is None:
            return None
        return self.deadline_at - self.clock()

    def fits(self, seconds: float) -> bool:
        """Whether waiting ``seconds`` still leaves time before the deadline."""
        return self.deadline_at is None or self.clock() + seconds < self.deadline_at

    def elapsed(self) -> float:
        return self.clock() - self.started

    def attempt_timeout(self, timeout: float) -> tuple[float, bool]:
        """Seconds the next attempt may take: ``timeout``, or less when the deadline is
        nearer (then True: a timeout is the deadline's)."""
        remaining = self.remaining()
        if remaining is None or remaining >= timeout:
            return timeout, False
        if remaining <= 0:
            raise APITimeoutError(
                f"the call's deadline of {self.deadline:g} s ran out", request_sent=False
            )
        return remaining, True


class _Reply:
    """A streamed answer, unread, holding its connection slot until :meth:`release`."""

    __slots__ = ("_slot", "raw")

    def __init__(self, raw: aiohttp.ClientResponse | None, slot: Slots | None) -> None:
        self.raw = raw
        self._slot = slot

    def release(self) -> None:
        if self.raw is not None:
            self.raw.release()
            self.raw = None
        if self._slot is not None:
            self._slot.release()
            self._slot = None


class Session:
    """Sends requests for one client. Create through a service client, not directly.

    ``clock`` and ``sleep`` measure and spend every wait the pipeline makes (deadlines,
    backoff, throttling pauses); tests replace them to check timing logic without waiting.
    """

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
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        check_seconds("timeout", timeout)
        check_seconds("connect_timeout", connect_timeout)
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise InvalidInputError(f"pool_size must be an integer >= 1, got {pool_size!r}")
        if (
            isinstance(max_response_bytes, bool)
            or not isinstance(max_response_bytes, int)
            or max_response_bytes < 1
        ):
            raise InvalidInputError(
                f"max_response_bytes must be an integer >= 1, got {max_response_bytes!r}"
            )
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise InvalidInputError(f"retry must be a RetryPolicy, got {retry!r}")
        self._shared = _Shared(
            auth,
            envelope,
            pool_size,
            connect_timeout,
            user_agent,
            budget if budget is not None else RetryBudget(),
            max_response_bytes,
            clock,
            sleep,
        )
        self._set_base_url(_normalise_base_url(base_url))
        self.timeout = float(timeout)
        self.retry = retry if retry is not None else RetryPolicy()
        self._defaults: dict[str, Any] = {}

    def _set_base_url(self, base_url: str) -> None:
        self._base_url = base_url
        self._origin = _origin(URL(base_url))

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def stats(self) -> SessionStats:
        return self._shared.stats

    @property
    def auth(self) -> Auth:
        return self._shared.auth

    @property
    def closed(self) -> bool:
        return self._shared.closed

    async def sleep(self, seconds: float) -> None:
        """Wait as the pipeline waits (the session's ``sleep``, replaced in tests)."""
        await self._shared.sleep(seconds)

    @property
    def defaults(self) -> CallOptions:
        """The options every call of this view starts from (``timeout`` and ``retry`` apart)."""
        return CallOptions(**self._defaults)  # type: ignore[typeddict-item,no-any-return]

    def derive(
        self,
        *,
        options: CallOptions | None = None,
        headers: Mapping[str, str] | None = None,
        base_url: str | None = None,
    ) -> Session:
        """A view with other defaults, sharing connections, credentials and counters.

        ``options`` are merged over this view's (the ``extra_*`` mappings key by key);
        ``headers`` go with every call, as ``extra_headers``; ``base_url`` points the view at
        another address of the same service, and credentials then go to that origin.
        """
        view = Session.__new__(Session)
        view._shared = self._shared
        view._set_base_url(self._base_url if base_url is None else _normalise_base_url(base_url))
        merged = _merge_options(self._defaults, options)
        if headers:
            merged = _merge_options(merged, {"extra_headers": headers})
        view.timeout = merged.pop("timeout", self.timeout)
        view.retry = merged.pop("retry", self.retry)
        view.timeout = check_seconds("timeout", view.timeout)
        if not isinstance(view.retry, RetryPolicy):
            raise InvalidInputError(f"retry must be a RetryPolicy, got {view.retry!r}")
        view._defaults = merged
        return view

    # -- life cycle ---------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        shared = self._shared
        if shared.closed:
            raise ClientClosedError("the client is closed; create a new one")
        loop = asyncio.get_running_loop()
        if shared.http is None:
            # A few connections beyond the slots, so a login or refresh issued while every slot
            # waits on it still finds a connection.
            connector = aiohttp.TCPConnector(limit=shared.pool_size + 4, limit_per_host=0)
            shared.http = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": shared.user_agent, "Accept": "application/json"},
                auto_decompress=True,
                raise_for_status=False,
            )
            shared.slots = Slots(shared.pool_size)
            shared.loop = loop
        elif shared.loop is not loop:
            # Its connections and tasks belong to the first loop: nothing is opened here.
            raise WrongEventLoopError(
                "this client was first used in another event loop; a client belongs to one "
                "loop (create one client per loop or thread)"
            )
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
        """Stop background work and close every connection. Safe to call twice.

        Calls still running fail with :class:`ClientClosedError`, including those waiting on
        a renewal of the credentials that closing stops.
        """
        shared = self._shared
        if shared.closed:
            return
        if shared.loop is not None and shared.loop is not asyncio.get_running_loop():
            raise WrongEventLoopError(
                "close the client in the event loop it was used in; its connections belong there"
            )
        shared.closed = True
        await shared.auth.aclose()
        if shared.http is not None:
            await shared.http.close()
            shared.http = None

    # -- the three ways in --------------------------------------------------------------------

    def request(
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
        authenticate: bool = True,
        absent_ok_on_retry: bool = False,
        options: CallOptions | None = None,
    ) -> Coroutine[Any, Any, T]:
        """Send a request and return ``parse(data)`` (or the envelope's data), when awaited.

        ``path`` is an API path, or an absolute URL (credentials go with it only if it is the
        API's own origin; its answer is read with the service's envelope).

        ``idempotent`` declares whether repeating the call is harmless; non-idempotent calls are
        repeated only when the failure proves the service did not act (connection refused,
        429, 503, 401 before a replay). Anything ``parse`` raises becomes a DecodeError.

        ``form`` builds a multipart body (uploads); it is called once per attempt, because a
        form is consumed by sending it.

        ``absent_ok_on_retry`` makes deletes idempotent: when a retried attempt finds the
        resource gone (404), an earlier attempt deleted it, and the call succeeds.

        ``authenticate=False`` marks a credential request (a login or refresh): it sends no
        credentials, and skips the queue for connection slots, since every queued call waits
        on it.

        A plain function returning the loop's coroutine, not a coroutine of its own: one
        coroutine level fewer on every call (docs/performance.md#fanout). So bad arguments
        raise here, not when the result is awaited; every caller is a resource's coroutine
        that awaits the result at once.
        """
        call = self._prepare(
            method,
            path,
            idempotent=idempotent,
            params=params,
            json=json,
            form=form,
            headers=headers,
            authenticate=authenticate,
            absent_ok_on_retry=absent_ok_on_retry,
            options=options,
            stream=False,
        )
        return self._send(call, False, parse)

    def decode(self, response: Response, data: Any, parse: Callable[[Any], T]) -> T:
        """``parse(data)`` for the answer ``response``; anything it raises becomes a
        :class:`DecodeError` that names the call and its request id."""
        try:
            return parse(data)
        except AsyncSDKError as exc:
            _locate(exc, response.method, response.path)
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
        authenticate: bool = True,
        absent_ok_on_retry: bool = False,
        options: CallOptions | None = None,
    ) -> tuple[Response, Any]:
        """Like :meth:`request`, returning the HTTP answer with the unwrapped data."""
        call = self._prepare(
            method,
            path,
            idempotent=idempotent,
            params=params,
            json=json,
            form=form,
            headers=headers,
            authenticate=authenticate,
            absent_ok_on_retry=absent_ok_on_retry,
            options=options,
            stream=False,
        )
        reply: tuple[Response, Any] = await self._send(call, False, _WITH_RESPONSE)
        return reply

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
        idempotent: bool = True,
        options: CallOptions | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """Open a streamed answer (downloads): the body is read by the caller, in chunks.

        The same pipeline as :meth:`request` (credentials, 401 replay, throttling, slots,
        retries, deadline), with the body handed over unread. ``target`` is an API path, or an
        absolute URL (a presigned link): credentials are attached only for the API's own
        origin, whatever ``authenticate`` says, and redirects are followed only without them.
        ``timeout`` bounds connecting and each read, not the whole transfer, so a large file
        is not cut off; ``deadline`` bounds getting the answer, not reading it. An error answer
        raises the service's error; a connection lost mid-transfer raises
        :class:`APIConnectionError` (``Download`` resumes from there, sending ``Range`` in
        ``headers``). The connection slot is held until the block exits.
        """
        call = self._prepare(
            method,
            target,
            idempotent=idempotent,
            params=params,
            json=json,
            form=None,
            headers=headers,
            authenticate=authenticate,
            absent_ok_on_retry=False,
            options=options,
            stream=True,
        )
        reply: _Reply = await self._send(call, True, None)
        assert reply.raw is not None
        try:
            yield reply.raw
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise transport_error(
                exc, call.method, call.path, call.timeout, self._shared.connect_timeout
            ) from exc
        finally:
            reply.release()

    # -- preparing a call ---------------------------------------------------------------------

    def _prepare(
        self,
        method: str,
        target: str,
        *,
        idempotent: bool,
        params: Mapping[str, Any] | None,
        json: Any,
        form: Callable[[], aiohttp.FormData] | None,
        headers: Mapping[str, str] | None,
        authenticate: bool,
        absent_ok_on_retry: bool,
        options: CallOptions | None,
        stream: bool,
    ) -> _Call:
        """The call as one value: target resolved, options merged over the view's defaults."""
        if options:
            opts = _merge_options(self._defaults, options)
            seconds = check_seconds("timeout", opts.get("timeout", self.timeout))
            policy = opts.get("retry", self.retry)
            if not isinstance(policy, RetryPolicy):
                raise InvalidInputError(f"retry must be a RetryPolicy, got {policy!r}")
        else:
            # The usual call: this view's defaults, checked when the view was made.
            opts, seconds, policy = self._defaults, self.timeout, self.retry
        if "://" not in target:  # an API path, the usual case
            url, path, api_origin = self._base_url + target, target, True
        else:
            url, path, api_origin = self._target(target)
        if "extra_query" in opts:
            params = {**(params or {}), **opts["extra_query"]}
        if "extra_body" in opts:
            json = _with_extra_body(json, form, opts["extra_body"])
        body = None if json is None else dumps(json)
        request_id = opts.get("request_id")
        if headers or body is not None or request_id or "extra_headers" in opts:
            send_headers = dict(headers) if headers else {}
            if body is not None:
                send_headers["Content-Type"] = "application/json"
            if "extra_headers" in opts:
                send_headers.update(opts["extra_headers"])
            _set_request_id(send_headers, request_id, self._shared.next_request_id)
        else:  # the usual read: a new request id is the call's one header
            send_headers = {REQUEST_ID_HEADER: self._shared.next_request_id()}
        # Positional, in the order of _Call's fields: a class called with keywords gathers
        # them into a dict first, which cost a call about 0.7 µs, a third of preparing it.
        return _Call(
            method,
            url,
            path,
            wire_query(params),  # query
            body,
            form,
            send_headers,  # headers
            idempotent,
            authenticate and api_origin,  # credentials
            not authenticate and not stream and api_origin,  # reserved
            api_origin,
            # envelope: a buffered call asked the service for data, wherever it lives; a
            # streamed one from another origin is an object store, whose error bodies are its own.
            self._shared.envelope if api_origin or not stream else _PLAIN,
            absent_ok_on_retry,
            policy,
            seconds,  # timeout
            opts.get("deadline"),  # deadline
        )

    def _target(self, target: str) -> tuple[str, str, bool]:
        """An absolute URL's target: the URL to send to, the path errors show, and whether it
        is the API's origin."""
        url = URL(target)
        if url.scheme not in ("http", "https") or not url.host:
            raise InvalidInputError("an absolute URL must be http:// or https:// with a host")
        return target, url.raw_path, _origin(url) == self._origin

    # -- the loop -----------------------------------------------------------------------------

    async def _send(self, call: _Call, stream: bool, parse: Callable[[Any], Any] | None) -> Any:
        """Run ``call`` to its answer; every error leaves here located and annotated with the
        attempts made and the time spent.

        The answer: a streamed call's :class:`_Reply` (body unread); otherwise the envelope's
        data, or ``parse(data)`` (what ``parse`` raises becomes a :class:`DecodeError`), or,
        with ``parse=_WITH_RESPONSE``, the HTTP answer and its data.

        Each turn of the loop waits out a throttling pause, makes sure of the credentials and
        makes one attempt: a request under a connection slot, its answer read (capped) and
        unwrapped by the envelope, or, a streamed success, handed over unread together with
        the slot. A failure is retried (policy, idempotency, budget, deadline) or, a 401,
        replayed once after renewing the credentials.

        One coroutine for all of it: each coroutine level is made, entered and passed through
        again every time the call waits for bytes (docs/performance.md#fanout). For the same
        reason the steps that usually have nothing to wait for (no pause, fresh credentials, a
        free slot) are checked inline and entered as coroutines only when they must wait.
        """
        shared = self._shared
        if shared.closed or shared.loop is not asyncio.get_running_loop():
            # Refuses a closed client or another loop before anything is counted; opens the
            # connections on a first call.
            self._http()
        shared.stats.calls += 1
        run = _Run(shared.clock, call.deadline)
        replayed = False
        try:
            while True:
                if run.retries or replayed:  # a later turn: closed while this call waited?
                    self._http()
                if shared.pause_until > shared.clock():
                    await self._wait_out_pause(call, run)
                if call.credentials:
                    if run.deadline_at is None and shared.started:
                        if not shared.auth.fresh():
                            await shared.auth.ensure()
                    else:
                        await self._bounded(
                            self._credentials_ready(), run, "credentials were renewed"
                        )
                try:
                    # -- one attempt --
                    slots = shared.slots
                    assert slots is not None
                    if call.reserved:
                        slot = None
                    elif slots.free and not slots.waiters:  # Slots.take_now, inline
                        slots.free -= 1  # (a free slot: no wait, so no deadline to guard)
                        slot = slots
                    else:
                        slot = await self._take_slot(slots, run)
                    debug = logger.isEnabledFor(logging.DEBUG)
                    started = time.perf_counter() if debug else 0.0
                    raw: aiohttp.ClientResponse | None = None
                    try:
                        http = shared.http
                        if shared.closed or http is None:  # closed while this call waited
                            http = self._http()  # raises the error that says so
                        if run.deadline_at is None:
                            seconds, capped = call.timeout, False
                        else:
                            seconds, capped = run.attempt_timeout(call.timeout)
                        headers = self._attempt_headers(call, run)
                        shared.stats.attempts += 1
                        run.sent += 1
                        try:
                            raw = await http.request(
                                call.method,
                                call.url,
                                params=call.query,
                                data=call.form() if call.form is not None else call.body,
                                headers=headers,
                                timeout=self._client_timeout(
                                    seconds, stream=stream, cache=not capped
                                ),
                                # Credentials must never follow a redirect; a download may.
                                allow_redirects=stream and not call.credentials,
                            )
                            if stream and raw.status < 300:
                                # The caller reads it; both are released with the reply.
                                reply = _Reply(raw, slot)
                                raw = slot = None
                                shared.budget.refund()
                                return reply
                            limit = _ERROR_EXCERPT_BYTES if stream else shared.max_response_bytes
                            length = raw.content_length
                            if (
                                length is not None
                                and length <= limit
                                and "Content-Encoding" not in raw.headers
                            ):
                                payload = await raw.read()  # the parser stops at Content-Length
                            else:
                                payload = await self._read(raw, call, limit, truncate=stream)
                        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                            raise self._transport_failure(exc, call, run, seconds, capped) from exc
                    finally:
                        if raw is not None:
                            raw.release()
                        if slot is not None:
                            if slot.waiters:
                                slot.release()
                            else:  # Slots.release, inline
                                slot.free += 1
                    response = Response(call.method, call.path, raw.status, raw.headers, payload)
                    run.response = response
                    if debug:
                        self._log_answer(call, response, started)
                    data = call.envelope.unwrap(response)
                    if stream:  # an error answer the service's envelope did not call one
                        _PLAIN.unwrap(response)
                except AuthenticationError as exc:
                    if not call.credentials or replayed or exc.status != 401:
                        raise
                    # The token was rejected (expired early, revoked): renew once and replay.
                    # Safe even for creates: a 401 means the service did not act.
                    replayed = True
                    self._http()  # a closed client renews nothing
                    renew = shared.auth.unauthorized(run.identity)
                    if not await self._bounded(renew, run, "credentials were renewed"):
                        raise  # nothing to renew (an API key): no replay, none counted
                    shared.stats.replays += 1
                except (APIError, TransportError) as exc:
                    if call.absent_ok_on_retry and run.retries and isinstance(exc, NotFoundError):
                        data = None  # an earlier attempt deleted it: the call succeeded
                        break
                    self._note_throttling(exc, call)
                    delay = self._next_delay(exc, call, run)
                    if delay is None:
                        raise
                    shared.stats.retries += 1
                    logger.debug(
                        "%s %s: %s; retry %d in %.3f s",
                        call.method,
                        call.path,
                        _brief(exc),
                        run.retries + 1,
                        delay,
                    )
                    await shared.sleep(delay)
                    run.retries += 1
                    run.backoff = delay
                else:
                    shared.budget.refund()  # a success earns back part of what retries spent
                    break
        except AsyncSDKError as exc:
            if shared.closed and isinstance(exc, TransportError):
                raise self._annotate(_closed_error(), call, run) from exc
            self._annotate(exc, call, run)
            raise
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if shared.closed and task is not None and task.cancelling() == 0:
                # Nobody cancelled this call: closing the client stopped what it waited on
                # (a shared renewal of the credentials).
                raise self._annotate(_closed_error(), call, run) from None
            raise
        if parse is None:
            return data
        answer = run.response
        assert answer is not None
        if parse is _WITH_RESPONSE:
            return answer, data
        return self.decode(answer, data, parse)

    async def _wait_out_pause(self, call: _Call, run: _Run) -> None:
        """Wait while the client is paused by a 429 or 503, as long as this call may wait."""
        shared = self._shared
        policy = call.policy
        # Again after each wait: another call's 429 may have extended the pause meanwhile.
        while (left := shared.pause_until - shared.clock()) > 0:
            # A deadline says how long the caller will wait; without one, the retry policy
            # does, as for the call's own 429s: some retrying at all, and no longer than
            # max_retry_after.
            willing = left <= policy.max_retry_after and (
                run.fits(left) if run.deadline_at is not None else policy.max_attempts > 1
            )
            if not willing:
                raise RateLimitError(
                    f"not sent: the service asked this client to wait {left:.1f} s more, "
                    "longer than this call may wait (its deadline or retry policy)",
                    status=429,
                    method=call.method,
                    path=call.path,
                    retry_after=left,
                )
            await shared.sleep(left)

    async def _credentials_ready(self) -> None:
        # Outside the retry handling: a failed login or refresh has been retried by its own
        # request already and is final here.
        shared = self._shared
        await shared.auth.ensure()
        if not shared.started:
            self._start_auth()

    async def _bounded(self, work: Awaitable[T], run: _Run, waiting_for: str) -> T:
        """``await work``, but not past the call's deadline."""
        remaining = run.remaining()
        if remaining is None:
            return await work
        try:
            async with asyncio.timeout(max(remaining, 0.0)):
                return await work
        except TimeoutError:
            raise APITimeoutError(
                f"the call's deadline of {run.deadline:g} s ran out while {waiting_for}",
                request_sent=False,
            ) from None

    def _transport_failure(
        self,
        exc: TimeoutError | aiohttp.ClientError | OSError,
        call: _Call,
        run: _Run,
        seconds: float,
        capped: bool,
    ) -> AsyncSDKError:
        """What aiohttp's failure of one attempt is: a transport error, or a timeout that says
        the call's deadline shortened it."""
        if capped and isinstance(exc, asyncio.TimeoutError):
            return APITimeoutError(
                f"no answer within the call's deadline of {run.deadline:g} s", request_sent=True
            )
        return transport_error(exc, call.method, call.path, seconds, self._shared.connect_timeout)

    def _log_answer(self, call: _Call, response: Response, started: float) -> None:
        logger.debug(
            "%s %s -> %d in %.1f ms (request id %s)",
            call.method,
            call.path,
            response.status,
            (time.perf_counter() - started) * 1000,
            call.envelope.request_id(response),
        )

    async def _take_slot(self, slots: Slots, run: _Run) -> Slots:
        """Wait for a connection slot, not past the call's deadline. (Logins and refreshes
        skip the queue, using the connections reserved for them, because every queued call
        is waiting on them, and a refresh that queues behind a thousand calls arrives after
        the token has expired.)"""
        await self._bounded(slots.take(), run, "waiting for a connection slot")
        return slots

    def _attempt_headers(self, call: _Call, run: _Run) -> dict[str, str]:
        """The call's headers, plus, on a retry, which attempt this is (so the service's logs
        can tie retries together and tests can check the waits), plus the credentials, read
        only now that a slot is held: a call that waited in the queue must not carry a token
        that expired while it waited.

        A first attempt carries no attempt header: its absence says "attempt 1", and each
        header costs aiohttp about 1.5 µs a request to copy and write (docs/retries.md#request-ids).
        """
        headers = call.headers
        if run.retries or run.backoff is not None:
            attempt = f"attempt={run.retries + 1}; max={call.policy.max_attempts}" + (
                f"; backoff={run.backoff:.4f}" if run.backoff is not None else ""
            )
            headers = {**headers, ATTEMPT_HEADER: attempt}
        if call.credentials:
            auth_headers, run.identity = self._shared.auth.headers()
            return {**headers, **auth_headers}
        return headers  # aiohttp copies it; it is not changed

    async def _read(
        self, raw: aiohttp.ClientResponse, call: _Call, limit: int, *, truncate: bool
    ) -> bytes:
        """The body, never more than ``limit`` bytes of it in memory: past the limit, reading
        stops and the answer is refused (or, for an error excerpt, cut). (An answer whose
        Content-Length is within the limit, unencoded, is read by the caller directly.)"""
        length = raw.content_length
        if length is not None and length > limit and not truncate:
            raise self._too_large(raw, call, limit)
        body = bytearray()
        while chunk := await raw.content.readany():
            body += chunk
            if len(body) > limit:
                if truncate:
                    return bytes(body[:limit])
                raise self._too_large(raw, call, limit)
        return bytes(body)

    def _too_large(
        self, raw: aiohttp.ClientResponse, call: _Call, limit: int
    ) -> ResponseTooLargeError:
        raw.close()  # the rest is never read: the connection cannot be reused
        head = Response(call.method, call.path, raw.status, raw.headers, b"")
        return ResponseTooLargeError(
            f"answer larger than max_response_bytes ({limit} bytes); reading stopped there",
            status=raw.status,
            method=call.method,
            path=call.path,
            request_id=call.envelope.request_id(head),
        )

    def _client_timeout(
        self, seconds: float, *, stream: bool, cache: bool
    ) -> aiohttp.ClientTimeout:
        shared = self._shared
        key = -seconds if stream else seconds
        cached = shared.timeouts.get(key) if cache else None
        if cached is None:
            connect = min(shared.connect_timeout, seconds)
            if stream:
                # A transfer may take long: bound connecting and each read, not the total.
                cached = aiohttp.ClientTimeout(total=None, connect=connect, sock_read=seconds)
            else:
                cached = aiohttp.ClientTimeout(total=seconds, connect=connect)
            if cache:
                shared.timeouts[key] = cached
        return cached

    # -- retry decisions ----------------------------------------------------------------------

    def _next_delay(self, exc: APIError | TransportError, call: _Call, run: _Run) -> float | None:
        """Seconds to wait before another attempt, or None to give up and raise ``exc``."""
        shared = self._shared
        delay = self._retry_delay(exc, run.retries + 1, call.policy, call.idempotent)
        if delay is None or not run.fits(delay):
            return None
        if not shared.budget.try_spend(timeout=_is_timeout(exc)):
            logger.warning("retry budget exhausted; not retrying %s %s", call.method, call.path)
            return None
        return delay

    def _note_throttling(self, exc: APIError | TransportError, call: _Call) -> None:
        """A 429 (or a 503 naming a wait) from the API throttles the whole client, not just
        the call that saw it."""
        shared = self._shared
        if isinstance(exc, RateLimitError):
            shared.stats.rate_limited += 1
        requested = _requested_wait(exc)
        if requested is not None and call.api_origin and requested <= call.policy.max_retry_after:
            shared.pause_until = max(shared.pause_until, shared.clock() + requested)

    @staticmethod
    def _retry_delay(
        exc: APIError | TransportError, attempt: int, policy: RetryPolicy, idempotent: bool
    ) -> float | None:
        """What the policy says: seconds before another attempt, or None (give up)."""
        if isinstance(exc, TransportError):
            if exc.request_sent and not idempotent:
                return None
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
        requested = _requested_wait(exc)
        if requested is not None and requested > policy.max_retry_after:
            return None  # never silently shorten a requested wait: let the caller decide
        if attempt >= policy.max_attempts:
            return None
        if requested is not None:
            return requested
        return policy.backoff(attempt)

    def _annotate(self, exc: AsyncSDKError, call: _Call, run: _Run) -> AsyncSDKError:
        _locate(exc, call.method, call.path)
        if isinstance(exc, TransportError) and exc.request_id is None:
            # No answer to read one from: the id this call sent (the same on every attempt) is
            # what the service's logs know it by, if it got that far.
            exc.request_id = call.headers.get(REQUEST_ID_HEADER)
        if exc.attempts is None:
            exc.attempts = run.sent
            exc.elapsed = run.elapsed()
        return exc


def _with_response(data: Any) -> Any:
    """Not called: the ``parse`` that asks :meth:`Session._send` for the HTTP answer with its
    data (:meth:`Session.request_raw`)."""
    raise AssertionError("_WITH_RESPONSE is a marker")


_WITH_RESPONSE = _with_response


def _merge_options(base: Mapping[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """``extra`` over ``base``; the ``extra_*`` mappings are merged key by key."""
    merged = dict(base)
    for name, value in (extra or {}).items():
        if name in _EXTRA_MAPPINGS and name in merged:
            merged[name] = {**merged[name], **value}
        else:
            merged[name] = value
    return merged


def _with_extra_body(json: Any, form: object, extra: Mapping[str, Any]) -> Any:
    if form is not None or not (json is None or isinstance(json, dict)):
        raise InvalidInputError("extra_body needs a call whose body is a JSON object")
    return {**(json or {}), **extra}


def _set_request_id(
    headers: dict[str, str], request_id: str | None, generate: Callable[[], str]
) -> None:
    """One ``X-Request-ID``: the ``request_id`` option, else one the caller put in the headers
    (any spelling), else a new one."""
    given = [name for name in headers if name.lower() == "x-request-id"]
    if request_id is None and given:
        return
    for name in given:
        del headers[name]
    headers[REQUEST_ID_HEADER] = request_id or generate()


def _requested_wait(exc: AsyncSDKError) -> float | None:
    """The wait a 429's or a 503's ``Retry-After`` asked for."""
    if isinstance(exc, (RateLimitError, ServerError)):
        return exc.retry_after
    return None


def _is_timeout(exc: APIError | TransportError) -> bool:
    return isinstance(exc, APITimeoutError) or (isinstance(exc, APIError) and exc.status == 408)


def _closed_error() -> ClientClosedError:
    return ClientClosedError("the client was closed while this call ran")


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


def _locate(exc: AsyncSDKError, method: str | None, path: str | None) -> None:
    """Fill in where an error happened, when the code that raised it did not know."""
    if exc.method is None:
        exc.method = method
    if exc.path is None:
        exc.path = path


def _brief(exc: AsyncSDKError) -> str:
    if isinstance(exc, APIError):
        return f"HTTP {exc.status}"
    return type(exc).__name__
