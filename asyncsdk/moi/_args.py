"""Argument checks and listing helpers shared by the processing resources (workflows, jobs,
volumes, metrics). Everything here raises :class:`InvalidInputError` before anything is sent."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from .._core.errors import InvalidInputError
from .._core.paging import AsyncPaginator, NumberedPaging, PageRequest, PageResult
from .._core.resource import require_id
from .._core.retry import RetryPolicy
from .._core.session import Session

T = TypeVar("T")

# Unpaged listings answer everything at once; one "page" holds it all.
_WHOLE_LISTING = 1 << 30


def path_id(name: str, value: object) -> str:
    """An id for a URL path segment: checked, then percent-encoded so that no id can change
    which path is called (a ``/`` in an id must not reach another endpoint)."""
    return quote(require_id(name, value), safe="")


def text(name: str, value: object, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise InvalidInputError(f"{name} must not be empty")
    return value


def id_list(name: str, values: object, *, allow_empty: bool = False) -> list[str]:
    """A list of ids (strings on the wire, D11). A lone string is refused: iterating it would
    send one id per character."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInputError(f"{name} must be a list of ids, got {type(values).__name__}")
    ids = [require_id(f"{name} item", value) for value in values]
    if not ids and not allow_empty:
        raise InvalidInputError(f"{name} must not be empty")
    return ids


def name_list(name: str, values: object) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInputError(f"{name} must be a list of strings, got {type(values).__name__}")
    return [text(f"{name} item", value) for value in values]


def int_list(name: str, values: object) -> list[int]:
    """Enum values (file types, statuses) as plain ints."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInputError(f"{name} must be a list of integers, got {type(values).__name__}")
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInputError(f"{name} must hold integers (enum values), got {value!r}")
        out.append(int(value))
    return out


def optional_int_list(name: str, values: object) -> list[int] | None:
    return None if values is None else int_list(name, values)


def integer(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an integer, got {value!r}")
    return int(value)


def unpaged(
    session: Session,
    method: str,
    path: str,
    *,
    parse: Callable[[Any], Sequence[T]],
    params: dict[str, Any] | None = None,
    json: Any = None,
    max_items: int | None,
    timeout: float | None,
    retry: RetryPolicy | None,
) -> AsyncPaginator[T]:
    """An :class:`AsyncPaginator` over a listing the service does not page (raw volumes, their
    files, processed volumes): one request answers everything, so every list call has the same
    shape whether or not the service pages it."""

    async def fetch(_: PageRequest) -> PageResult[T]:
        items = await session.request(
            method,
            path,
            params=params,
            json=json,
            idempotent=True,
            parse=parse,
            timeout=timeout,
            retry=retry,
        )
        return PageResult(items, total=len(items), has_more=False)

    return AsyncPaginator(
        fetch,
        NumberedPaging(),
        listing=f"{method} {path} {sorted((params or {}).items())} {json!r}",
        page_size=_WHOLE_LISTING,
        max_items=max_items,
    )


def listing(data: Any, key: str) -> list[Any]:
    """``data[key]`` of a list answer, where null or a missing key means "none"."""
    if not isinstance(data, dict):
        raise TypeError(f"expected an object with {key!r}, got {type(data).__name__}")
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise TypeError(f"{key!r} must be a list, got {type(items).__name__}")
    return items
