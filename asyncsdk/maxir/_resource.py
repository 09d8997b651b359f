"""What the MAXIR resources share: where ``user_id`` and the trace id go, checks, listings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define

from .._core.errors import DecodeError, InvalidInputError
from .._core.paging import AsyncPaginator, NumberedPaging, PageResult
from .._core.resource import PageReader, Placement, Resource
from .._core.session import Session
from .paths import MaxirPaths

__all__ = [
    "ALLOWED_EXTENSIONS",
    "EXTERNAL_TRACE_ID_HEADER",
    "MAX_NAME_LENGTH",
    "MAX_SEARCH_LENGTH",
    "MAX_TRACE_ID_LENGTH",
    "MIN_PRESIGN_SECONDS",
    "MaxirResource",
    "Scope",
    "check_file_name",
    "check_user_id",
]

T = TypeVar("T")

#: Optional request header naming the caller's own trace id.
EXTERNAL_TRACE_ID_HEADER = "x-pd-external-trace-id"
MAX_TRACE_ID_LENGTH = 128
MAX_NAME_LENGTH = 128
MAX_SEARCH_LENGTH = 128
MIN_PRESIGN_SECONDS = 60

#: The 13 extensions a data source file may have.
ALLOWED_EXTENSIONS = frozenset(
    {"csv", "tsv", "md", "mdx", "json", "txt", "pdf", "pptx", "ppt", "doc", "docx", "xls", "xlsx"}
)

_PAGING = NumberedPaging(page_param="page_number", size_param="page_size", first_page=1)
# The service's own default is 10; asking for more saves requests.
_DEFAULT_PAGE_SIZE = 100


@define(frozen=True)
class Scope:
    """Who a call acts for (``user_id``) and under which trace id, checked before sending."""

    user_id: str
    trace_id: str | None = None


def check_user_id(value: object, *, what: str = "user_id") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{what} must be a non-empty string")
    if not value.isprintable():
        raise InvalidInputError(f"{what} must not contain control characters")
    return value.strip()


def check_file_name(name: object, *, what: str = "name") -> str:
    """A data source file name: 1–128 characters, ending in one of the allowed extensions.

    Rejected here rather than left to the service: it would truncate a longer name, cutting
    off the extension it then insists on.
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


class MaxirResource(Resource[MaxirPaths]):
    """Base of ``mx.datasets`` and ``mx.datasources``: every call acts for a team member
    (``user_id``, default: the client's), optionally under the caller's trace id."""

    def __init__(self, session: Session, paths: MaxirPaths, *, user_id: str | None) -> None:
        super().__init__(session, paths)
        self._user_id = user_id

    def _scope(self, user_id: str | None, trace_id: str | None) -> Scope:
        """The call's scope, checked now (before any request)."""
        if user_id is not None:
            user = check_user_id(user_id)
        elif self._user_id is None:
            raise InvalidInputError(
                "user_id is required: pass user_id= to MaxirClient, or to this call"
            )
        else:
            user = self._user_id
        _trace_headers(trace_id)
        return Scope(user, trace_id)

    def _placement(self, method: str, scope: Any) -> Placement:
        """MAXIR wants ``user_id`` in the query of a GET and in the JSON body of anything else
        (its DELETEs carry a body too)."""
        if not isinstance(scope, Scope):
            raise TypeError("every MAXIR call has a scope")
        headers = _trace_headers(scope.trace_id) or {}
        if method == "GET":
            return Placement(query={"user_id": scope.user_id}, headers=headers)
        return Placement(body={"user_id": scope.user_id}, headers=headers)

    def _records(
        self,
        path: str,
        model: type[T],
        *,
        scope: Scope,
        options: Mapping[str, Any],
        params: Mapping[str, Any] | None = None,
    ) -> AsyncPaginator[T]:
        """A ``page_number``/``page_size`` listing answering
        ``{total_items, page_size, page_number, records}``."""
        return self._list(
            path,
            _page_parser(model),
            style=_PAGING,
            params=params,
            scope=scope,
            options=options,
            default_page_size=_DEFAULT_PAGE_SIZE,
        )


def _page_parser(item_type: type[T]) -> PageReader[T]:
    def locate(data: Any) -> PageResult[Any]:
        if not isinstance(data, dict):
            raise DecodeError("listing answer is not an object")
        # The paginator checks the total and follows a page size the service caps (its echoed
        # page_size is not needed for that), as for every other numbered listing.
        return PageResult(data.get("records") or [], total=data.get("total_items"))

    return PageReader(item_type, locate)
