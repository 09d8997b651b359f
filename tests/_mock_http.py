"""aioresponses, made to work with aiohttp 3.14.

aiohttp 3.14 added a required ``stream_writer`` argument to ``ClientResponse``; aioresponses
0.7.9 does not pass it yet (pnuckowski/aioresponses#289, fix pending in #288). aiohttp only reads
``stream_writer.output_size`` from it, so a response class that supplies a stand-in is enough.
Remove this module once an aioresponses release supports aiohttp 3.14.
"""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any, Self

from aiohttp import ClientResponse
from aioresponses import aioresponses

_NEEDS_WRITER = "stream_writer" in inspect.signature(ClientResponse.__init__).parameters


class _CompatResponse(ClientResponse):
    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        if _NEEDS_WRITER and "stream_writer" not in kwargs:
            kwargs["stream_writer"] = SimpleNamespace(output_size=0)
        super().__init__(method, url, **kwargs)


class MockHTTP(aioresponses):
    """aioresponses whose mocked answers build with the installed aiohttp."""

    def __enter__(self) -> Self:  # typed: aioresponses' own says it returns the base class
        super().__enter__()
        return self

    def add(self, url: Any, method: str = "GET", *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("response_class", _CompatResponse)
        super().add(url, method, *args, **kwargs)
