"""Streamed downloads: bounded chunks, atomic saves, credentials only for the API's origin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from asyncsdk import APIError, MOIClient
from asyncsdk._core.download import Download, DownloadSource
from asyncsdk.emulator import Emulator

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

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


def download(moi: MOIClient, url: str, chunk_size: int = 64 * 1024) -> Download:
    async def locate() -> DownloadSource:
        return DownloadSource(url, authenticate=True)  # even when asked: not another host

    return Download(moi._session, locate, chunk_size=chunk_size)


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
