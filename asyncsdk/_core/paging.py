"""``AsyncPaginator[T]``: one iterator for every listing, whatever its paging style.

Two styles, both configuration rather than classes of their own:

* :class:`CursorPaging` — an opaque cursor and ``has_more`` (MOI connector files). Pages can only
  be fetched one after another; ``prefetch`` fetches the next ones while the caller works.
* :class:`NumberedPaging` — a page number (or item offset) and a page size, with a ``total``
  (MOI tasks, jobs, workflows; MAXIR data sources). Once the first page tells the total, the
  rest can be fetched ``concurrency`` at a time, and are still yielded in order.

Each iteration (``async for``, ``pages()``, ``collect()``, ``first()``) has its own state, so
two iterations of one paginator never disturb each other. Memory is bounded by the pages in
flight (``concurrency + prefetch`` at most), whatever the listing's size. Breaking out of a loop
cancels the fetches under way. A resume token marks the position just after the last item
handed out; pass it back as ``resume_from=`` to continue a listing after a crash. Any error
raised mid-listing carries that token as ``.resume_token``.

Stop rules, checked on every page whatever the resource (a page whose paging metadata breaks
them raises :class:`PaginationError`, never loops, repeats or truncates silently):

* cursor: the listing ends on ``has_more == false``, an empty cursor, or an empty page (unless
  ``has_more`` is true and a new cursor is given). A cursor seen before in the same iteration
  means the listing cycles: error. A cursor that is not a string: error.
* numbered: ``total``, when given, is authoritative: the listing ends when the pages cover it,
  a short page does not end it (a service that caps the page size is followed page by page),
  and an empty page before the total is reached is an error. Without a total, a short or empty
  page ends it. A page identical to the one before means the service ignores the page number:
  error.
* both: ``has_more`` must be a boolean and ``total`` a non-negative integer when present.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

from attrs import define

from .errors import AsyncSDKError, InvalidInputError, PaginationError

__all__ = [
    "AsyncPaginator",
    "CursorPaging",
    "ListingIterator",
    "ListingProgress",
    "NumberedPaging",
    "Page",
    "PageRequest",
    "PageResult",
]

T = TypeVar("T")
X = TypeVar("X")


@define(frozen=True)
class PageRequest:
    """What the paginator asks a listing for: a cursor or a page number, and a page size.

    ``offset`` is the item offset of the page's first item (numbered listings), counted in the
    page size the service actually serves, which may be smaller than ``page_size`` when the
    service caps it.
    """

    page_size: int
    cursor: str | None = None
    page: int | None = None
    offset: int | None = None


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
class ListingProgress:
    """Where one pass over a listing stands, given to an ``on_progress`` callback after each
    page's items were handed out.

    ``items`` and ``pages`` count what this pass handed out; ``retries`` the attempts the
    client repeated while the pass ran (all its calls, not only this listing's: the client's
    own counter); ``elapsed`` the seconds since the pass started.
    """

    items: int
    pages: int
    retries: int
    elapsed: float


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
        if self.offset:
            value = index * request.page_size if request.offset is None else request.offset
        else:
            value = index + self.first_page
        return {self.page_param: value, self.size_param: request.page_size}


Style = CursorPaging | NumberedPaging


@define(frozen=True)
class _Position:
    """Where a listing stands: the page to fetch (a cursor, or a 1-based page number) and how
    many of its items were already handed out."""

    ref: str | int
    skip: int = 0
    #: Digests of the last items handed out before the position (oldest first): how a
    #: numbered listing finds its place again when rows moved (see ``_numbered_pages``).
    anchors: tuple[str, ...] = ()


@define(frozen=True)
class _Bounds:
    """What a token says beyond the position: the last page of a shard (inclusive; None for
    "to the end") and the page size the service served when it capped ours (None if not)."""

    end: int | None = None
    served: int | None = None


@define
class _Fetched(Generic[T]):
    """One fetched page, its metadata checked. With ``peek``, ``raw`` is built into ``items``
    later, by the consumer, so building models never holds back the next request.
    ``next_ref`` is decided by the fetch loop, which sees the pages in order."""

    ref: str | int
    raw: Any
    items: Sequence[T] | None
    count: int
    meta: PageResult[Any]
    next_ref: str | int | None = None
    #: Items at the front of the page not to hand out (already handed out: a resume's skip,
    #: or rows that slid over the boundary when the listing moved).
    skip: int = 0
    #: Anchors of the items handed out just before this page's first one (oldest first).
    before: tuple[str, ...] = ()
    #: How many requests of its pass had been sent when this page's answer arrived: those
    #: may have been served before it, so their answers tell whether rows moved before it.
    seen: int = 0

    @property
    def total(self) -> int | None:
        return self.meta.total


_TOKEN_VERSION = 1
#: Anchors a resume token carries: enough to survive several deleted neighbours, short enough
#: to keep tokens small (11 characters each).
_TOKEN_ANCHORS = 8
#: Pages fetched, around where the position was, to find it again after the listing moved.
_RELOCATE_PAGES = 3
#: Relocations in a row that hand out nothing new before a pass gives up (with a token).
_STUCK_LIMIT = 8


def _default_key(item: Any) -> Any:
    """An item's identity: its ``id`` attribute, or its ``"id"`` entry for raw mappings."""
    if isinstance(item, dict):
        return item.get("id")
    return getattr(item, "id", None)


def _digest(key: Any) -> str:
    """A short, stable digest of an item key: what anchors hold (tokens stay compact and say
    nothing readable about the items)."""
    raw = hashlib.blake2b(str(key).encode(), digest_size=8).digest()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _fingerprint(listing: str) -> str:
    return hashlib.sha256(listing.encode()).hexdigest()[:12]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_result(result: object, ref: str | int) -> PageResult[Any]:
    """The page's paging metadata, refused with :class:`PaginationError` when mistyped."""
    where = f"page {ref}" if isinstance(ref, int) else "cursor page"
    if not isinstance(result, PageResult):
        raise PaginationError(f"{where}: the listing's page parser returned {type(result)!r}")
    if not isinstance(result.items, (list, tuple)):
        raise PaginationError(
            f"{where}: the page's items are a {type(result.items).__name__}, not a list"
        )
    if result.total is not None and (not _is_int(result.total) or result.total < 0):
        raise PaginationError(
            f"{where}: total must be a non-negative integer, got {result.total!r}"
        )
    if result.has_more is not None and not isinstance(result.has_more, bool):
        raise PaginationError(f"{where}: has_more must be true or false, got {result.has_more!r}")
    if result.next_cursor is not None and not isinstance(result.next_cursor, str):
        raise PaginationError(
            f"{where}: the cursor must be a string, got {type(result.next_cursor).__name__} "
            f"{result.next_cursor!r}; following it would restart the listing"
        )
    return result


class _Iteration:
    """The state of one pass over a listing: where it stands, where its shard ends, and the
    page size the service serves. One per ``async for`` / ``pages()`` / ``first()``."""

    def __init__(self, owner: AsyncPaginator[Any], start: _Position, bounds: _Bounds) -> None:
        self.owner = owner
        self.start = start
        self.end = bounds.end
        # The page size the service serves: ours, unless it capped it (seen on page 1).
        self.served = bounds.served or owner._page_size
        self.position: _Position | None = start
        # While items of a page are handed out, the position is kept as (page, count) and only
        # turned into a _Position when asked for: one object per item would cost more than
        # handing the item out.
        self.mark_page: _Fetched[Any] | None = None
        self.mark_count = 0

    def current(self) -> _Position | None:
        page = self.mark_page
        if page is None:
            return self.position
        anchors = self.owner._anchors_upto(page, self.mark_count)
        if self.mark_count < page.count:
            return _Position(page.ref, self.mark_count, anchors)
        return None if page.next_ref is None else _Position(page.next_ref, 0, anchors)

    def set(self, position: _Position | None) -> None:
        self.mark_page = None
        self.position = position

    @property
    def token(self) -> str | None:
        position = self.current()
        return None if position is None else self.owner._encode(position, self.bounds())

    def bounds(self) -> _Bounds:
        served = None if self.served == self.owner._page_size else self.served
        return _Bounds(self.end, served)


class ListingIterator(AsyncIterator[X]):
    """The iterator of one pass over a listing (what ``async for`` and ``pages()`` use).

    ``resume_token`` is this pass's position: just after the last item (or page) handed out,
    None once the listing (or the shard) is exhausted.
    """

    def __init__(self, generator: AsyncGenerator[X, None], state: _Iteration) -> None:
        self._generator = generator
        self._state = state

    def __aiter__(self) -> ListingIterator[X]:
        return self

    def __anext__(self) -> Awaitable[X]:
        # The generator's own awaitable, not a coroutine around it: one frame less per item.
        return self._generator.__anext__()

    def aclose(self) -> Awaitable[None]:
        return self._generator.aclose()

    @property
    def resume_token(self) -> str | None:
        return self._state.token


class AsyncPaginator(Generic[T]):
    """Iterate a listing without thinking about its pages.

    Returned at once (no ``await``) by every ``list``-like call::

        async for task in moi.tasks.list(status=[TaskStatus.RUNNING]):
            ...
        async for page in moi.tasks.list(page_size=100).pages():
            ...
        tasks = await moi.tasks.list(max_items=500).collect()
        newest = await moi.tasks.list(order_by="created_at", descending=True).first()

    Each ``async for`` (or ``pages()``, ``collect()``) is its own pass, starting from the
    beginning or from ``resume_from``; its iterator has its own ``resume_token``.
    ``paginator.resume_token`` is the token of the last pass started by ``async for``,
    ``pages()`` or ``collect()`` (``first()`` and ``shards()`` are lookups and leave it alone);
    before any pass it is the starting position.

    ``parse`` turns what ``fetch`` returned into a :class:`PageResult`. ``peek``, when given,
    reads only the paging metadata from the same raw answer (a :class:`PageResult` whose items
    may be the raw, unbuilt items: only their number and equality are used); ``parse`` then
    builds the items after the next request is already out. ``peek`` and ``parse`` must agree
    on the items' number and order.

    :meth:`shards` splits a numbered listing into page ranges to iterate elsewhere;
    :meth:`with_progress` (or ``on_progress=``) reports each pass page by page, reading
    ``retries`` (the client's retry counter) and ``clock`` for its figures. ``call`` (method,
    path) names the listing in the :class:`PaginationError` it raises.

    ``key`` (item -> hashable) names an item's identity: by default its ``id`` attribute (or
    ``"id"`` entry); it always sees the items ``parse`` built. A numbered
    listing uses it to stay exact while rows are created and deleted under it: when the
    ``total`` changes it finds its position again by the keys of the last items it handed
    out, and its resume tokens carry a few of them (see ``docs/paging.md``). ``key=None``
    turns that off. ``drift_requests`` counts the extra requests this costs.
    """

    def __init__(
        self,
        fetch: Callable[[PageRequest], Awaitable[Any]],
        style: Style,
        *,
        parse: Callable[[Any], PageResult[T]] | None = None,
        peek: Callable[[Any], PageResult[Any]] | None = None,
        listing: str,
        page_size: int,
        max_items: int | None = None,
        prefetch: int = 0,
        concurrency: int = 1,
        resume_from: str | None = None,
        on_progress: Callable[[ListingProgress], object] | None = None,
        retries: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
        call: tuple[str, str] | None = None,
        key: Callable[[Any], Any] | None = _default_key,
    ) -> None:
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size <= 0:
            raise InvalidInputError(f"page_size must be a positive integer, got {page_size!r}")
        if max_items is not None and (not _is_int(max_items) or max_items < 0):
            raise InvalidInputError(f"max_items must be >= 0 or None, got {max_items!r}")
        if not _is_int(prefetch) or prefetch < 0:
            raise InvalidInputError(f"prefetch must be >= 0, got {prefetch!r}")
        if not _is_int(concurrency) or concurrency < 1:
            raise InvalidInputError(f"concurrency must be >= 1, got {concurrency!r}")
        if concurrency > 1 and isinstance(style, CursorPaging):
            raise InvalidInputError(
                "this listing uses cursor paging, so its pages can only be fetched one after "
                "another: concurrency must be 1 (use prefetch= to fetch ahead)"
            )
        if peek is not None and parse is None:
            raise InvalidInputError("peek= needs parse= to build the items")
        if on_progress is not None and not callable(on_progress):
            raise InvalidInputError(f"on_progress must be callable, got {on_progress!r}")
        if key is not None and not callable(key):
            raise InvalidInputError(f"key must be callable or None, got {key!r}")
        # An item's identity, for finding the position again when a numbered listing moves.
        self._key = key
        #: Requests this paginator's passes made beyond one per page because the listing moved
        #: under them: pages fetched to find the position again, and pages fetched and dropped.
        self.drift_requests = 0
        self._on_progress = on_progress
        self._retries = retries
        self._clock = clock
        # The listing's method and path, named in the paginator's own errors.
        self._call = call
        self._fetch = fetch
        self._parse = parse
        self._peek = peek
        self._style = style
        self._listing = _fingerprint(listing)
        self._page_size = page_size
        self._max_items = max_items
        self._prefetch = prefetch
        self._concurrency = concurrency
        self._bounds = _Bounds()
        start = self._decode(resume_from) if resume_from else None
        self._start = start or _Position(
            style.first_cursor if isinstance(style, CursorPaging) else 1
        )
        self._last: _Iteration | None = None

    def __repr__(self) -> str:
        style = "cursor" if isinstance(self._style, CursorPaging) else "numbered"
        return (
            f"<AsyncPaginator {style} page_size={self._page_size} max_items={self._max_items} "
            f"prefetch={self._prefetch} concurrency={self._concurrency}>"
        )

    # -- public API ---------------------------------------------------------------------------

    def with_progress(
        self, on_progress: Callable[[ListingProgress], object] | None
    ) -> AsyncPaginator[T]:
        """Call ``on_progress(ListingProgress)`` after each page's items were handed out, in
        every later pass (None stops it). Returns the paginator, so it chains::

            async for f in moi.connectors.files(cid).with_progress(bar.update):
                ...
        """
        if on_progress is not None and not callable(on_progress):
            raise InvalidInputError(f"on_progress must be callable, got {on_progress!r}")
        self._on_progress = on_progress
        return self

    def __aiter__(self) -> ListingIterator[T]:
        state = self._begin(remember=True)
        generator = self._iterate_items(state, self._max_items, self._prefetch, self._concurrency)
        return ListingIterator(generator, state)

    def pages(self) -> ListingIterator[Page[T]]:
        """Iterate whole pages (``Page[T]``), e.g. to checkpoint after each one."""
        state = self._begin(remember=True)
        generator = self._iterate_pages(state, self._max_items, self._prefetch, self._concurrency)
        return ListingIterator(generator, state)

    async def collect(self) -> list[T]:
        """Every item (up to ``max_items``) in a list. Mind the memory for big listings."""
        return [item async for item in self]

    async def first(self) -> T | None:
        """The first item, or None; fetches a single page. Leaves ``resume_token`` alone."""
        state = self._begin(remember=False)
        async with contextlib.aclosing(self._iterate_items(state, 1, 0, 1)) as items:
            async for item in items:
                return item
        return None

    @property
    def resume_token(self) -> str | None:
        """Where the last pass started by ``async for``, ``pages()`` or ``collect()`` stands:
        just after the last item it handed out; None once it exhausted the listing. Before any
        pass, the starting position."""
        if self._last is None:
            return self._encode(self._start, self._bounds)
        return self._last.token

    async def shards(self, n: int) -> list[str]:
        """Split the listing into at most ``n`` shards, as tokens to iterate anywhere.

        Each token is opaque, serialisable (a short ASCII string) and tied to this listing
        like a resume token: ``resume_from=token`` on the same list call (same filters) yields
        exactly that shard's items, in order, and the pass's ``resume_token`` taken mid-shard
        continues within the shard (None once the shard is done). Together the shards yield
        the listing from this paginator's start, each item once; the last shard runs to the end
        of the listing, so items appended meanwhile are not lost.

        Numbered listings are split into page ranges, which needs the total: this fetches the
        starting page once (one request) and raises :class:`InvalidInputError` if the service
        gives no total. A cursor cannot be split: for a cursor listing ``n`` must be 1 (one
        token for the whole listing); shard such listings by connector or directory instead.
        A shard's tokens fix the page size: iterating one uses the page size it was cut with.
        """
        if not _is_int(n) or n < 1:
            raise InvalidInputError(f"shards(n): n must be an integer >= 1, got {n!r}")
        if self._max_items is not None:
            raise InvalidInputError(
                "shards() splits the whole listing: create the paginator without max_items"
            )
        if isinstance(self._style, CursorPaging):
            if n == 1:
                return [self._encode(self._start, self._bounds)]
            raise InvalidInputError(
                "this listing pages by cursor, and one cursor cannot be split into shards: "
                "use shards(1), or shard by connector or directory (one listing each)"
            )
        state = self._begin(remember=False)
        first = self._start.ref
        assert isinstance(first, int)
        head = await self._fetch_one(state, first)
        state.served = _served(first, head.count, head.total, state.served)
        if head.total is None:
            raise InvalidInputError(
                "this listing does not report a total, so it cannot be split into page ranges"
            )
        last = max(first, -(-head.total // state.served))
        if state.end is not None:
            last = min(last, state.end)
        count = last - first + 1
        n = min(n, count)
        tokens = []
        begin = first
        for index in range(n):
            size = count // n + (1 if index < count % n else 0)
            end = begin + size - 1
            # The last shard stays open-ended (unless this paginator is itself bounded), so
            # rows added after the split are still listed by someone.
            bound = end if index < n - 1 else state.end
            skip = self._start.skip if index == 0 else 0
            tokens.append(
                self._encode(_Position(begin, skip), _Bounds(bound, state.bounds().served))
            )
            begin = end + 1
        return tokens

    # -- resume tokens ------------------------------------------------------------------------

    def _encode(self, position: _Position, bounds: _Bounds) -> str:
        doc: dict[str, Any] = {
            "v": _TOKEN_VERSION,
            "l": self._listing,
            "r": position.ref,
            "s": position.skip,
            "n": self._page_size,
        }
        if bounds.end is not None:
            doc["e"] = bounds.end
        if bounds.served is not None:
            doc["c"] = bounds.served
        if position.anchors:
            doc["a"] = list(position.anchors)
        raw = json.dumps(doc, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _decode(self, token: str) -> _Position:
        if not isinstance(token, str):
            raise InvalidInputError("resume_from must be a resume token string")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            doc = json.loads(raw)
            version, listing = doc["v"], doc["l"]
            ref, skip, size = doc["r"], doc["s"], doc["n"]
            end, served = doc.get("e"), doc.get("c")
            anchors = tuple(doc.get("a", ()))
        except (ValueError, TypeError, KeyError, AttributeError):
            raise InvalidInputError("resume_from is not a resume token from asyncsdk") from None
        if version != _TOKEN_VERSION:
            raise InvalidInputError(f"resume token version {version!r} is not supported")
        if listing != self._listing:
            raise InvalidInputError(
                "resume_from belongs to a different listing (other endpoint or filters)"
            )
        cursor_style = isinstance(self._style, CursorPaging)
        numbers = [skip, size] + ([] if cursor_style else [ref])
        if (
            cursor_style != isinstance(ref, str)
            or not all(_is_int(v) for v in numbers)
            or skip < 0
            or size < 1
            or (not cursor_style and ref < 1)
            or any(v is not None and (not _is_int(v) or v < 1) for v in (end, served))
            or len(anchors) > _TOKEN_ANCHORS
            or not all(isinstance(a, str) and 0 < len(a) <= 16 for a in anchors)
        ):
            raise InvalidInputError("resume_from does not match this listing's paging")
        if end is not None:
            # A shard is cut in pages of one size: iterate it in that size.
            self._page_size = size
        self._bounds = _Bounds(end, served)
        if isinstance(ref, int) and size != self._page_size:
            # Same place in the listing, counted in the new page size.
            offset = (ref - 1) * (served or size) + skip
            self._bounds = _Bounds()
            return _Position(offset // self._page_size + 1, offset % self._page_size, anchors)
        return _Position(ref, skip, anchors)

    def _digests(self, items: Sequence[Any]) -> list[str]:
        key = self._key
        if key is None:
            return []
        return [_digest(k) for k in map(key, items) if k is not None]

    def _anchors_upto(self, page: _Fetched[Any], count: int) -> tuple[str, ...]:
        """The anchors of a position ``count`` items into ``page``: digests of the last items
        handed out before it (computed only when a token is asked for, or once per page)."""
        if self._key is None or not isinstance(page.ref, int):
            return ()
        start = max(page.skip, count - _TOKEN_ANCHORS)
        tail = self._digests(self._items(page)[start:count]) if count > start else []
        return (*page.before, *tail)[-_TOKEN_ANCHORS:]

    # -- iteration ----------------------------------------------------------------------------

    def _begin(self, *, remember: bool) -> _Iteration:
        state = _Iteration(self, self._start, self._bounds)
        if remember:
            self._last = state
        return state

    async def _iterate_items(
        self, state: _Iteration, max_items: int | None, prefetch: int, concurrency: int
    ) -> AsyncGenerator[T, None]:
        async for fetched, items, offset in self._walk(state, max_items, prefetch, concurrency):
            state.mark_page = fetched
            consumed = offset
            for item in items:
                # Move the position past the item *before* handing it out: a caller that stops
                # right after it must resume with the next one.
                consumed += 1
                state.mark_count = consumed
                yield item

    async def _iterate_pages(
        self, state: _Iteration, max_items: int | None, prefetch: int, concurrency: int
    ) -> AsyncGenerator[Page[T], None]:
        async for fetched, items, offset in self._walk(state, max_items, prefetch, concurrency):
            upto = offset + len(items)
            anchors = self._anchors_upto(fetched, upto)
            if upto >= fetched.count:
                state.set(
                    None if fetched.next_ref is None else _Position(fetched.next_ref, 0, anchors)
                )
            else:
                state.set(_Position(fetched.ref, upto, anchors))
            yield Page(
                items=tuple(items),
                total=fetched.total,
                resume_token=state.token,
                number=fetched.ref if isinstance(fetched.ref, int) else None,
            )

    def _items(self, fetched: _Fetched[T]) -> Sequence[T]:
        if fetched.items is None:
            assert self._parse is not None
            items = _check_result(self._parse(fetched.raw), fetched.ref).items
            if len(items) != fetched.count:
                raise PaginationError(
                    f"the listing's peek saw {fetched.count} item(s) but parse built {len(items)}"
                )
            fetched.raw = None
            fetched.items = items
        return fetched.items

    async def _walk(
        self, state: _Iteration, max_items: int | None, prefetch: int, concurrency: int
    ) -> AsyncIterator[tuple[_Fetched[T], Sequence[T], int]]:
        """Fetched pages in order, each with the slice of items to hand out and its offset."""
        start = state.start
        if max_items == 0:
            return
        # Items the walk must fetch: the ones to skip at the start plus the ones wanted.
        needed = None if max_items is None else start.skip + max_items
        remaining = max_items
        # A numbered fetch loop applies the start's skip itself (``_Fetched.skip``).
        skip = start.skip if isinstance(start.ref, str) else 0
        if isinstance(start.ref, str):
            pages = self._cursor_pages(state, start.ref, needed)
        else:
            pages = self._numbered_pages(state, start.ref, needed, concurrency)
        if prefetch:
            pages = _read_ahead(pages, prefetch)
        report = self._on_progress
        counter = self._retries
        started = self._clock()
        retries_before = counter() if counter is not None else 0
        handed = pages_done = 0
        try:
            async for fetched in pages:
                items = self._items(fetched)
                offset = min(fetched.skip + skip, len(items))
                skip -= min(skip, len(items))
                chunk = items[offset:]
                if remaining is not None:
                    chunk = chunk[:remaining]
                    remaining -= len(chunk)
                if chunk:
                    yield fetched, chunk, offset
                else:
                    # An empty page, or one skipped whole on resume: step over it.
                    anchors = self._anchors_upto(fetched, fetched.count)
                    state.set(
                        None
                        if fetched.next_ref is None
                        else _Position(fetched.next_ref, skip, anchors)
                    )
                # Here the consumer has taken the whole page (it asked for more).
                if report is not None:
                    pages_done += 1
                    handed += len(chunk)
                    retried = counter() - retries_before if counter is not None else 0
                    report(ListingProgress(handed, pages_done, retried, self._clock() - started))
                if remaining == 0:
                    return
        except AsyncSDKError as exc:
            if exc.resume_token is None:
                exc.resume_token = state.token
            if isinstance(exc, PaginationError) and exc.method is None and self._call:
                exc.method, exc.path = self._call
            raise
        finally:
            await _close(pages)

    async def _fetch_one(self, state: _Iteration, ref: str | int) -> _Fetched[T]:
        """Fetch one page and check its paging metadata (read with ``peek`` when given, so
        the items are not built here)."""
        if isinstance(ref, str):
            request = PageRequest(self._page_size, cursor=ref)
        else:
            request = PageRequest(self._page_size, page=ref, offset=(ref - 1) * state.served)
        raw = await self._fetch(request)
        if self._peek is not None:
            meta = _check_result(self._peek(raw), ref)
            return _Fetched(ref, raw, None, len(meta.items), meta)
        result = _check_result(raw if self._parse is None else self._parse(raw), ref)
        return _Fetched(ref, None, result.items, len(result.items), result)

    async def _cursor_pages(
        self, state: _Iteration, cursor: str, needed: int | None
    ) -> AsyncIterator[_Fetched[T]]:
        """The cursor fetch loop: one page after another, each cursor checked."""
        seen = {cursor}
        ref: str | None = cursor
        fetched_items = 0
        while ref is not None:
            fetched = await self._fetch_one(state, ref)
            meta = fetched.meta
            next_cursor = meta.next_cursor
            more = bool(next_cursor) and meta.has_more is not False
            if fetched.count == 0 and meta.has_more is not True:
                more = False
            if more:
                assert next_cursor is not None
                if next_cursor in seen:
                    raise PaginationError(
                        f"the listing repeats: a cursor came back after {len(seen)} page(s), "
                        "so following it would list the same items again"
                    )
                seen.add(next_cursor)
                fetched.next_ref = ref = next_cursor
            else:
                ref = None
            fetched_items += fetched.count
            yield fetched
            if needed is not None and fetched_items >= needed:
                return

    async def _numbered_pages(
        self, state: _Iteration, first: int, needed: int | None, concurrency: int
    ) -> AsyncIterator[_Fetched[T]]:
        """The numbered fetch loop: the first page alone (it tells the total, so no request
        goes past the end), then up to ``concurrency`` pages in flight, handed out in order,
        each checked against the one before.

        With a ``key``, the loop also keeps its place while rows are created and deleted: a
        page answered with another ``total`` than the one the position was verified against
        (or any answer received since with another total) means rows moved, so before handing
        that page out it fetches the page where its last handed-out items should be (and the
        neighbouring pages), finds the newest of them still listed, and goes on right after it,
        dropping the pages in flight. A pass resumed from a token with anchors starts that way.
        """
        previous: Sequence[Any] = ()
        total: int | None = None
        # Items this loop has given out to hand out (skipped ones not counted).
        handed = 0
        last_ref = first
        tracking = self._key is not None
        # The total the position was last verified against.
        baseline: int | None = None
        # The pages given out last (at most two) and the anchors before them: where to look
        # for the position when the listing moved.
        recent: list[_Fetched[T]] = []
        start_anchors = state.start.anchors if tracking else ()
        # After a relocation the next page may start with rows handed out already (the
        # newest anchors, when the one found ended its page): drop them.
        dedup_next: int | None = None
        # Relocations in a row that handed out nothing new (a listing that never settles).
        stuck = 0
        handed_then = -1

        def last_page() -> int | None:
            """The last page worth requesting, as far as is known now."""
            bounds = [] if state.end is None else [state.end]
            if total is not None:
                bounds.append(max(1, -(-total // state.served)))
            if needed is not None:
                missing = max(0, needed - handed)
                bounds.append(last_ref + -(-missing // state.served))
            return min(bounds) if bounds else None

        def advance(fetched: _Fetched[T]) -> None:
            nonlocal previous, total, last_ref
            meta, ref, count = fetched.meta, fetched.ref, fetched.count
            assert isinstance(ref, int)
            if count and meta.items == previous:
                raise PaginationError(
                    f"page {ref} repeats page {ref - 1}: the service seems to ignore the page "
                    "number, so the listing would never advance"
                )
            previous = meta.items
            total = meta.total
            state.served = _served(ref, count, total, state.served)
            last_ref = ref
            covered = (ref - 1) * state.served + count
            if (state.end is not None and ref >= state.end) or meta.has_more is False:
                done = True
            elif total is not None:
                if count == 0 and covered < total:
                    raise PaginationError(
                        f"page {ref} is empty although the total ({total}) says "
                        f"{total - covered} more item(s) remain"
                    )
                done = covered >= total
            elif count == 0:
                if meta.has_more is True:
                    raise PaginationError(
                        f"page {ref} is empty although has_more says more items remain"
                    )
                done = True
            else:
                done = count < state.served and meta.has_more is not True
            fetched.next_ref = None if done else ref + 1

        def give(fetched: _Fetched[T]) -> _Fetched[T]:
            """Record ``fetched`` as given out (its anchors, the items it hands out)."""
            nonlocal handed, dedup_next
            if tracking:
                if dedup_next == fetched.ref:
                    dedup_next = None
                    seen = set(known())
                    digests = self._digests(self._items(fetched))
                    hits = [n for n, d in enumerate(digests) if d in seen]
                    if hits:
                        fetched.skip = max(fetched.skip, hits[-1] + 1)
                if recent:
                    fetched.before = self._anchors_upto(recent[-1], recent[-1].count)
                else:
                    fetched.before = start_anchors
                recent.append(fetched)
                del recent[:-2]
            handed += max(0, fetched.count - fetched.skip)
            return fetched

        def known() -> list[str]:
            """Digests of the items handed out last (up to two pages' worth), oldest first."""
            digests = list(recent[0].before if recent else start_anchors)
            for page in recent:
                digests += self._digests(self._items(page)[page.skip : page.count])
            return digests

        def position() -> int:
            """The offset, in the listing as last verified, just after the last item given."""
            if not recent:
                return (first - 1) * state.served + state.start.skip
            page = recent[-1]
            assert isinstance(page.ref, int)
            return (page.ref - 1) * state.served + page.count

        async def relocate(
            suspect: _Fetched[T] | None, reuse: bool
        ) -> tuple[_Fetched[T], _Fetched[T] | None]:
            """Find the position again by the anchors: the page holding the newest one, with
            ``skip`` just past it, and the page to give after it when ``suspect`` (the page
            that showed the change) can be kept."""
            nonlocal previous, baseline, dedup_next, stuck, handed_then
            moved_total = None if suspect is None else suspect.total
            stuck = stuck + 1 if handed == handed_then else 0
            handed_then = handed
            if stuck >= _STUCK_LIMIT:
                raise PaginationError(
                    f"the listing changed {stuck + 1} times in a row before the pass could "
                    f"hand out one more item (total {baseline} -> {moved_total}); resume from "
                    "the error's resume token once it is quieter"
                )
            anchors = known()
            where = set(anchors)

            def found(fetched: _Fetched[T]) -> bool:
                nonlocal previous, baseline, dedup_next
                hits = [n for n, d in enumerate(self._digests(self._items(fetched))) if d in where]
                if anchors and not hits:
                    return False
                fetched.skip = hits[-1] + 1 if hits else 0
                previous = ()
                advance(fetched)
                baseline = fetched.total
                # The newest anchors may open the next page, when the one found ends this one.
                assert isinstance(fetched.ref, int)
                dedup_next = fetched.ref + 1
                return True

            # Rows inserted before the position push the anchors into the page that showed
            # the change: found there, it costs nothing.
            if reuse and suspect is not None and found(suspect):
                return suspect, None
            offset = position()
            # The page holding the last item handed out, then its neighbours, nearest first in
            # the direction the rows moved (deletions pull the anchors back).
            home = max(1, (offset - 1) // state.served + 1) if offset else 1
            back, ahead = [home - 1, home - 2], [home + 1]
            grew = moved_total is not None and baseline is not None and moved_total > baseline
            tried: list[int] = []
            for ref in [home, *(ahead + back if grew else back + ahead)]:
                if ref < 1 or ref in tried or len(tried) >= _RELOCATE_PAGES:
                    continue
                if state.end is not None and ref > state.end:
                    continue
                tried.append(ref)
                self.drift_requests += 1
                fetched = await self._fetch_one(state, ref)
                if not found(fetched):
                    continue
                # The suspect page follows this one and was served with the same total, and so
                # was every other answer since: no change came between the two, so it is the
                # next page as it stands; otherwise it is fetched again.
                if (
                    reuse
                    and suspect is not None
                    and suspect.total == fetched.total
                    and fetched.next_ref == suspect.ref
                ):
                    suspect.skip = 0
                    return fetched, suspect
                if suspect is not None:
                    self.drift_requests += 1
                return fetched, None
            raise PaginationError(
                f"the listing moved while it was read (total {baseline} -> {moved_total}) and "
                f"none of the last {len(anchors)} item(s) handed out is on pages "
                f"{', '.join(map(str, tried))} any more, so the position cannot be found "
                "again; resume from the error's resume token once the listing is quieter"
            )

        if start_anchors:
            # A resumed pass: check where the token's items are now before handing any out.
            head, carry = await relocate(None, False)
        else:
            head, carry = await self._fetch_one(state, first), None
            head.skip = state.start.skip
            advance(head)
            baseline = head.total
        if head.next_ref is None:
            yield give(head)
            return
        pending: list[tuple[int, asyncio.Task[_Fetched[T]]]] = []
        assert isinstance(head.ref, int)
        next_number = head.ref + 1
        sent = in_flight = 0
        width = concurrency
        # Off while the pass relocates (it decides itself what goes out) and once it ends.
        sending = True

        async def fetch(ref: int) -> _Fetched[T]:
            nonlocal in_flight
            try:
                fetched = await self._fetch_one(state, ref)
            finally:
                in_flight -= 1
            fetched.seen = sent
            # The window slides with the answers, not with the caller: the next request goes
            # out as soon as this answer is in, even while earlier pages still wait to be
            # handed out (for the answers sent before theirs) or to have their models built.
            # One page at a time (``width`` 1) stays in step with the caller, and a page that
            # looks like the last one sends nothing: there the caller's loop decides.
            if width > 1 and fetched.count >= state.served and fetched.meta.has_more is not False:
                send()
            return fetched

        def send() -> None:
            """Keep ``width`` requests in flight, with at most ``2 * width`` pages held in all
            (answered ones waiting to be handed out included), so a slow caller bounds
            memory."""
            nonlocal sent, in_flight, next_number
            if not sending:
                return
            bound = last_page()
            while (
                in_flight < width
                and len(pending) < 2 * width
                and (bound is None or next_number <= bound)
            ):
                sent += 1
                in_flight += 1
                pending.append((sent, asyncio.create_task(fetch(next_number))))
                next_number += 1

        async def settle(fetched: _Fetched[T]) -> None:
            """Wait for the answers to requests sent before ``fetched``'s answer arrived:
            served perhaps before it, they may show a change it does not (a row created and
            another deleted between two pages leave the total as it was)."""
            if tracking:
                earlier = [task for index, task in pending if index < fetched.seen]
                if earlier:
                    await asyncio.wait(earlier)

        def moved(fetched: _Fetched[T]) -> bool:
            """Whether an answer received so far says the listing changed since the baseline."""

            def differs(total: int | None) -> bool:
                # A page without a total says nothing about rows moving.
                return total is not None and baseline is not None and total != baseline

            if differs(fetched.total):
                return True
            return any(
                task.done()
                and not task.cancelled()
                and task.exception() is None
                and differs(task.result().total)
                for _, task in pending
            )

        try:
            # As for every page below: the next requests go out before the caller gets it.
            give(head)
            send()
            yield head
            while True:
                if carry is not None:
                    fetched, carry = carry, None
                    advance(fetched)
                else:
                    send()
                    if not pending:
                        return
                    fetched = await pending.pop(0)[1]
                    await settle(fetched)
                    # Without anchors (no key on these items) there is nothing to look for.
                    if tracking and moved(fetched) and (known() or not handed):
                        # The pages in flight are dropped (counted as sent); their answers are
                        # awaited, not cancelled, so no request of the pass is served unseen
                        # while it looks for its place.
                        self.drift_requests += len(pending)
                        sending = False
                        answers = await asyncio.gather(
                            *(t for _, t in pending), return_exceptions=True
                        )
                        pending.clear()
                        # Served perhaps after this page, an answer with another total means
                        # rows moved after it too: then it cannot be trusted to relocate.
                        steady = all(
                            isinstance(a, BaseException) or a.total == fetched.total
                            for a in answers
                        )
                        fetched, carry = await relocate(fetched, steady)
                        # Pages in flight together are where changes hide best: start again
                        # one at a time, widening as pages come back unchanged.
                        width, sending = 1, True
                        assert isinstance(fetched.ref, int)
                        next_number = fetched.ref + (2 if carry is not None else 1)
                    else:
                        advance(fetched)
                        width = min(concurrency, width * 2)
                        if fetched.next_ref is not None:
                            # The next request goes out now, not after the caller has worked
                            # through this page: sent after every answer this page waited for,
                            # it holds up none of the pages already in.
                            give(fetched)
                            send()
                            yield fetched
                            continue
                yield give(fetched)
                if fetched.next_ref is None:
                    return
        finally:
            sending = False
            await _cancel([task for _, task in pending])


def _served(ref: int, count: int, total: int | None, served: int) -> int:
    """The page size the service serves: a first page short of a total that says more means
    the service caps the page size, and numbers its pages (and offsets) in its own size."""
    if ref == 1 and total is not None and 0 < count < served and count < total:
        return count
    return served


async def _read_ahead(source: AsyncIterator[X], depth: int) -> AsyncGenerator[X, None]:
    """``source``'s values, with a task fetching up to ``depth`` of them ahead of the
    consumer: the next request is in flight while the consumer builds and handles a page."""
    queue: asyncio.Queue[tuple[X] | BaseException | None] = asyncio.Queue(depth)

    async def produce() -> None:
        try:
            async for value in source:
                await queue.put((value,))
        except Exception as exc:
            await queue.put(exc)
            return
        finally:
            await _close(source)
        await queue.put(None)

    producer = asyncio.create_task(produce(), name="asyncsdk-prefetch")
    try:
        while True:
            got = await queue.get()
            if got is None:
                return
            if isinstance(got, BaseException):
                raise got
            yield got[0]
    finally:
        await _cancel([producer])


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
