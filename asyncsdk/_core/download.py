"""Downloads in bounded memory: iterate a file's chunks, or save it to disk.

A resource returns a :class:`Download` at once; nothing is fetched until it is iterated or
saved. Where the file lives is resolved first (``locate``: often an API call that returns a
presigned link), then the bytes are streamed ``chunk_size`` at a time, so a 1 GB file never sits
in memory. Credentials go only to the API's own origin (see ``Session.stream``).

A transfer cut part-way is resumed, not restarted: the file is located again (a presigned link
may have expired meanwhile) and asked for from the first byte not yet handed out, with
``Range`` and an ``If-Range`` naming the version already half-received, so the bytes can only
be continued from the same object. The retry policy bounds how many times (``max_attempts``)
and paces them (its backoff). A server that cannot resume (no validator, or it answers
anything but the matching ``206``) ends the download with the transport error.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import aiohttp
import anyio
from attrs import define, field

from .errors import APIConnectionError, TransportError
from .retry import RetryPolicy
from .session import Session

__all__ = ["Download", "DownloadSource"]

logger = logging.getLogger("asyncsdk.http")


@define(frozen=True)
class DownloadSource:
    """Where the bytes are: an API path (sent with credentials) or an absolute URL (never)."""

    target: str
    method: str = "GET"
    authenticate: bool = True
    params: dict[str, object] = field(factory=dict)


class Download:
    """A file to fetch::

    async for chunk in moi.volumes.raw.download(volume_id, file_id):
        sink.write(chunk)
    size = await moi.volumes.raw.download(volume_id, file_id).save("report.pdf")
    """

    def __init__(
        self,
        session: Session,
        locate: Callable[[], Awaitable[DownloadSource]],
        *,
        chunk_size: int = 1 << 20,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if chunk_size <= 0:
            raise ValueError(f"chunk_size must be > 0, got {chunk_size}")
        self._session = session
        self._locate = locate
        self._chunk_size = chunk_size
        self._timeout = timeout
        self._retry = retry

    def __repr__(self) -> str:
        return f"<Download chunk_size={self._chunk_size}>"

    async def __aiter__(self) -> AsyncIterator[bytes]:
        policy = self._retry or self._session.retry
        received = 0  # bytes handed out so far: where a resumed transfer starts
        validator: str | None = None  # the version being received (ETag or Last-Modified)
        resumes = 0
        while True:
            source = await self._locate()
            # Failures before the body starts are retried by the session; only a transfer
            # cut part-way (``streaming``) is resumed here.
            streaming = False
            try:
                async with self._session.stream(
                    source.method,
                    source.target,
                    params=source.params,
                    headers=_resume_headers(received, validator),
                    authenticate=source.authenticate,
                    timeout=self._timeout,
                    retry=self._retry,
                ) as response:
                    if received:
                        _check_resumed(response, received, source.method)
                    else:
                        validator = _validator(response.headers)
                    streaming = True
                    async for chunk in response.content.iter_chunked(self._chunk_size):
                        received += len(chunk)
                        yield chunk
                return
            except TransportError as exc:
                resumes += 1
                if not streaming or resumes >= policy.max_attempts:
                    raise
                if received and validator is None:
                    raise APIConnectionError(
                        f"{exc.message}; cannot resume after {received} bytes: the server "
                        "named no ETag or Last-Modified to resume the same version from",
                        request_sent=True,
                        method=exc.method,
                        path=exc.path,
                    ) from exc
                delay = policy.backoff(resumes)
                self._session.stats.retries += 1
                logger.debug(
                    "%s %s: transfer cut after %d bytes (%s); resuming in %.3f s",
                    exc.method,
                    exc.path,
                    received,
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)

    async def save(self, path: str | os.PathLike[str]) -> int:
        """Write the file to ``path`` and return its size in bytes.

        Bytes go to ``<path>.part`` first and are renamed into place when complete, so a failed
        download never leaves a truncated file under the final name.
        """
        final = anyio.Path(path)
        partial = final.with_name(final.name + ".part")
        written = 0
        try:
            async with await anyio.open_file(partial, "wb") as sink:
                async for chunk in self:
                    await sink.write(chunk)
                    written += len(chunk)
            await partial.replace(final)
        except BaseException:
            with anyio.CancelScope(shield=True):  # clean up even when cancelled
                await partial.unlink(missing_ok=True)
            raise
        return written


def _validator(headers: Mapping[str, str]) -> str | None:
    """What ``If-Range`` may name to resume this version: a strong ETag, or else Last-Modified
    (weak ETags are not allowed there, RFC 9110 13.1.5); None when the server offers neither
    or says it serves no ranges."""
    if headers.get("Accept-Ranges", "").strip().lower() == "none":
        return None
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified")


def _resume_headers(received: int, validator: str | None) -> dict[str, str] | None:
    """Nothing for a first transfer (or a restart before any byte was handed out)."""
    if not received or validator is None:  # None: refused before resuming, see __aiter__
        return None
    return {"Range": f"bytes={received}-", "If-Range": validator}


def _check_resumed(response: aiohttp.ClientResponse, received: int, method: str) -> None:
    """A resumed answer must continue the same bytes: 206 from exactly ``received``. A 200
    means the object changed (If-Range failed) or ranges are not served: what was already
    handed out cannot be taken back, so the download ends here."""
    content_range = response.headers.get("Content-Range", "")
    if response.status == 206 and content_range.startswith(f"bytes {received}-"):
        return
    raise APIConnectionError(
        f"transfer cut after {received} bytes, and the server would not resume it "
        f"(HTTP {response.status}{', ' + content_range if content_range else ''}): "
        "the file changed or ranges are not served; download it again",
        request_sent=True,
        method=method,
        path=response.url.path,
    )
