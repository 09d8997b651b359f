"""File bytes behind presigned links (MOI raw-volume downloads, MAXIR presigned data sources).

The links point at a second origin, the emulator's *blob port*, as real presigned URLs point at
an object store rather than the API host: a client that leaks its API key or token to that
origin is caught, because the headers every blob request carries are recorded. Links are signed
(HMAC) and expire; content is generated on the fly and streamed, so a 1 GB file costs no memory.
Like an object store, the host answers ``Range: bytes=N-`` with 206 and a strong ``ETag`` that
``If-Range`` can name, so an interrupted download can resume where it stopped.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections import deque
from collections.abc import Iterator
from urllib.parse import quote

from aiohttp import web
from attrs import define

from .faults import CUT_BODY, drop_connection

_CHUNK = 256 * 1024
#: The one Range form the host serves (as most clients send it): ``bytes=FIRST-[LAST]``.
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


@define
class Blob:
    name: str
    size: int
    content_type: str = "application/octet-stream"
    #: Fixed content; when None, ``size`` bytes of a deterministic pattern are generated.
    data: bytes | None = None


def pattern(key: str) -> bytes:
    """The repeating 256 KiB block a generated blob is made of (tests can rebuild the bytes)."""
    seed = hashlib.sha256(key.encode()).digest()
    return (seed * (_CHUNK // len(seed) + 1))[:_CHUNK]


class BlobHost:
    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self.blobs: dict[str, Blob] = {}
        #: Headers of every blob request, lower-cased names (to check no credential arrives).
        self.requests: deque[dict[str, str]] = deque(maxlen=1000)
        self.origin = ""  # set once the blob port is listening

    def put(self, key: str, blob: Blob) -> None:
        self.blobs[key] = blob

    def presign(self, key: str, expires_in: float) -> tuple[str, float]:
        """A signed URL for ``key`` and its expiry (epoch seconds)."""
        expires = int(time.time() + expires_in)
        signature = self._sign(key, expires)
        url = f"{self.origin}/_emulator/blobs/{quote(key, safe='')}?Expires={expires}"
        return f"{url}&Signature={signature}", expires

    def _sign(self, key: str, expires: int) -> str:
        return hmac.new(self._key, f"{key}:{expires}".encode(), hashlib.sha256).hexdigest()

    async def serve(self, request: web.Request) -> web.StreamResponse:
        self.requests.append({k.lower(): v for k, v in request.headers.items()})
        key = request.match_info["key"]
        try:
            expires = int(request.query.get("Expires", ""))
        except ValueError:
            return _denied("missing or malformed Expires")
        if not hmac.compare_digest(request.query.get("Signature", ""), self._sign(key, expires)):
            return _denied("signature does not match")
        if time.time() >= expires:
            return _denied("link expired")
        blob = self.blobs.get(key)
        if blob is None:
            return web.Response(status=404, text="NoSuchKey", content_type="text/plain")
        size = blob.size if blob.data is None else len(blob.data)
        etag = f'"{hashlib.sha256(f"{key}:{size}".encode()).hexdigest()[:32]}"'
        headers = {
            "Content-Type": blob.content_type,
            "Content-Disposition": f'attachment; filename="{blob.name}"',
            "Accept-Ranges": "bytes",
            "ETag": etag,
        }
        first, last = 0, size - 1
        wanted = request.headers.get("Range")
        if_range = request.headers.get("If-Range")
        status = 200
        # A Range whose If-Range names another version is ignored: the whole (new) object.
        if wanted is not None and (if_range is None or if_range == etag):
            match = _RANGE.fullmatch(wanted.strip())
            if match is not None:
                first = int(match[1])
                last = min(int(match[2]), size - 1) if match[2] else size - 1
                if first >= size or first > last:
                    return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
                status = 206
                headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = last + 1 - first
        # A "cut" fault: half of the announced bytes, then a closed socket.
        cut_at = response.content_length // 2 if CUT_BODY in request.headers else None
        await response.prepare(request)
        sent = 0
        for chunk in _chunks(key, blob, first, last + 1):
            if cut_at is not None and sent + len(chunk) > cut_at:
                await response.write(chunk[: cut_at - sent])
                drop_connection(request)
                return response
            await response.write(chunk)
            sent += len(chunk)
        await response.write_eof()
        return response


def _chunks(key: str, blob: Blob, start: int, stop: int) -> Iterator[bytes]:
    """Bytes ``start`` to ``stop`` (exclusive) of the blob, at most 256 KiB at a time."""
    if blob.data is not None:
        for offset in range(start, stop, _CHUNK):
            yield blob.data[offset : min(offset + _CHUNK, stop)]
        return
    block = pattern(key)
    offset = start
    while offset < stop:
        within = offset % _CHUNK  # the generated content repeats every _CHUNK bytes
        piece = block[within : within + min(_CHUNK - within, stop - offset)]
        offset += len(piece)
        yield piece


def _denied(reason: str) -> web.Response:
    return web.Response(status=403, text=f"AccessDenied: {reason}", content_type="text/plain")


def setup(app: web.Application, host: BlobHost) -> None:
    app.router.add_get("/_emulator/blobs/{key}", host.serve)
