"""The base of every service resource (``moi.tasks``, ``mx.datasources``...).

A resource method names its endpoint and its arguments, and nothing else: one of the helpers
here (``_get``, ``_post``, ``_put``, ``_delete``, ``_list``, ``_list_all``, ``_download``)
builds the request, checks the per-call options once and hands them to the session untouched.
Ids reach a path only through :meth:`Resource._path`, which makes each one exactly one path
segment. What a service adds to every call (a user id, a trace header) comes in
through one hook, :meth:`Resource._placement`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar, overload

from attrs import define, field

from . import checks
from .convert import structure
from .download import Download, DownloadSource
from .errors import InvalidInputError
from .options import CallOptions, call_options, page_options, split_page_options
from .paging import (
    AsyncPaginator,
    CursorPaging,
    NumberedPaging,
    PageRequest,
    PageResult,
    _default_key,
)
from .session import Response, Session, encode_params

__all__ = ["PageReader", "Placement", "Resource", "items", "page_reader"]

T = TypeVar("T")
P = TypeVar("P")

# Unpaged listings answer everything at once; one "page" holds it all.
_WHOLE_LISTING = 1 << 30
_PAGING_ONLY = ("page_size", "prefetch", "concurrency", "resume_from")


@define(frozen=True)
class Placement:
    """What a service adds to one call: query parameters, body fields and headers."""

    query: Mapping[str, Any] = field(factory=dict)
    body: Mapping[str, Any] = field(factory=dict)
    headers: Mapping[str, str] = field(factory=dict)


_NOTHING = Placement()


def items(data: Any, key: str) -> list[Any]:
    """``data[key]`` of a list answer, where null or a missing key means "none"."""
    if not isinstance(data, dict):
        raise TypeError(f"expected an object with {key!r}, got {type(data).__name__}")
    found = data.get(key)
    if found is None:
        return []
    if not isinstance(found, list):
        raise TypeError(f"{key!r} must be a list, got {type(found).__name__}")
    return found


@define(frozen=True)
class PageReader(Generic[T]):
    """How a listing's page is read, in two steps: ``locate`` finds the raw items and the
    paging metadata (total, cursor, has_more) in the answer's data, and each item then becomes
    a ``model``. The paginator runs ``locate`` alone as soon as an answer arrives, so the next
    requests go out before this page's models are built (docs/paging.md#concurrent-pages)."""

    model: type[T]
    locate: Callable[[Any], PageResult[Any]]

    def __call__(self, data: Any) -> PageResult[T]:
        found = self.locate(data)
        return PageResult(
            structure(found.items, list[self.model]),  # type: ignore[name-defined]
            total=found.total,
            next_cursor=found.next_cursor,
            has_more=found.has_more,
        )


def page_reader(model: type[T], key: str, *, total: str = "total") -> PageReader[T]:
    """The reader of a numbered page holding ``model`` items under ``key``."""

    def locate(data: Any) -> PageResult[Any]:
        return PageResult(items(data, key), total=data.get(total))

    return PageReader(model, locate)


class Resource(Generic[P]):
    """Base of every service resource; ``P`` is the service's path table."""

    def __init__(self, session: Session, paths: P) -> None:
        self._session = session
        self._paths = paths
        # Whether this service adds nothing to a call without a scope (MOI), so a plain read
        # goes to the session without :meth:`_request`'s checks: one Python call fewer on
        # every ``get`` (docs/performance.md#fanout).
        self._adds_nothing = type(self)._placement is Resource._placement

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    # -- what subclasses may change ----------------------------------------------------------

    def _placement(self, method: str, scope: Any) -> Placement:
        """What the service adds to a call. ``scope`` is what the resource method passed (who the
        call acts for, a trace id...); the base adds nothing and takes none."""
        if scope is not None:
            raise TypeError(f"{type(self).__name__} takes no call scope")
        return _NOTHING

    # -- paths ---------------------------------------------------------------------------------

    @staticmethod
    def _path(template: str, **ids: object) -> str:
        """``template`` with each id put in as exactly one path segment (see
        :func:`checks.path_segment`): the only way an id reaches a path."""
        return template.format(
            **{name: checks.path_segment(name, value) for name, value in ids.items()}
        )

    # -- single calls --------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        options: Mapping[str, Any],
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        form: Callable[[], Any] | None = None,
        parse: Callable[[Any], Any] | None = None,
        absent_ok: bool = False,
        scope: Any = None,
    ) -> Awaitable[Any]:
        """The session's request for this call, to be awaited by the caller (a plain function,
        not a coroutine of its own: one coroutine fewer per call; a bad option still raises
        in the awaiting method)."""
        # Most calls pass no options: nothing to check (the session then uses its defaults).
        checked = call_options(options) if options else None
        place = self._placement(method, scope)
        if place.query:
            params = {**(params or {}), **place.query}
        if place.body and form is None:
            json = {**(json or {}), **place.body}
        return self._session.request(
            method,
            path,
            params=params,
            json=json,
            form=form,
            headers=place.headers or None,
            idempotent=idempotent,
            absent_ok_on_retry=absent_ok,
            parse=parse,
            options=checked,
        )

    def _get(
        self,
        path: str,
        parse: Callable[[Any], T],
        *,
        options: Mapping[str, Any],
        params: Mapping[str, Any] | None = None,
        scope: Any = None,
    ) -> Awaitable[T]:
        """A read: safe to repeat, so retried like any idempotent call. (The session's request,
        for the resource method to await, like :meth:`_request`.)"""
        if not options and scope is None and self._adds_nothing:
            return self._session.request("GET", path, params=params, parse=parse, idempotent=True)
        return self._request(
            "GET", path, params=params, parse=parse, idempotent=True, scope=scope, options=options
        )

    @overload
    async def _post(
        self,
        path: str,
        *,
        idempotent: bool,
        options: Mapping[str, Any],
        parse: Callable[[Any], T],
        json: Any = None,
        form: Callable[[], Any] | None = None,
        absent_ok: bool = False,
        scope: Any = None,
    ) -> T: ...

    @overload
    async def _post(
        self,
        path: str,
        *,
        idempotent: bool,
        options: Mapping[str, Any],
        parse: None = None,
        json: Any = None,
        form: Callable[[], Any] | None = None,
        absent_ok: bool = False,
        scope: Any = None,
    ) -> Any: ...

    async def _post(
        self,
        path: str,
        *,
        idempotent: bool,
        options: Mapping[str, Any],
        parse: Callable[[Any], T] | None = None,
        json: Any = None,
        form: Callable[[], Any] | None = None,
        absent_ok: bool = False,
        scope: Any = None,
    ) -> Any:
        """A POST; ``idempotent`` says whether repeating it is harmless (creates are not)."""
        return await self._request(
            "POST",
            path,
            json=json,
            form=form,
            parse=parse,
            idempotent=idempotent,
            absent_ok=absent_ok,
            scope=scope,
            options=options,
        )

    async def _put(
        self, path: str, *, json: Any, options: Mapping[str, Any], scope: Any = None
    ) -> None:
        """A PUT: it replaces what is there, so repeating it is harmless."""
        await self._request("PUT", path, json=json, idempotent=True, scope=scope, options=options)

    async def _delete(
        self,
        path: str,
        *,
        options: Mapping[str, Any],
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        absent_ok: bool = True,
        scope: Any = None,
    ) -> None:
        """A DELETE: safe to retry, and (``absent_ok``) a repeated attempt that finds the
        record gone means an earlier attempt deleted it."""
        await self._request(
            "DELETE",
            path,
            params=params,
            json=json,
            idempotent=True,
            absent_ok=absent_ok,
            scope=scope,
            options=options,
        )

    # -- listings ------------------------------------------------------------------------------

    def _list(
        self,
        path: str,
        reader: PageReader[T],
        *,
        style: CursorPaging | NumberedPaging,
        options: Mapping[str, Any],
        method: str = "GET",
        params: Mapping[str, Any] | None = None,
        in_body: bool = False,
        scope: Any = None,
        default_page_size: int = 100,
        key: Callable[[Any], Any] | None = _default_key,
    ) -> AsyncPaginator[T]:
        """A paginator over ``method path``: filters (``params``, None values left out) and the
        paging parameters go in the query string, or in the JSON body with ``in_body=True``
        (listings sent as POST). The call options apply to every page request. ``reader``
        finds each page's items and paging metadata, and builds the items' models once the
        next requests are out. ``key`` is an item's identity (its ``id`` by
        default), which keeps numbered listings exact while rows move."""
        call, paging = split_page_options(page_options(options))
        place = self._placement(method, scope)
        fixed = {
            name: value
            for name, value in {**(params or {}), **place.query}.items()
            if value is not None
        }
        headers = place.headers or None
        session = self._session

        async def fetch(request: PageRequest) -> tuple[Response, Any]:
            merged = {**fixed, **style.params(request)}
            return await session.request_raw(
                method,
                path,
                params=None if in_body else merged,
                json=merged if in_body else None,
                headers=headers,
                idempotent=True,
                options=call,
            )

        def parse(answer: tuple[Response, Any]) -> PageResult[T]:
            return session.decode(answer[0], answer[1], reader)

        def peek(answer: tuple[Response, Any]) -> PageResult[Any]:
            return session.decode(answer[0], answer[1], reader.locate)

        # Resume tokens are tied to the endpoint and its filters, so a token from another
        # listing is refused instead of silently skipping the wrong items.
        identity = f"{method} {path} {sorted(encode_params(fixed))}"
        paging.setdefault("page_size", default_page_size)
        return AsyncPaginator(
            fetch,
            style,
            parse=parse,
            peek=peek,
            listing=identity,
            retries=lambda: session.stats.retries,
            call=(method, path),
            key=key,
            **paging,
        )

    def _list_all(
        self,
        path: str,
        parse: Callable[[Any], Sequence[T]],
        *,
        options: Mapping[str, Any],
        method: str = "GET",
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> AsyncPaginator[T]:
        """A listing the service does not page: one request answers everything, behind the
        same paginator as every other listing, so every list call has one shape. Of the paging
        options only ``max_items`` applies; the others are refused rather than ignored."""
        call, paging = split_page_options(page_options(options))
        unused = sorted(name for name in _PAGING_ONLY if paging.get(name) is not None)
        if unused:
            raise InvalidInputError(
                f"this listing is not paged by the service: {', '.join(unused)} "
                "does not apply (max_items does)"
            )
        session = self._session

        async def fetch(_: PageRequest) -> PageResult[T]:
            found = await session.request(
                method,
                path,
                params=params,
                json=json,
                idempotent=True,
                parse=parse,
                options=call,
            )
            return PageResult(found, total=len(found), has_more=False)

        return AsyncPaginator(
            fetch,
            NumberedPaging(),
            listing=f"{method} {path} {sorted((params or {}).items())} {json!r}",
            page_size=_WHOLE_LISTING,
            max_items=paging.get("max_items"),
        )

    # -- downloads -----------------------------------------------------------------------------

    def _download(
        self,
        locate: Callable[[], Awaitable[DownloadSource]],
        *,
        chunk_size: int,
        options: CallOptions,
    ) -> Download:
        """A :class:`Download` that locates its bytes with ``locate`` (an API call, or a path)
        and fetches them under ``options`` (checked already)."""
        return Download(self._session, locate, chunk_size=chunk_size, options=options)
