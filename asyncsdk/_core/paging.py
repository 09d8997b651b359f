"""``AsyncPaginator[T]``: one iterator for every listing, whatever its paging style.

Two styles, both configuration rather than classes of their own:

* :class:`CursorPaging` — an opaque cursor and ``has_more`` (MOI connector files). Pages can only
  be fetched one after another; ``prefetch`` fetches the next ones while the caller works.
* :class:`NumberedPaging` — a page number (or item offset) and a page size, with a ``total``
  (MOI tasks, jobs, workflows; MAXIR data sources). Once the first page tells the total, the
  rest can be fetched ``concurrency`` at a time, and are still yielded in order.

Memory is bounded by the pages in flight (``concurrency + prefetch`` at most), whatever the
listing's size. Breaking out of a loop cancels the fetches under way. ``resume_token`` marks
the position just after the last item handed out; pass it back as ``resume_from=`` to continue
a listing after a crash. Any error raised mid-listing carries that token as ``.resume_token``.

The stop rules follow MOI-API.md §16: a cursor listing ends on ``has_more == false``, an empty
cursor or an empty page; a numbered one when the total is reached, or on a short or empty page.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from attrs import define

from .errors import AsyncSDKError, InvalidInputError

__all__ = [
    "AsyncPaginator",
    "CursorPaging",
    "NumberedPaging",
    "Page",
    "PageRequest",
    "PageResult",
]

T = TypeVar("T")


@define(frozen=True)
class PageRequest:
    """What the paginator asks a listing for: a cursor or a page number, and a page size."""

    page_size: int
    cursor: str | None = None
    page: int | None = None


@define(frozen=True)
class PageResult(Generic[T]):
    """What a listing answered: items, and whatever it says about the rest."""

    items: Sequence[T]
    total: int | None = None
    next_cursor: str | None = None
    has_more: bool | None = None


@define(frozen=True)
class Page(Generic[T]):
    """One page of a listing. Each page is its own object; collected pages stay distinct.

    ``resume_token`` continues the listing after this page (None when it is the last);
    ``number`` is the page number for numbered listings.
    """

    items: tuple[T, ...]
    total: int | None
    resume_token: str | None
    number: int | None = None

    def __len__(self) -> int:
        return len(self.items)


@define(frozen=True)
class CursorPaging:
    """Cursor/has_more paging; the names of the two parameters are configuration."""

    cursor_param: str = "cursor"
    size_param: str = "limit"
    first_cursor: str = ""

    def params(self, request: PageRequest) -> dict[str, Any]:
        return {self.cursor_param: request.cursor, self.size_param: request.page_size}


@define(frozen=True)
class NumberedPaging:
    """Page-number paging (``page``/``page_size``, ``page_num``, ``page_number``...).

    With ``offset=True`` the page parameter carries an item offset instead (``offset``/
    ``limit`` listings), computed from the page number.
    """

    page_param: str = "page"
    size_param: str = "page_size"
    first_page: int = 1
    offset: bool = False

    def params(self, request: PageRequest) -> dict[str, Any]:
        assert request.page is not None
        index = request.page - 1
        value = index * request.page_size if self.offset else index + self.first_page
        return {self.page_param: value, self.size_param: request.page_size}


Style = CursorPaging | NumberedPaging


@define(frozen=True)
class _Position:
    """Where a listing stands: the page to fetch (a cursor, or a 1-based page number) and how
    many of its items were already handed out."""

    ref: str | int
    skip: int = 0


@define
class _Fetched(Generic[T]):
    ref: str | int
    items: Sequence[T]
    total: int | None
    next_ref: str | int | None


_TOKEN_VERSION = 1


def _fingerprint(listing: str) -> str:
    return hashlib.sha256(listing.encode()).hexdigest()[:12]


class AsyncPaginator(Generic[T]):
    """Iterate a listing without thinking about its pages.

    Returned at once (no ``await``) by every ``list``-like call::

        async for task in moi.tasks.list(status=[TaskStatus.RUNNING]):
            ...
        async for page in moi.tasks.list(page_size=100).pages():
            ...
        tasks = await moi.tasks.list(max_items=500).collect()
        newest = await moi.tasks.list(order_by="created_at", descending=True).first()

    Each ``async for`` (or ``pages()``) starts from the beginning, or from ``resume_from``.
    """

    def __init__(
        self,
        fetch: Callable[[PageRequest], Awaitable[Any]],
        style: Style,
        *,
        parse: Callable[[Any], PageResult[T]] | None = None,
        listing: str,
        page_size: int,
        max_items: int | None = None,
        prefetch: int = 0,
        concurrency: int = 1,
        resume_from: str | None = None,
    ) -> None:
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size <= 0:
            raise InvalidInputError(f"page_size must be a positive integer, got {page_size!r}")
        if max_items is not None and (not isinstance(max_items, int) or max_items < 0):
            raise InvalidInputError(f"max_items must be >= 0 or None, got {max_items!r}")
        if not isinstance(prefetch, int) or prefetch < 0:
            raise InvalidInputError(f"prefetch must be >= 0, got {prefetch!r}")
        if not isinstance(concurrency, int) or concurrency < 1:
            raise InvalidInputError(f"concurrency must be >= 1, got {concurrency!r}")
        if concurrency > 1 and isinstance(style, CursorPaging):
            raise InvalidInputError(
                "this listing uses cursor paging, so its pages can only be fetched one after "
                "another: concurrency must be 1 (use prefetch= to fetch ahead)"
            )
        self._fetch = fetch
        # With ``parse``, ``fetch`` returns the raw answer and building the page (CPU work)
        # happens outside the bound on requests in flight, so parsing one page never holds
        # back the request for the next.
        self._parse = parse
        self._style = style
        self._listing = _fingerprint(listing)
        self._page_size = page_size
        self._max_items = max_items
        self._prefetch = prefetch
        self._concurrency = concurrency
        start = self._decode(resume_from) if resume_from else None
        self._start = start or _Position(
            style.first_cursor if isinstance(style, CursorPaging) else 1
        )
        self._position: _Position | None = self._start
        # While items of a page are handed out, the position is kept as (page, count) and only
        # turned into a _Position when asked for: one object per item would cost more than
        # handing the item out.
        self._mark_page: _Fetched[T] | None = None
        self._mark_count = 0

    def __repr__(self) -> str:
        style = "cursor" if isinstance(self._style, CursorPaging) else "numbered"
        return (
            f"<AsyncPaginator {style} page_size={self._page_size} max_items={self._max_items} "
            f"prefetch={self._prefetch} concurrency={self._concurrency}>"
        )

    # -- public API ---------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate_items(self._max_items, self._prefetch, self._concurrency)

    def pages(self) -> AsyncIterator[Page[T]]:
        """Iterate whole pages (``Page[T]``), e.g. to checkpoint after each one."""
        return self._iterate_pages(self._max_items, self._prefetch, self._concurrency)

    async def collect(self) -> list[T]:
        """Every item (up to ``max_items``) in a list. Mind the memory for big listings."""
        return [item async for item in self]

    async def first(self) -> T | None:
        """The first item, or None; fetches a single page."""
        async with contextlib.aclosing(self._iterate_items(1, 0, 1)) as items:
            async for item in items:
                return item
        return None

    @property
    def resume_token(self) -> str | None:
        """Where to continue: just after the last item handed out; None once exhausted."""
        position = self._current_position()
        return None if position is None else self._encode(position)

    def _current_position(self) -> _Position | None:
        page = self._mark_page
        if page is None:
            return self._position
        if self._mark_count < len(page.items):
            return _Position(page.ref, self._mark_count)
        return None if page.next_ref is None else _Position(page.next_ref)

    def _set_position(self, position: _Position | None) -> None:
        self._mark_page = None
        self._position = position

    # -- resume tokens ------------------------------------------------------------------------

    def _encode(self, position: _Position) -> str:
        doc = {
            "v": _TOKEN_VERSION,
            "l": self._listing,
            "r": position.ref,
            "s": position.skip,
            "n": self._page_size,
        }
        raw = json.dumps(doc, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode(self, token: str) -> _Position:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            doc = json.loads(raw)
            version, listing = doc["v"], doc["l"]
            ref, skip, size = doc["r"], int(doc["s"]), int(doc["n"])
        except (ValueError, TypeError, KeyError, AttributeError):
            raise InvalidInputError("resume_from is not a resume token from asyncsdk") from None
        if version != _TOKEN_VERSION:
            raise InvalidInputError(f"resume token version {version} is not supported")
        if listing != self._listing:
            raise InvalidInputError(
                "resume_from belongs to a different listing (other endpoint or filters)"
            )
        cursor_style = isinstance(self._style, CursorPaging)
        if cursor_style != isinstance(ref, str) or skip < 0:
            raise InvalidInputError("resume_from does not match this listing's paging")
        if isinstance(ref, int) and size != self._page_size:
            # Same place in the listing, counted in the new page size.
            offset = (ref - 1) * size + skip
            return _Position(offset // self._page_size + 1, offset % self._page_size)
        return _Position(ref, skip)

    # -- iteration ----------------------------------------------------------------------------

    async def _iterate_items(
        self, max_items: int | None, prefetch: int, concurrency: int
    ) -> AsyncGenerator[T, None]:
        async for fetched, items, offset in self._walk(max_items, prefetch, concurrency):
            self._mark_page = fetched
            consumed = offset
            for item in items:
                # Move the position past the item *before* handing it out: a caller that stops
                # right after it must resume with the next one.
                consumed += 1
                self._mark_count = consumed
                yield item

    async def _iterate_pages(
        self, max_items: int | None, prefetch: int, concurrency: int
    ) -> AsyncIterator[Page[T]]:
        async for fetched, items, offset in self._walk(max_items, prefetch, concurrency):
            if offset + len(items) >= len(fetched.items):
                self._set_position(
                    None if fetched.next_ref is None else _Position(fetched.next_ref)
                )
            else:
                self._set_position(_Position(fetched.ref, offset + len(items)))
            yield Page(
                items=tuple(items),
                total=fetched.total,
                resume_token=self.resume_token,
                number=fetched.ref if isinstance(fetched.ref, int) else None,
            )

    async def _walk(
        self, max_items: int | None, prefetch: int, concurrency: int
    ) -> AsyncIterator[tuple[_Fetched[T], Sequence[T], int]]:
        """Fetched pages in order, each with the slice of items to hand out and its offset."""
        start = self._start
        self._set_position(start)
        if max_items == 0:
            return
        # Items the walk must fetch: the ones to skip at the start plus the ones wanted.
        needed = None if max_items is None else start.skip + max_items
        remaining = max_items
        skip = start.skip
        pages = self._fetch_pages(start.ref, needed, prefetch, concurrency)
        try:
            async for fetched in pages:
                items = fetched.items
                offset = min(skip, len(items))
                skip -= offset
                chunk = items[offset:]
                if remaining is not None:
                    chunk = chunk[:remaining]
                    remaining -= len(chunk)
                if chunk:
                    yield fetched, chunk, offset
                else:
                    # An empty page, or one skipped whole on resume: step over it.
                    self._set_position(
                        None if fetched.next_ref is None else _Position(fetched.next_ref, skip)
                    )
                if remaining == 0:
                    return
        except AsyncSDKError as exc:
            if exc.resume_token is None:
                exc.resume_token = self.resume_token
            raise
        finally:
            await _close(pages)

    def _fetch_pages(
        self, ref: str | int, needed: int | None, prefetch: int, concurrency: int
    ) -> AsyncIterator[_Fetched[T]]:
        if isinstance(ref, str):
            return self._cursor_pages(ref, needed, prefetch)
        return self._numbered_pages(ref, needed, prefetch, concurrency)

    async def _fetch_one(
        self, ref: str | int, limit: asyncio.Semaphore | None = None
    ) -> _Fetched[T]:
        if isinstance(ref, str):
            request = PageRequest(self._page_size, cursor=ref)
        else:
            request = PageRequest(self._page_size, page=ref)
        async with limit if limit is not None else contextlib.nullcontext():
            raw = await self._fetch(request)
        result: PageResult[T] = raw if self._parse is None else self._parse(raw)
        if isinstance(ref, str):
            next_cursor = result.next_cursor
            more = (
                bool(result.items)
                and bool(next_cursor)
                and (result.has_more is None or result.has_more)
            )
            return _Fetched(ref, result.items, result.total, next_cursor if more else None)
        items, total = result.items, result.total
        last = (
            len(items) < self._page_size
            or (total is not None and ref * self._page_size >= total)
            or result.has_more is False
        )
        return _Fetched(ref, items, total, None if last else ref + 1)

    async def _cursor_pages(
        self, cursor: str, needed: int | None, prefetch: int
    ) -> AsyncIterator[_Fetched[T]]:
        if prefetch == 0:
            ref: str | int | None = cursor
            fetched_items = 0
            while ref is not None:
                fetched = await self._fetch_one(ref)
                fetched_items += len(fetched.items)
                yield fetched
                if needed is not None and fetched_items >= needed:
                    return
                ref = fetched.next_ref
            return
        # A producer fetches up to `prefetch` pages ahead of the consumer.
        queue: asyncio.Queue[_Fetched[T] | BaseException | None] = asyncio.Queue(prefetch)

        async def produce() -> None:
            ref: str | int | None = cursor
            fetched_items = 0
            try:
                while ref is not None:
                    fetched = await self._fetch_one(ref)
                    fetched_items += len(fetched.items)
                    await queue.put(fetched)
                    if needed is not None and fetched_items >= needed:
                        break
                    ref = fetched.next_ref
            except Exception as exc:
                await queue.put(exc)
                return
            await queue.put(None)

        producer = asyncio.create_task(produce(), name="asyncsdk-prefetch")
        try:
            while True:
                got = await queue.get()
                if got is None:
                    return
                if isinstance(got, BaseException):
                    raise got
                yield got
        finally:
            await _cancel([producer])

    async def _numbered_pages(
        self, first: int, needed: int | None, prefetch: int, concurrency: int
    ) -> AsyncIterator[_Fetched[T]]:
        window = concurrency + prefetch
        limit = asyncio.Semaphore(concurrency)
        # The last page worth fetching, once known (from max_items now, from the total later).
        last_page = None if needed is None else first + -(-needed // self._page_size) - 1

        async def fetch(number: int) -> _Fetched[T]:
            return await self._fetch_one(number, limit)

        # The first page alone: it tells the total, so no request is wasted past the end.
        head = await self._fetch_one(first)
        if head.next_ref is None:
            yield head
            return
        if head.total is not None:
            pages_total = -(-head.total // self._page_size)
            last_page = pages_total if last_page is None else min(last_page, pages_total)
        if window == 1:
            yield head
            number: int | None = first + 1
            while number is not None and (last_page is None or number <= last_page):
                fetched = await self._fetch_one(number)
                yield fetched
                number = None if fetched.next_ref is None else number + 1
            return
        pending: list[asyncio.Task[_Fetched[T]]] = []
        next_number = first + 1

        def fill() -> None:
            nonlocal next_number
            while len(pending) < window and (last_page is None or next_number <= last_page):
                pending.append(asyncio.create_task(fetch(next_number)))
                next_number += 1

        try:
            # Start the next pages before handing out the first: the caller's work on it
            # overlaps with their fetching.
            fill()
            yield head
            while True:
                fill()
                if not pending:
                    return
                fetched = await pending.pop(0)
                yield fetched
                if fetched.next_ref is None:
                    return
        finally:
            await _cancel(pending)


async def _cancel(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait for them, so nothing outlives the iteration."""
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


async def _close(iterator: AsyncIterator[Any]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        with contextlib.suppress(Exception):
            await aclose()
