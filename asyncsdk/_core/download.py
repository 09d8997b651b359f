"""Downloads in bounded memory: iterate a file's chunks, or save it to disk.

A resource returns a :class:`Download` at once; nothing is fetched until it is iterated or
saved. Where the file lives is resolved first (``locate``: often an API call that returns a
presigned link), then the bytes are streamed ``chunk_size`` at a time, so a 1 GB file never sits
in memory. Credentials go only to the API's own origin (see ``Session.stream``).

Each (re)open is one call through the session's pipeline (``Session.stream``): credentials
for the API's origin only, a 401 renewed and replayed, throttling, connection slots, retries
before the first byte. A transfer cut part-way is resumed, not restarted: the file is located
again (a presigned link may have expired meanwhile) and asked for from the first byte not yet
handed out, with ``Range`` and an ``If-Range`` naming the version already half-received, so the
bytes can only be continued from the same object. The retry policy bounds how many times
(``max_attempts``) and paces them (its backoff). A server that cannot resume (no validator, or
it answers anything but the matching ``206``) ends the download with the transport error.

While its body is read, a download holds one of the client's ``pool_size`` connection slots,
like any call (so it never takes the connections kept for logins and refreshes).

Downloads ask for ``Accept-Encoding: identity``: ``Range`` counts the bytes as stored, so the
bytes received must be the stored ones, not a decompressed rendering of them. A server that
encodes the body anyway still serves the download, but a cut transfer of it is not resumed
(the offset would not line up): the error says so.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import aiohttp
import anyio
from attrs import define, field

from .errors import APIConnectionError, InvalidInputError, TransportError
from .options import CallOptions
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
        options: CallOptions | None = None,
    ) -> None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
            raise InvalidInputError(f"chunk_size must be an integer > 0, got {chunk_size!r}")
        self._session = session
        self._locate = locate
        self._chunk_size = chunk_size
        self._options = CallOptions(**(options or {}))
        if timeout is not None:
            self._options.setdefault("timeout", timeout)
        if retry is not None:
            self._options.setdefault("retry", retry)

    def __repr__(self) -> str:
        return f"<Download chunk_size={self._chunk_size}>"

    async def __aiter__(self) -> AsyncIterator[bytes]:
        policy = self._options.get("retry", self._session.retry)
        received = 0  # bytes handed out so far: where a resumed transfer starts
        validator: str | None = None  # the version being received (ETag or Last-Modified)
        resumes = 0
        encoded: str | None = None  # a Content-Encoding the server used although not asked to
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
                    headers=_request_headers(received, validator),
                    authenticate=source.authenticate,
                    options=self._options,
                ) as response:
                    if received:
                        _check_resumed(response, received, source.method)
                    else:
                        validator = _validator(response.headers)
                        encoded = _encoding(response.headers)
                    streaming = True
                    async for chunk in response.content.iter_chunked(self._chunk_size):
                        received += len(chunk)
                        yield chunk
                return
            except TransportError as exc:
                resumes += 1
                if not streaming or resumes >= policy.max_attempts:
                    raise
                if received and encoded is not None:
                    raise APIConnectionError(
                        f"{exc.message}; cannot resume after {received} bytes: the server sent "
                        f"the file encoded ({encoded}) although asked not to, so a byte range "
                        "would not line up with the bytes received",
                        request_sent=True,
                        method=exc.method,
                        path=exc.path,
                    ) from exc
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
                await self._session.sleep(delay)

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


def _encoding(headers: Mapping[str, str]) -> str | None:
    """The body's content coding, when it is not the stored bytes themselves."""
    coding = headers.get("Content-Encoding", "").strip().lower()
    return None if coding in ("", "identity") else coding


def _request_headers(received: int, validator: str | None) -> dict[str, str]:
    """The stored bytes (no content coding, so ranges count them), from ``received`` on when
    resuming the version ``validator`` names."""
    headers = {"Accept-Encoding": "identity"}
    if received and validator is not None:  # None: refused before resuming, see __aiter__
        headers.update({"Range": f"bytes={received}-", "If-Range": validator})
    return headers


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
