"""What the MAXIR resources share: the default ``user_id``, trace ids, checks, listings."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from attrs import define

from .._core import checks
from .._core.convert import structure
from .._core.errors import DecodeError, InvalidInputError
from .._core.paging import AsyncPaginator, NumberedPaging, PageResult
from .._core.resource import Resource
from .._core.retry import RetryPolicy
from .._core.session import Session
from .paths import MaxirPaths

__all__ = [
    "ALLOWED_EXTENSIONS",
    "EXTERNAL_TRACE_ID_HEADER",
    "MAX_NAME_LENGTH",
    "MAX_SEARCH_LENGTH",
    "MAX_TRACE_ID_LENGTH",
    "MIN_PRESIGN_SECONDS",
    "MaxirContext",
    "MaxirResource",
    "check_file_name",
    "check_user_id",
]

T = TypeVar("T")

#: Optional request header naming the caller's own trace id (MAXIR-API.md §2.3).
EXTERNAL_TRACE_ID_HEADER = "x-pd-external-trace-id"
MAX_TRACE_ID_LENGTH = 128
MAX_NAME_LENGTH = 128
MAX_SEARCH_LENGTH = 128
MIN_PRESIGN_SECONDS = 60

#: The 13 extensions a data source file may have (MAXIR list, §3.2 and §6 #18).
ALLOWED_EXTENSIONS = frozenset(
    {"csv", "tsv", "md", "mdx", "json", "txt", "pdf", "pptx", "ppt", "doc", "docx", "xls", "xlsx"}
)

_PAGING = NumberedPaging(page_param="page_number", size_param="page_size", first_page=1)


@define(frozen=True)
class MaxirContext:
    """Per-client settings every resource reads."""

    paths: MaxirPaths
    user_id: str | None


def check_user_id(value: object, *, what: str = "user_id") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{what} must be a non-empty string")
    if not value.isprintable():
        raise InvalidInputError(f"{what} must not contain control characters")
    return value.strip()


def check_file_name(name: object, *, what: str = "name") -> str:
    """A data source file name: 1–128 characters, ending in one of the allowed extensions.

    Rejected here rather than left to the service: it would truncate a longer name (§6 #16),
    cutting off the extension it then insists on.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"{what} must be a non-empty string (a file name such as 'q3.csv')")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInputError(
            f"{what} is {len(name)} characters long; at most {MAX_NAME_LENGTH} are allowed"
        )
    if not name.isprintable():
        raise InvalidInputError(f"{what} must not contain control characters")
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem.strip() or extension.lower() not in ALLOWED_EXTENSIONS:
        allowed = ", ".join(sorted(ALLOWED_EXTENSIONS))
        raise InvalidInputError(
            f"{what} {name!r} must end in one of the supported extensions: {allowed}"
        )
    return name


def _trace_headers(trace_id: str | None) -> dict[str, str] | None:
    if trace_id is None:
        return None
    if not isinstance(trace_id, str) or not trace_id:
        raise InvalidInputError("trace_id must be a non-empty string")
    if len(trace_id) > MAX_TRACE_ID_LENGTH:
        raise InvalidInputError(
            f"trace_id is {len(trace_id)} characters long; "
            f"at most {MAX_TRACE_ID_LENGTH} are allowed"
        )
    # A header value: printable ASCII only (a newline would otherwise fail inside aiohttp).
    if not all(" " <= ch <= "~" for ch in trace_id):
        raise InvalidInputError("trace_id must be printable ASCII (no control characters)")
    return {EXTERNAL_TRACE_ID_HEADER: trace_id}


class MaxirResource(Resource):
    """Base of ``mx.datasets`` and ``mx.datasources``."""

    def __init__(self, session: Session, context: MaxirContext) -> None:
        super().__init__(session)
        self._context = context

    @property
    def _paths(self) -> MaxirPaths:
        return self._context.paths

    def _user(self, user_id: str | None) -> str:
        """The call's ``user_id``, or the client's default."""
        if user_id is not None:
            return check_user_id(user_id)
        if self._context.user_id is None:
            raise InvalidInputError(
                "user_id is required: pass user_id= to MaxirClient, or to this call"
            )
        return self._context.user_id

    @staticmethod
    def _trace(trace_id: str | None) -> dict[str, str] | None:
        return _trace_headers(trace_id)

    @staticmethod
    def _path(template: str, **ids: object) -> str:
        return template.format(**{name: checks.path_id(name, value) for name, value in ids.items()})

    async def _get(
        self,
        path: str,
        model: type[T],
        *,
        user_id: str | None,
        trace_id: str | None,
        timeout: float | None,
        retry: RetryPolicy | None,
    ) -> T:
        """A single-record GET: ``user_id`` in the query, as MAXIR's GETs want it."""
        result: T = await self._session.request(
            "GET",
            path,
            params={"user_id": self._user(user_id)},
            headers=self._trace(trace_id),
            idempotent=True,
            parse=lambda data: structure(data, model),
            timeout=timeout,
            retry=retry,
        )
        return result

    async def _delete(
        self,
        path: str,
        *,
        user_id: str | None,
        trace_id: str | None,
        timeout: float | None,
        retry: RetryPolicy | None,
    ) -> None:
        """A DELETE: safe to retry, and a repeated attempt that finds the record gone means an
        earlier one deleted it."""
        await self._session.request(
            "DELETE",
            path,
            json={"user_id": self._user(user_id)},  # MAXIR's DELETEs carry a JSON body (§6 #7)
            headers=self._trace(trace_id),
            idempotent=True,
            absent_ok_on_retry=True,
            timeout=timeout,
            retry=retry,
        )

    def _list(
        self,
        path: str,
        *,
        item_type: type[T],
        params: Mapping[str, Any],
        headers: Mapping[str, str] | None,
        page_size: int,
        max_items: int | None,
        prefetch: int,
        concurrency: int,
        resume_from: str | None,
        timeout: float | None,
        retry: RetryPolicy | None,
    ) -> AsyncPaginator[T]:
        """A ``page_number``/``page_size`` listing answering
        ``{total_items, page_size, page_number, records}`` (§4); the trace id goes on every
        page."""
        return self._paginate(
            "GET",
            path,
            style=_PAGING,
            parse_page=_page_parser(item_type, page_size),
            params=params,
            headers=headers,
            page_size=page_size,
            max_items=max_items,
            prefetch=prefetch,
            concurrency=concurrency,
            resume_from=resume_from,
            timeout=timeout,
            retry=retry,
        )


def _page_parser(item_type: type[T], page_size: int) -> Callable[[Any], PageResult[T]]:
    def parse(data: Any) -> PageResult[T]:
        if not isinstance(data, dict):
            raise DecodeError("listing answer is not an object")
        echoed = data.get("page_size")
        if isinstance(echoed, int) and not isinstance(echoed, bool) and 0 < echoed != page_size:
            # The service served another page size than asked (an undocumented cap): page N of
            # its size is not page N of ours, so continuing would skip or repeat records.
            raise DecodeError(
                f"asked for page_size={page_size} but the service used {echoed}; "
                f"list again with page_size={echoed} or less"
            )
        records = data.get("records")
        total = data.get("total_items")
        return PageResult(
            structure(records or [], list[item_type]),  # type: ignore[valid-type]
            total=total if isinstance(total, int) and not isinstance(total, bool) else None,
        )

    return parse
