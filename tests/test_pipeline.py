"""The one request pipeline: streamed and buffered calls share every policy; per-call options;
deadlines; closing; answer size; throttling answers. Scripted servers state every byte."""

from __future__ import annotations

import asyncio
import gzip
import re
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from asyncsdk import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    BadRequestError,
    ClientClosedError,
    InvalidInputError,
    MaxirClient,
    MOIClient,
    RateLimitError,
    ResponseTooLargeError,
    RetryPolicy,
    ServerError,
    TransportError,
    WrongEventLoopError,
)
from asyncsdk._core.auth import Grant, TokenAuth
from asyncsdk._core.download import Download, DownloadSource
from asyncsdk._core.options import CallOptions
from asyncsdk._core.retry import RetryBudget
from asyncsdk._core.session import Session
from asyncsdk.emulator import Emulator

from ._mock_http import MockHTTP
from ._scripted_pipeline import (
    EVERY_SECOND,
    FakeTime,
    Handler,
    PlainEnvelope,
    Server,
    ok,
    scripted,
    session,
)

NO_RETRY = RetryPolicy.disabled()


# -- downloads take the one pipeline ---------------------------------------------------------


async def test_a_download_replays_after_a_revoked_token(emulator: Emulator, moi: MOIClient) -> None:
    async def locate() -> DownloadSource:
        return DownloadSource("/connectors/list", authenticate=True)  # an API-hosted file

    emulator.revoke_access_tokens()
    body = b"".join([chunk async for chunk in Download(moi._session, locate)])
    assert body.startswith(b'{"code":"OK"')
    assert emulator.stats.unauthorized == 1
    assert emulator.stats.refreshes == 1
    assert moi.stats.replays == 1


async def test_downloads_never_take_the_connections_held_for_login() -> None:
    # One slot, so five connections beyond it are held back for logins and refreshes. Six
    # downloads that hold their connections must queue for the slot, not take those.
    async def blob(request: web.Request, server: Server) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first bytes")
        await server.hang()
        return response

    async def api(request: web.Request, server: Server) -> web.StreamResponse:
        return ok({"token": "t"})

    async with scripted(blob) as blobs, scripted(api) as service:
        pipeline = session(service.url, pool_size=1)
        opened = asyncio.Event()

        async def download(n: int) -> None:
            async with pipeline.stream("GET", f"{blobs.url}/file-{n}") as raw:
                await raw.content.readexactly(len(b"first bytes"))
                opened.set()
                await blobs.hang()

        downloads = [asyncio.create_task(download(n)) for n in range(6)]
        try:
            await opened.wait()
            # A login (a credential request) still finds a connection.
            login = pipeline.request_raw("POST", "/login", idempotent=True, authenticate=False)
            _, data = await asyncio.wait_for(login, 10)
            assert data == {"token": "t"}
            assert len(blobs.seen) == 1  # the other five wait for the slot
        finally:
            for task in downloads:
                task.cancel()
            await asyncio.gather(*downloads, return_exceptions=True)
            await pipeline.aclose()


async def test_credentials_go_to_the_api_origin_written_with_its_default_port() -> None:
    with MockHTTP() as mock:
        mock.get("https://api.test:443/files/a", body=b"data")
        mock.get("https://files.test/files/b", body=b"data")
        mock.post("https://api.test:443/ob/metrics", payload={"data": [1]})
        pipeline = session("https://api.test")
        try:
            async with pipeline.stream("GET", "https://api.test:443/files/a") as raw:
                assert await raw.read() == b"data"
            async with pipeline.stream("GET", "https://files.test/files/b") as raw:
                assert await raw.read() == b"data"
            # A buffered call to an absolute URL takes the same rule (metrics_url).
            data: list[int] = await pipeline.request(
                "POST", "https://api.test:443/ob/metrics", idempotent=True
            )
            assert data == [1]
        finally:
            await pipeline.aclose()
        sent = {url.host: call[0].kwargs["headers"] for (_, url), call in mock.requests.items()}
        own = [
            call.kwargs["headers"] for (_, url), calls in mock.requests.items() for call in calls
        ]
        assert sum(headers.get("key") == "k" for headers in own) == 2
        assert "key" not in sent["files.test"]


async def test_absolute_urls_must_be_http() -> None:
    pipeline = session("http://api.test")
    with pytest.raises(InvalidInputError, match="absolute URL"):
        await pipeline.request("GET", "ftp://api.test/x", idempotent=True)
    await pipeline.aclose()


# -- request ids, attempt headers, extras ----------------------------------------------------


async def test_a_transport_error_carries_the_request_id_the_call_sent() -> None:
    async def drop(request: web.Request, server: Server) -> web.StreamResponse:
        # The connection is cut before any answer: there is no answer to read an id from.
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    async with scripted(drop) as server:
        pipeline = session(server.url, retry=NO_RETRY)
        try:
            with pytest.raises(APIConnectionError) as info:
                await pipeline.request(
                    "GET", "/a", idempotent=True, options={"request_id": "job-9"}
                )
            with pytest.raises(APIConnectionError) as generated:
                await pipeline.request("GET", "/b", idempotent=True)
        finally:
            await pipeline.aclose()
    assert info.value.request_id == "job-9"
    # (aiohttp itself sends an idempotent request again once on a cut connection.)
    assert generated.value.request_id == server.seen[-1].headers["X-Request-ID"] != "job-9"


def failing_first(times: int, status: int = 503, **headers: str) -> Handler:
    async def handler(request: web.Request, server: Server) -> web.StreamResponse:
        if len(server.seen) <= times:
            return web.Response(status=status, headers=headers)
        return ok({"n": len(server.seen)})

    return handler


async def test_a_request_id_is_the_same_on_every_attempt_and_settable() -> None:
    fake = FakeTime()
    async with scripted(failing_first(1)) as server:
        pipeline = session(server.url, fake=fake)
        try:
            await pipeline.request("GET", "/a", idempotent=True, options={"request_id": "job-7"})
            await pipeline.request("GET", "/b", idempotent=True)
            await pipeline.request("GET", "/c", idempotent=True)
            async with pipeline.stream("GET", "/d") as raw:
                await raw.read()
            header: CallOptions = {"extra_headers": {"x-request-id": "mine"}}
            await pipeline.request("GET", "/e", idempotent=True, options=header)
            both: CallOptions = {**header, "request_id": "option"}
            await pipeline.request("GET", "/f", idempotent=True, options=both)
        finally:
            await pipeline.aclose()
    ids = [seen.headers["X-Request-ID"] for seen in server.seen]
    assert ids[:2] == ["job-7", "job-7"]  # the first failed: both attempts carry the id
    # A first attempt carries no attempt header; a retry says which attempt it is.
    assert "asyncsdk-request" not in server.seen[0].headers
    assert server.seen[1].headers["asyncsdk-request"].startswith("attempt=2; max=")
    assert all("asyncsdk-request" not in seen.headers for seen in server.seen[2:])
    generated = ids[2:5]
    assert len(set(generated)) == 3 and all(generated)  # one per call, streamed ones too
    # One header, however the caller spelled it; the option wins over a header.
    assert [seen.headers["X-Request-ID"] for seen in server.seen[5:]] == ["mine", "option"]


async def test_extras_and_copies_merge_over_the_call() -> None:
    async def handler(request: web.Request, server: Server) -> web.StreamResponse:
        return web.json_response({"code": 0, "data": True})

    async with (
        scripted(handler) as server,
        MaxirClient(server.url, api_key="key-1") as mx,
    ):
        copy = mx.with_options(
            headers={"x-team": "a"}, extra_query={"q": "1"}, extra_body={"b": 1}, deadline=30
        )
        await copy._session.request(
            "POST",
            "/x",
            json={"own": 1},
            idempotent=True,
            options={"extra_query": {"r": "2"}, "extra_headers": {"x-call": "c"}},
        )
        assert copy.stats.calls == mx.stats.calls == 1  # counters are shared
    seen = server.seen[0]
    assert seen.query == {"q": "1", "r": "2"}
    assert seen.json() == {"own": 1, "b": 1}
    assert seen.headers["x-team"] == "a" and seen.headers["x-call"] == "c"
    assert seen.headers["x-pd-api-key"] == "key-1"


async def test_with_options_points_a_copy_at_another_base_url() -> None:
    async def handler(request: web.Request, server: Server) -> web.StreamResponse:
        return web.json_response({"code": 0, "data": server.url})

    async with scripted(handler) as first, scripted(handler) as second:
        async with MaxirClient(first.url, api_key="key-1") as mx:
            other = mx.with_options(base_url=second.url, timeout=5)
            assert await other._session.request("GET", "/x", idempotent=True) == second.url
            assert await mx._session.request("GET", "/x", idempotent=True) == first.url
            assert other.stats.attempts == 2
            with pytest.raises(InvalidInputError, match="unknown option"):
                mx.with_options(timeuot=5)  # type: ignore[call-arg]
        assert other.closed
    assert second.seen[0].headers["x-pd-api-key"] == "key-1"


async def test_extra_body_needs_a_json_object() -> None:
    pipeline = session("http://api.test")
    with pytest.raises(InvalidInputError, match="extra_body"):
        await pipeline.request(
            "POST", "/x", json=[1], idempotent=True, options={"extra_body": {"a": 1}}
        )
    await pipeline.aclose()


@pytest.mark.parametrize("streamed", [False, True])
async def test_successes_refund_the_retry_budget(streamed: bool) -> None:
    # Every call fails once, then succeeds. The budget holds two retries; each success earns
    # one back, so the calls go on retrying for ever.
    async def handler(request: web.Request, server: Server) -> web.StreamResponse:
        if len(server.seen) % 2:
            return web.Response(status=503)
        return ok()

    fake = FakeTime()
    async with scripted(handler) as server:
        budget = RetryBudget(capacity=10, retry_cost=5, success_refund=5)
        pipeline = session(server.url, fake=fake, budget=budget)
        try:
            for _ in range(6):
                if streamed:
                    async with pipeline.stream("GET", "/a") as raw:
                        await raw.read()
                else:
                    await pipeline.request("GET", "/a", idempotent=True)
        finally:
            await pipeline.aclose()
    assert len(server.seen) == 12 and pipeline.stats.retries == 6


# -- deadlines (an injected clock: no waiting) -----------------------------------------------


async def test_a_deadline_bounds_attempts_and_backoff() -> None:
    fake = FakeTime()
    async with scripted(failing_first(100)) as server:
        pipeline = session(server.url, fake=fake, retry=EVERY_SECOND)
        try:
            with pytest.raises(ServerError) as info:
                await pipeline.request("GET", "/a", idempotent=True, options={"deadline": 3.5})
        finally:
            await pipeline.aclose()
    # Attempts at 0, 1, 2 and 3 s; a fifth would start at 4 s, past the deadline: not made.
    assert len(server.seen) == 4
    assert fake.sleeps == [1.0, 1.0, 1.0]
    assert info.value.attempts == 4
    assert "(after 4 attempts over 3.0 s)" in str(info.value)


async def test_a_throttled_client_makes_no_call_wait_past_what_it_allows() -> None:
    fake = FakeTime()
    async with scripted(failing_first(1, 429, **{"Retry-After": "8"})) as server:
        pipeline = session(server.url, fake=fake)
        try:
            with pytest.raises(RateLimitError):  # the 429 itself, not retried
                await pipeline.request(
                    "GET", "/first", idempotent=True, options={"retry": NO_RETRY}
                )
            # The reported case: timeout=2 and no retries, during an 8 s pause: refused at
            # once, unsent, saying how long the pause still lasts.
            with pytest.raises(RateLimitError, match="not sent") as info:
                await pipeline.request(
                    "GET", "/b", idempotent=True, options={"timeout": 2, "retry": NO_RETRY}
                )
            assert info.value.retry_after == 8
            # A deadline shorter than the pause: refused at once too.
            with pytest.raises(RateLimitError, match="not sent"):
                await pipeline.request("GET", "/c", idempotent=True, options={"deadline": 5})
            assert fake.sleeps == [] and len(server.seen) == 1
            # A deadline that outlasts it: waits it out, then sends.
            await pipeline.request("GET", "/d", idempotent=True, options={"deadline": 10})
            assert fake.sleeps == [8.0]
        finally:
            await pipeline.aclose()


async def test_a_call_without_deadline_waits_a_pause_its_policy_would() -> None:
    fake = FakeTime()
    async with scripted(failing_first(1, 429, **{"Retry-After": "8"})) as server:
        pipeline = session(server.url, fake=fake)
        try:
            with pytest.raises(RateLimitError):
                await pipeline.request(
                    "GET", "/first", idempotent=True, options={"retry": NO_RETRY}
                )
            await pipeline.request("GET", "/b", idempotent=True)  # default policy: 8 <= 60 s
            assert fake.sleeps == [8.0]
            pipeline._shared.pause_until = fake.now + 120  # beyond its max_retry_after (60 s)
            with pytest.raises(RateLimitError, match="not sent"):
                await pipeline.request("GET", "/c", idempotent=True)
            assert fake.sleeps == [8.0] and len(server.seen) == 2
        finally:
            await pipeline.aclose()


async def test_a_503_retry_after_is_honoured_like_a_429() -> None:
    fake = FakeTime()
    async with scripted(failing_first(1, 503, **{"Retry-After": "7"})) as server:
        pipeline = session(server.url, fake=fake)
        try:
            assert await pipeline.request("GET", "/a", idempotent=True) == {"n": 2}
        finally:
            await pipeline.aclose()
    assert fake.sleeps == [7.0]
    assert server.seen[1].headers["asyncsdk-request"].endswith("backoff=7.0000")


async def test_a_503_asking_for_more_than_the_policy_allows_is_raised_with_its_wait() -> None:
    fake = FakeTime()
    async with scripted(failing_first(1, 503, **{"Retry-After": "600"})) as server:
        pipeline = session(server.url, fake=fake)
        try:
            with pytest.raises(ServerError, match=r"retry after 600 s") as info:
                await pipeline.request("GET", "/a", idempotent=True)
        finally:
            await pipeline.aclose()
    assert info.value.retry_after == 600 and fake.sleeps == []


async def hang(request: web.Request, server: Server) -> web.StreamResponse:
    await server.hang()
    return ok()


async def test_timeout_is_per_attempt_and_the_error_says_how_long_the_call_took() -> None:
    fake = FakeTime()  # backoff is not waited; the attempts' timeouts are real
    async with scripted(hang) as server:
        pipeline = Session(
            server.url,
            auth=session(server.url).auth,
            envelope=PlainEnvelope(),
            retry=RetryPolicy(max_attempts=3, backoff_base=0),
            sleep=fake.sleep,
        )
        try:
            with pytest.raises(APITimeoutError) as info:
                await pipeline.request("GET", "/a", idempotent=True, options={"timeout": 0.1})
        finally:
            await pipeline.aclose()
    assert re.search(r"no answer within 0.1 s \(after 3 attempts over \d+\.\d s\)", str(info.value))
    assert len(server.seen) == 3


async def test_a_deadline_cuts_an_attempt_short() -> None:
    async with scripted(hang) as server:
        pipeline = session(server.url)
        try:
            with pytest.raises(APITimeoutError, match=r"call's deadline of 0\.2 s"):
                await pipeline.request("GET", "/a", idempotent=True, options={"deadline": 0.2})
        finally:
            await pipeline.aclose()
    assert len(server.seen) == 1


# -- closing, event loops ---------------------------------------------------------------------


class HangingLogin:
    """A token provider whose login goes to a server that never answers."""

    def __init__(self) -> None:
        self.session: Session | None = None

    async def login(self) -> Grant:
        assert self.session is not None
        await self.session.request_raw("POST", "/login", idempotent=True, authenticate=False)
        raise AssertionError("the login never answers")

    async def refresh(self, grant: Grant) -> Grant:
        raise AssertionError("no refresh in this test")


async def test_closing_fails_calls_waiting_on_a_shared_login_with_a_clear_error() -> None:
    async with scripted(hang) as server:
        provider = HangingLogin()
        pipeline = Session(server.url, auth=TokenAuth(provider), envelope=PlainEnvelope())
        provider.session = pipeline
        calls: list[asyncio.Task[None]] = [
            asyncio.create_task(pipeline.request("GET", f"/{n}", idempotent=True)) for n in range(3)
        ]
        await server.arrived.wait()  # the login is under way
        await pipeline.aclose()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(outcome, ClientClosedError) for outcome in outcomes), outcomes
    with pytest.raises(ClientClosedError, match="closed"):
        await pipeline.request("GET", "/late", idempotent=True)


async def test_closing_fails_calls_in_flight_with_a_clear_error() -> None:
    async with scripted(hang) as server:
        pipeline = session(server.url)
        call: asyncio.Task[Any] = asyncio.create_task(
            pipeline.request("POST", "/a", idempotent=False)
        )
        await server.arrived.wait()
        await pipeline.aclose()
        with pytest.raises(ClientClosedError):
            await call
    assert len(server.seen) == 1  # not retried into a closed client


class AlwaysStale:
    """Tokens always inside their mandatory refresh window: every call renews first."""

    async def login(self) -> Grant:
        return Grant({"token": "t"}, expires_at=time.time() + 10, issued_at=time.time() - 990)

    async def refresh(self, grant: Grant) -> Grant:
        return await self.login()


async def test_closing_during_a_backoff_ends_the_call_with_a_clear_error() -> None:
    async with scripted(failing_first(100)) as server:
        pipeline: Session

        async def closing_sleep(seconds: float) -> None:
            await pipeline.aclose()  # the client is closed while the call waits to retry

        pipeline = Session(
            server.url, auth=TokenAuth(AlwaysStale()), envelope=PlainEnvelope(), sleep=closing_sleep
        )
        with pytest.raises(ClientClosedError) as info:
            await pipeline.request("GET", "/a", idempotent=True)
    assert len(server.seen) == 1 and info.value.attempts == 1


async def test_a_client_used_from_a_second_event_loop_is_refused() -> None:
    async with scripted(lambda request, server: ok_coroutine()) as server:
        pipeline = session(server.url)
        try:
            await pipeline.request("GET", "/a", idempotent=True)

            def elsewhere() -> None:
                asyncio.run(pipeline.request("GET", "/b", idempotent=True))

            with pytest.raises(WrongEventLoopError, match="another event loop"):
                await asyncio.to_thread(elsewhere)
            assert len(server.seen) == 1
            await pipeline.request("GET", "/c", idempotent=True)  # still fine at home
        finally:
            await pipeline.aclose()


async def ok_coroutine() -> web.Response:
    return ok()


# -- answer size ----------------------------------------------------------------------------


async def test_an_answer_larger_than_the_cap_is_refused_without_reading_it_all() -> None:
    written = 0

    async def endless(request: web.Request, server: Server) -> web.StreamResponse:
        nonlocal written
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)  # chunked: no Content-Length to refuse it by
        try:
            await response.write(b'{"data": "')
            for _ in range(256):  # 64 MiB, unless the client hangs up
                await response.write(b"x" * 2**18)
                written += 2**18
        except (ConnectionError, RuntimeError):
            pass
        return response

    async with scripted(endless) as server:
        pipeline = session(server.url, max_response_bytes=2**20)
        try:
            with pytest.raises(ResponseTooLargeError, match="max_response_bytes") as info:
                await pipeline.request("GET", "/big", idempotent=True)
        finally:
            await pipeline.aclose()
    assert info.value.status == 200 and info.value.attempts == 1
    assert written < 32 * 2**20  # the client stopped reading long before the end


async def test_an_announced_length_over_the_cap_is_refused_before_reading() -> None:
    async def big(request: web.Request, server: Server) -> web.StreamResponse:
        return web.Response(body=b"{}" + b" " * (2**20), content_type="application/json")

    async with scripted(big) as server:
        pipeline = session(server.url, max_response_bytes=2**20)
        try:
            with pytest.raises(ResponseTooLargeError):
                await pipeline.request("GET", "/big", idempotent=True)
            assert len(server.seen) == 1  # not retried
        finally:
            await pipeline.aclose()


def test_max_response_bytes_is_checked() -> None:
    with pytest.raises(InvalidInputError, match="max_response_bytes"):
        session("http://api.test", max_response_bytes=0)


# -- encoded downloads ------------------------------------------------------------------------

PAYLOAD = bytes(range(256)) * 2048  # 512 KiB


def encoding_host(always_gzip: bool) -> Handler:
    """A host serving PAYLOAD with an ETag: gzip-encoded when the client accepts gzip (or
    always), cutting its first answer half-way, serving ranges of the stored bytes."""

    async def handler(request: web.Request, server: Server) -> web.StreamResponse:
        encode = always_gzip or "gzip" in request.headers.get("Accept-Encoding", "")
        stored = gzip.compress(PAYLOAD) if encode else PAYLOAD
        headers = {"ETag": '"v1"', "Accept-Ranges": "bytes"}
        if encode:
            headers["Content-Encoding"] = "gzip"
        start = 0
        if "Range" in request.headers and request.headers.get("If-Range") == '"v1"':
            start = int(request.headers["Range"].removeprefix("bytes=").rstrip("-"))
            headers["Content-Range"] = f"bytes {start}-{len(stored) - 1}/{len(stored)}"
        response = web.StreamResponse(status=206 if start else 200, headers=headers)
        response.content_length = len(stored) - start
        await response.prepare(request)
        if len(server.seen) == 1:
            await response.write(stored[: len(stored) // 2])
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write(stored[start:])
        await response.write_eof()
        return response

    return handler


def download(pipeline: Session, url: str) -> Download:
    async def locate() -> DownloadSource:
        return DownloadSource(url, authenticate=False)

    policy = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.01)
    return Download(pipeline, locate, chunk_size=2**16, retry=policy)


async def test_a_download_asks_for_the_stored_bytes_and_resumes_them() -> None:
    async with scripted(encoding_host(always_gzip=False)) as host:
        pipeline = session("http://api.test")
        try:
            body = b"".join([chunk async for chunk in download(pipeline, f"{host.url}/f")])
        finally:
            await pipeline.aclose()
    assert body == PAYLOAD
    assert [seen.headers["Accept-Encoding"] for seen in host.seen] == ["identity"] * 2
    assert host.seen[1].headers["Range"] == f"bytes={len(PAYLOAD) // 2}-"


async def test_an_encoded_download_cut_part_way_is_not_spliced() -> None:
    async with scripted(encoding_host(always_gzip=True)) as host:
        pipeline = session("http://api.test")
        received = b""
        try:
            with pytest.raises(APIConnectionError, match=r"encoded \(gzip\)"):
                async for chunk in download(pipeline, f"{host.url}/f"):
                    received += chunk
        finally:
            await pipeline.aclose()
    assert PAYLOAD.startswith(received)  # what was handed out is right, and no more came
    assert len(host.seen) == 1


async def test_streams_follow_redirects_only_without_credentials() -> None:
    async def handler(request: web.Request, server: Server) -> web.StreamResponse:
        if request.path == "/moved":
            raise web.HTTPFound("/there")
        return web.Response(body=b"there")

    async with scripted(handler) as host:
        pipeline = session("http://api.test")
        own = session(host.url)
        try:
            async with pipeline.stream("GET", f"{host.url}/moved") as raw:
                assert await raw.read() == b"there"
            with pytest.raises(Exception, match="redirect"):
                async with own.stream("GET", "/moved"):
                    pass
        finally:
            await pipeline.aclose()
            await own.aclose()
    assert [seen.path for seen in host.seen] == ["/moved", "/there", "/moved"]
    assert "key" not in host.seen[0].headers and host.seen[2].headers["key"] == "k"


def test_client_sessions_are_not_created_outside_a_loop() -> None:
    pipeline = session("http://api.test")
    with pytest.raises(RuntimeError):
        pipeline._http()
    assert pipeline._shared.http is None


@pytest.mark.parametrize("bad", [0, -1, float("inf"), "5", True])
def test_timeouts_are_checked(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="timeout"):
        session("http://api.test", timeout=bad)


async def test_aiohttp_sessions_close_with_the_client() -> None:
    async with scripted(lambda request, server: ok_coroutine()) as server:
        pipeline = session(server.url)
        await pipeline.request("GET", "/a", idempotent=True)
        http = pipeline._shared.http
        assert isinstance(http, aiohttp.ClientSession)
        await pipeline.aclose()
        assert http.closed


# -- the retry decision alone ----------------------------------------------------------------

JITTERLESS = RetryPolicy(max_attempts=3, backoff_base=1, backoff_cap=10, jitter=lambda: 1.0)


def server_error(status: int, retry_after: float | None = None) -> ServerError:
    error = ServerError("failed", status=status)
    error.retry_after = retry_after
    return error


@pytest.mark.parametrize(
    ("error", "attempt", "idempotent", "expected"),
    [
        (server_error(500), 1, True, 1.0),
        (server_error(500), 2, True, 2.0),
        (server_error(500), 3, True, None),  # the policy's last attempt
        (server_error(500), 1, False, None),  # a create the service may have acted on
        (server_error(503), 1, False, 1.0),  # 503: the service did not act
        (server_error(503, retry_after=7), 1, True, 7.0),
        (server_error(503, retry_after=61), 1, True, None),  # never shortened: raised
        (server_error(200), 1, True, 1.0),  # a service failure reported with HTTP 200
        (RateLimitError("slow", status=429, retry_after=3), 1, False, 3.0),
        (RateLimitError("slow", status=200), 1, True, 1.0),  # a throttling code on HTTP 200
        (APIConnectionError("cut", request_sent=True), 1, False, None),
        (APIConnectionError("refused", request_sent=False), 1, False, 1.0),
        (APITimeoutError("slow", request_sent=True), 1, True, 1.0),
        (BadRequestError("bad", status=400), 1, True, None),  # not worth another attempt
    ],
)
def test_the_retry_decision(
    error: APIError | TransportError,
    attempt: int,
    idempotent: bool,
    expected: float | None,
) -> None:
    assert Session._retry_delay(error, attempt, JITTERLESS, idempotent) == expected


# -- every wait is bounded by the deadline -----------------------------------------------------


async def test_a_deadline_bounds_the_wait_for_credentials() -> None:
    async with scripted(hang) as server:
        provider = HangingLogin()
        pipeline = Session(server.url, auth=TokenAuth(provider), envelope=PlainEnvelope())
        provider.session = pipeline
        try:
            with pytest.raises(APITimeoutError, match="while credentials were renewed") as info:
                await pipeline.request("GET", "/a", idempotent=True, options={"deadline": 0.2})
        finally:
            await pipeline.aclose()
    assert not info.value.request_sent
    assert [seen.path for seen in server.seen] == ["/login"]  # the call itself never went out


async def test_a_deadline_bounds_the_wait_for_a_connection_slot() -> None:
    async def blob(request: web.Request, server: Server) -> web.StreamResponse:
        if request.path == "/held":
            response = web.StreamResponse()
            await response.prepare(request)
            await server.hang()
            return response
        return ok()

    async with scripted(blob) as server:
        pipeline = session(server.url, pool_size=1)
        try:
            async with pipeline.stream("GET", "/held"):
                with pytest.raises(APITimeoutError, match="waiting for a connection slot"):
                    await pipeline.request("GET", "/a", idempotent=True, options={"deadline": 0.2})
        finally:
            await pipeline.aclose()
    assert [seen.path for seen in server.seen] == ["/held"]
