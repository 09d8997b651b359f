"""Streamed downloads: bounded chunks, atomic saves, credentials only for the API's origin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web

from asyncsdk import APIConnectionError, APIError, MOIClient, RetryPolicy
from asyncsdk._core.download import Download, DownloadSource
from asyncsdk.emulator import Emulator, Fault
from asyncsdk.emulator._blobs import Blob, pattern

from ._serve import serving

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


@pytest.fixture
async def file_host() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """Another origin serving a file, recording the headers it receives."""
    seen: list[dict[str, str]] = []

    async def serve(request: web.Request) -> web.StreamResponse:
        seen.append(dict(request.headers))
        if request.path == "/missing":
            return web.Response(status=404, text="NoSuchKey")
        return web.Response(body=PAYLOAD, content_type="application/octet-stream")

    async with serving(serve) as url:  # another origin than the API's
        yield url, seen


def download(
    moi: MOIClient, url: str, chunk_size: int = 64 * 1024, retry: RetryPolicy | None = None
) -> Download:
    async def locate() -> DownloadSource:
        return DownloadSource(url, authenticate=True)  # even when asked: not another host

    return Download(moi._session, locate, chunk_size=chunk_size, retry=retry)


async def test_chunks_are_bounded_and_credentials_stay_home(
    moi: MOIClient, file_host: tuple[str, list[dict[str, str]]]
) -> None:
    url, seen = file_host
    sizes = [len(chunk) async for chunk in download(moi, f"{url}/report.pdf")]
    assert sum(sizes) == len(PAYLOAD)
    assert max(sizes) <= 64 * 1024
    assert seen and not {"Access-Token", "uid", "user-id"} & set(seen[0])


async def test_save_writes_atomically(
    moi: MOIClient, file_host: tuple[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    url, _ = file_host
    target = tmp_path / "report.pdf"
    assert await download(moi, f"{url}/report.pdf").save(target) == len(PAYLOAD)
    assert target.read_bytes() == PAYLOAD
    with pytest.raises(APIError) as info:
        await download(moi, f"{url}/missing").save(tmp_path / "missing.pdf")
    assert info.value.status == 404
    assert list(tmp_path.iterdir()) == [target]  # no partial file left behind


async def test_api_hosted_files_get_credentials(emulator: Emulator, moi: MOIClient) -> None:
    # The emulator's own origin is the API: a download from there is authenticated (the list
    # endpoint stands in for an API-hosted file here).
    async def locate() -> DownloadSource:
        return DownloadSource("/connectors/list", authenticate=True)

    body = b"".join([chunk async for chunk in Download(moi._session, locate)])
    assert body.startswith(b'{"code":"OK"')
    assert emulator.stats.unauthorized == 0


# -- resuming a transfer cut part-way --------------------------------------------------------


def blob_link(emu: Emulator, size: int, key: str = "exports/big.bin") -> tuple[str, bytes]:
    """A generated blob on the emulator's blob host, its presigned link, and its bytes."""
    emu.state.blobs.put(key, Blob("big.bin", size))
    block = pattern(key)
    url, _ = emu.state.blobs.presign(key, 600)
    return url, (block * (size // len(block) + 1))[:size]


async def test_a_cut_transfer_resumes_where_it_stopped(emulator: Emulator, moi: MOIClient) -> None:
    url, expected = blob_link(emulator, 3 * 2**20 + 123)
    cut = Fault("cut", path="/_emulator/blobs/", limit=2)
    emulator.inject(cut)
    retries = moi.stats.retries
    body = b"".join([chunk async for chunk in download(moi, url)])
    assert cut.fired == 2
    assert len(body) == len(expected) and body == expected
    requests = list(emulator.state.blobs.requests)
    assert len(requests) == 3 and "range" not in requests[0]
    # Each resumption asks from the first byte not yet received, of the version already
    # half-received (the ETag the host serves for this blob).
    first, second = (int(h["range"].removeprefix("bytes=").rstrip("-")) for h in requests[1:])
    assert 0 < first < second < len(expected)
    async with aiohttp.ClientSession() as http, http.get(url) as plain:
        etag = plain.headers["ETag"]
    assert [h["if-range"] for h in requests[1:]] == [etag, etag]
    assert moi.stats.retries == retries + 2


async def test_save_resumes_into_the_same_file(
    emulator: Emulator, moi: MOIClient, tmp_path: Path
) -> None:
    url, expected = blob_link(emulator, 2 * 2**20)
    emulator.inject(Fault("cut", path="/_emulator/blobs/", limit=1))
    target = tmp_path / "big.bin"
    assert await download(moi, url).save(target) == len(expected)
    assert target.read_bytes() == expected
    assert list(tmp_path.iterdir()) == [target]


async def test_resuming_is_bounded_by_the_retry_policy(
    emulator: Emulator, moi: MOIClient, tmp_path: Path
) -> None:
    url, _ = blob_link(emulator, 2**20)
    emulator.inject(Fault("cut", path="/_emulator/blobs/"))  # every transfer is cut
    two_tries = download(
        moi, url, retry=RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_cap=0.01)
    )
    with pytest.raises(APIConnectionError) as info:
        await two_tries.save(tmp_path / "big.bin")
    assert info.value.path == urlsplit(url).path
    assert "Signature" not in str(info.value)  # the link's signature is a credential
    assert len(emulator.state.blobs.requests) == 2
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


@pytest.fixture
async def cutting_host() -> AsyncIterator[str]:
    """An origin whose first answer per path is cut half-way, and which answers a resume with
    a new version (new ETag, whole body, 200); ``/anonymous`` names no version at all."""
    answered: set[str] = set()

    async def serve(request: web.Request) -> web.StreamResponse:
        first_time = request.path not in answered
        answered.add(request.path)
        headers = {"ETag": '"v2"' if "Range" in request.headers else '"v1"'}
        if request.path == "/anonymous":
            headers = {}
        response = web.StreamResponse(headers=headers)
        response.content_length = len(PAYLOAD)
        await response.prepare(request)
        if first_time:
            await response.write(PAYLOAD[: len(PAYLOAD) // 2])
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write(PAYLOAD)  # ranges are not served: the whole body, status 200
        await response.write_eof()
        return response

    async with serving(serve) as url:  # another origin than the API's
        yield url


async def test_a_version_that_changed_is_not_spliced(
    moi: MOIClient, cutting_host: str, tmp_path: Path
) -> None:
    with pytest.raises(APIConnectionError, match=r"would not resume it \(HTTP 200\)") as info:
        await download(moi, f"{cutting_host}/changed").save(tmp_path / "report.pdf")
    assert info.value.request_sent and info.value.path == "/changed"
    assert list(tmp_path.iterdir()) == []


async def test_a_file_without_a_validator_is_not_resumed(moi: MOIClient, cutting_host: str) -> None:
    received = 0
    with pytest.raises(APIConnectionError, match="named no ETag or Last-Modified"):
        async for chunk in download(moi, f"{cutting_host}/anonymous"):
            received += len(chunk)
    assert 0 < received < len(PAYLOAD)  # what came before the cut was handed out


async def test_the_blob_host_serves_ranges_like_an_object_store(emulator: Emulator) -> None:
    url, expected = blob_link(emulator, 700_000)
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as whole:
            etag = whole.headers["ETag"]
            assert whole.status == 200 and whole.headers["Accept-Ranges"] == "bytes"
            assert await whole.read() == expected
        async with http.get(url, headers={"Range": "bytes=300000-", "If-Range": etag}) as tail:
            assert tail.status == 206
            assert tail.headers["Content-Range"] == "bytes 300000-699999/700000"
            assert await tail.read() == expected[300_000:]
        async with http.get(url, headers={"Range": "bytes=10-19"}) as middle:
            assert middle.status == 206 and await middle.read() == expected[10:20]
        async with http.get(url, headers={"Range": "bytes=5-", "If-Range": '"other"'}) as new:
            assert new.status == 200 and await new.read() == expected  # another version
        async with http.get(url, headers={"Range": "bytes=700000-"}) as beyond:
            assert beyond.status == 416
            assert beyond.headers["Content-Range"] == "bytes */700000"
