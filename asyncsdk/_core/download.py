"""Downloads in bounded memory: iterate a file's chunks, or save it to disk.

A resource returns a :class:`Download` at once; nothing is fetched until it is iterated or
saved. Where the file lives is resolved first (``locate``: often an API call that returns a
presigned link), then the bytes are streamed ``chunk_size`` at a time, so a 1 GB file never sits
in memory. Credentials go only to the API's own origin (see ``Session.stream``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
from attrs import define, field

from .retry import RetryPolicy
from .session import Session

__all__ = ["Download", "DownloadSource"]


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
        source = await self._locate()
        async with self._session.stream(
            source.method,
            source.target,
            params=source.params,
            authenticate=source.authenticate,
            timeout=self._timeout,
            retry=self._retry,
        ) as response:
            async for chunk in response.content.iter_chunked(self._chunk_size):
                yield chunk

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
