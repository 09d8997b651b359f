"""``mx.datasets``: create, list, inspect, rename and delete datasets (MAXIR-API.md §3.1)."""

from __future__ import annotations

from typing import Any

from .._core.convert import structure
from .._core.errors import DecodeError, InvalidInputError
from .._core.paging import AsyncPaginator
from .._core.polling import poll_until
from .._core.retry import RetryPolicy
from ._resource import MAX_SEARCH_LENGTH, MaxirResource
from .models import Dataset, DatasetOverview, DatasetStatus

__all__ = ["Datasets"]


def _text(name: str, value: object, *, required: bool) -> str | None:
    # Overlong names and descriptions are truncated by the service, not rejected (§6 #16), so
    # only the type and emptiness are checked here.
    if value is None:
        if required:
            raise InvalidInputError(f"{name} is required")
        return None
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string, got {type(value).__name__}")
    if required and not value.strip():
        raise InvalidInputError(f"{name} must not be empty")
    return value


def _new_id(data: Any) -> str:
    if not isinstance(data, dict) or not data.get("id"):
        raise DecodeError("create answer carries no dataset id")
    return structure(data["id"], str)


class Datasets(MaxirResource):
    """Datasets of the API key's project.

    Every method takes ``user_id=`` (default: the client's) and ``trace_id=`` (sent as
    ``x-pd-external-trace-id``, at most 128 characters), plus ``timeout=`` and ``retry=``.
    """

    async def create(
        self,
        name: str,
        *,
        description: str | None = None,
        user_id: str | None = None,
        trace_id: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> str:
        """Create a dataset and return its id (the service answers nothing else)::

            dataset_id = await mx.datasets.create("Q3 sales", description="CRM exports")

        Not retried once it may have reached the service: after a
        ``TransportError(request_sent=True)``, list with ``search=name`` before creating again.
        """
        body: dict[str, Any] = {"name": _text("name", name, required=True)}
        if _text("description", description, required=False) is not None:
            body["description"] = description
        body["user_id"] = self._user(user_id)
        return await self._session.request(
            "POST",
            self._paths.datasets,
            json=body,
            headers=self._trace(trace_id),
            idempotent=False,
            parse=_new_id,
            timeout=timeout,
            retry=retry,
        )

    def list(
        self,
        *,
        search: str | None = None,
        page_size: int = 100,
        max_items: int | None = None,
        prefetch: int = 0,
        concurrency: int = 1,
        resume_from: str | None = None,
        user_id: str | None = None,
        trace_id: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPaginator[Dataset]:
        """Every dataset of the project, page by page (``page_number``/``page_size``).

        ``search`` (at most 128 characters) keeps datasets whose name or description contains
        it. The service's own default page size is 10; this asks for 100.
        """
        if search is not None:
            if not isinstance(search, str):
                raise InvalidInputError(f"search must be a string, got {type(search).__name__}")
            if len(search) > MAX_SEARCH_LENGTH:
                raise InvalidInputError(
                    f"search is {len(search)} characters long; "
                    f"at most {MAX_SEARCH_LENGTH} are allowed"
                )
        return self._list(
            self._paths.datasets,
            item_type=Dataset,
            params={"search": search or None, "user_id": self._user(user_id)},
            headers=self._trace(trace_id),
            page_size=page_size,
            max_items=max_items,
            prefetch=prefetch,
            concurrency=concurrency,
            resume_from=resume_from,
            timeout=timeout,
            retry=retry,
        )

    async def get(
        self,
        dataset_id: str,
        *,
        user_id: str | None = None,
        trace_id: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> DatasetOverview:
        """One dataset, through its overview (``GET /v2/team/datasets/{id}/overview``).

        The API has no plain "get dataset" endpoint; the overview carries the id, name and
        description plus a generated summary, keywords and exploration questions (which may
        differ from call to call). Raises :class:`~asyncsdk.NotFoundError` for an unknown id.
        """
        return await self._get(
            self._path(self._paths.dataset_overview, dataset_id=dataset_id),
            DatasetOverview,
            user_id=user_id,
            trace_id=trace_id,
            timeout=timeout,
            retry=retry,
        )

    async def status(
        self,
        dataset_id: str,
        *,
        user_id: str | None = None,
        trace_id: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> DatasetStatus:
        """How many of the dataset's data sources are synched, synching and invalid."""
        return await self._get(
            self._path(self._paths.dataset_status, dataset_id=dataset_id),
            DatasetStatus,
            user_id=user_id,
            trace_id=trace_id,
            timeout=timeout,
            retry=retry,
        )

    async def wait_until_settled(
        self,
        dataset_id: str,
        *,
        timeout: float | None = 600.0,
        interval: float = 2.0,
        max_interval: float = 15.0,
        user_id: str | None = None,
        trace_id: str | None = None,
        request_timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> DatasetStatus:
        """Poll the status summary until no data source is synching; return it.

        One request per poll whatever the dataset's size. Sources that failed are counted in
        the answer's ``invalid_count`` (check ``.ready``), not raised: after a bulk upload
        some failures are normal. ``timeout`` bounds the whole wait (then
        :class:`~asyncsdk.WaitTimeoutError`, whose ``last`` is the last status seen);
        ``request_timeout`` bounds each poll.

        On a deployment that reports a queued source as ``invalid`` ("awaiting processing"),
        the summary cannot tell queued from failed: wait per source with
        ``mx.datasources.wait_until_synched(..., invalid_grace=...)`` instead.
        """
        user = self._user(user_id)
        self._trace(trace_id)  # reject a bad trace id now, not at the first poll

        async def fetch() -> DatasetStatus:
            return await self.status(
                dataset_id, user_id=user, trace_id=trace_id, timeout=request_timeout, retry=retry
            )

        return await poll_until(
            fetch,
            lambda status: status.settled,
            timeout=timeout,
            interval=interval,
            max_interval=max_interval,
            what=f"dataset {dataset_id}",
        )

    async def update(
        self,
        dataset_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        user_id: str | None = None,
        trace_id: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Rename a dataset and/or change its description (only its creator may)."""
        body: dict[str, Any] = {}
        if _text("name", name, required=False) is not None:
            if not name or not name.strip():
                raise InvalidInputError("name must not be empty")
            body["name"] = name
        if _text("description", description, required=False) is not None:
            body["description"] = description
        if not body:
            raise InvalidInputError("pass name, description, or both")
        body["user_id"] = self._user(user_id)
        await self._session.request(
            "POST",
            self._path(self._paths.dataset, dataset_id=dataset_id),
            json=body,
            headers=self._trace(trace_id),
            idempotent=True,  # setting the same values twice is harmless
            timeout=timeout,
            retry=retry,
        )

    async def delete(
        self,
        dataset_id: str,
        *,
        user_id: str | None = None,
        trace_id: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Delete a dataset **and all its data sources**, permanently (only its creator may).

        Safe to retry: when a repeated attempt finds the dataset gone, an earlier one deleted it.
        """
        await self._delete(
            self._path(self._paths.dataset, dataset_id=dataset_id),
            user_id=user_id,
            trace_id=trace_id,
            timeout=timeout,
            retry=retry,
        )
