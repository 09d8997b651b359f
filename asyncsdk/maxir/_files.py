"""Reading a file to upload, off the event loop."""

from __future__ import annotations

import mimetypes
import os

import anyio

from .._core.errors import InvalidInputError

__all__ = ["FileContent", "content_type", "read_content"]

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


def content_type(name: str) -> str:
    """The upload part's content type, from the file name's extension (``report.pdf`` ->
    ``application/pdf``), as Powerdrill's own clients send it; ``application/octet-stream``
    when the extension says nothing.

    The service's own extensions are fixed here, because ``mimetypes`` reads the machine's
    tables and differs between systems and Python versions (``.md`` is unknown to some).
    """
    extension = os.path.splitext(name)[1].lower().lstrip(".")
    known = _TYPES.get(extension)
    if known is not None:
        return known
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"


_TYPES = {
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "md": "text/markdown",
    "mdx": "text/markdown",
    "json": "application/json",
    "txt": "text/plain",
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
