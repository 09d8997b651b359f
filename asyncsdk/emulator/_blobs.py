"""File bytes behind presigned links (MOI raw-volume downloads, MAXIR presigned data sources).

The links point at a second origin, the emulator's *blob port*, as real presigned URLs point at
an object store rather than the API host: a client that leaks its API key or token to that
origin is caught, because the headers every blob request carries are recorded. Links are signed
(HMAC) and expire; content is generated on the fly and streamed, so a 1 GB file costs no memory.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from typing import Any
from urllib.parse import quote

from aiohttp import web
from attrs import define

_CHUNK = 256 * 1024


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
        response = web.StreamResponse(
            headers={
                "Content-Type": blob.content_type,
                "Content-Disposition": f'attachment; filename="{blob.name}"',
            }
        )
        response.content_length = blob.size if blob.data is None else len(blob.data)
        await response.prepare(request)
        for chunk in _chunks(key, blob):
            await response.write(chunk)
        await response.write_eof()
        return response


def _chunks(key: str, blob: Blob) -> Any:
    if blob.data is not None:
        for start in range(0, len(blob.data), _CHUNK):
            yield blob.data[start : start + _CHUNK]
        return
    block = pattern(key)
    left = blob.size
    while left > 0:
        piece = block if left >= _CHUNK else block[:left]
        left -= len(piece)
        yield piece


def _denied(reason: str) -> web.Response:
    return web.Response(status=403, text=f"AccessDenied: {reason}", content_type="text/plain")


def setup(app: web.Application, host: BlobHost) -> None:
    app.router.add_get("/_emulator/blobs/{key}", host.serve)
