"""What every service resource shares: its session, and the one way to build a listing."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from .paging import (
    AsyncPaginator,
    CursorPaging,
    NumberedPaging,
    PageRequest,
    PageResult,
    _default_key,
)
from .retry import RetryPolicy
from .session import Response, Session, encode_params

__all__ = ["Resource"]

T = TypeVar("T")

# Unpaged listings answer everything at once; one "page" holds it all.
_WHOLE_LISTING = 1 << 30


class Resource:
    """Base of every service resource (``moi.tasks``, ``mx.datasources``...)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def _paginate(
        self,
        method: str,
        path: str,
        *,
        style: CursorPaging | NumberedPaging,
        parse_page: Callable[[Any], PageResult[T]],
        peek_page: Callable[[Any], PageResult[Any]] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        in_body: bool = False,
        page_size: int,
        max_items: int | None,
        prefetch: int,
        concurrency: int,
        resume_from: str | None,
        timeout: float | None,
        retry: RetryPolicy | None,
        key: Callable[[Any], Any] | None = _default_key,
    ) -> AsyncPaginator[T]:
        """A paginator over ``method path``; the paging parameters go in the query string, or
        in the JSON body with ``in_body=True`` (MOI's POST listings). ``headers`` go with every
        page (the pages are one logical call, e.g. under one trace id). ``peek_page`` reads
        only the paging metadata from the data, so the next page is requested before
        ``parse_page`` builds this one's models. ``key`` is an item's identity (its ``id`` by
        default), which keeps numbered listings exact while rows move."""
        fixed = {key: value for key, value in (params or {}).items() if value is not None}
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
                timeout=timeout,
                retry=retry,
            )

        def parse(answer: tuple[Response, Any]) -> PageResult[T]:
            return session.decode(answer[0], answer[1], parse_page)

        def peek(answer: tuple[Response, Any]) -> PageResult[Any]:
            assert peek_page is not None
            return session.decode(answer[0], answer[1], peek_page)

        # Resume tokens are tied to the endpoint and its filters, so a token from another
        # listing is refused instead of silently skipping the wrong items.
        identity = f"{method} {path} {sorted(encode_params(fixed))}"
        return AsyncPaginator(
            fetch,
            style,
            parse=parse,
            peek=None if peek_page is None else peek,
            retries=lambda: session.stats.retries,
            call=(method, path),
            key=key,
            listing=identity,
            page_size=page_size,
            max_items=max_items,
            prefetch=prefetch,
            concurrency=concurrency,
            resume_from=resume_from,
        )

    def _unpaged(
        self,
        method: str,
        path: str,
        *,
        parse: Callable[[Any], Sequence[T]],
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        max_items: int | None,
        timeout: float | None,
        retry: RetryPolicy | None,
    ) -> AsyncPaginator[T]:
        """An :class:`AsyncPaginator` over a listing the service does not page (MOI's raw
        volumes, their files, processed volumes): one request answers everything, so every
        list call has the same shape whether or not the service pages it."""
        session = self._session

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
