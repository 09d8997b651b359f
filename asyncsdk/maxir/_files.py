"""Reading a file to upload, off the event loop."""

from __future__ import annotations

import os

import anyio

from .._core.errors import InvalidInputError

__all__ = ["FileContent", "read_content"]

#: What ``upload_file`` accepts: the bytes themselves, or a path.
FileContent = bytes | bytearray | memoryview | str | os.PathLike[str]


async def read_content(file: FileContent, filename: str | None) -> tuple[bytes, str]:
    """The bytes to upload and the file name they go under."""
    if isinstance(file, (bytes, bytearray, memoryview)):
        if filename is None:
            raise InvalidInputError("filename= is required when uploading bytes")
        return bytes(file), filename
    if isinstance(file, (str, os.PathLike)):
        path = anyio.Path(os.fspath(file))
        try:
            content = await path.read_bytes()
        except OSError as exc:
            raise InvalidInputError(f"cannot read {os.fspath(file)!r}: {exc.strerror}") from exc
        return content, filename if filename is not None else path.name
    raise InvalidInputError(f"file must be bytes or a path, got {type(file).__name__}")
