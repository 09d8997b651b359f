"""``mx.datasets``: create, list, inspect, rename and delete datasets."""

from __future__ import annotations

from typing import Any, Unpack

from .._core.convert import structure, structurer
from .._core.errors import DecodeError, InvalidInputError
from .._core.options import CallOptions, PageOptions, call_options
from .._core.paging import AsyncPaginator
from .._core.polling import check_wait, poll_until
from ._resource import MAX_SEARCH_LENGTH, MaxirResource
from .models import Dataset, DatasetOverview, DatasetStatus

__all__ = ["Datasets"]


def _text(name: str, value: object, *, required: bool) -> str | None:
    # Overlong names and descriptions are truncated by the service, not rejected, so only the
    # type and emptiness are checked here.
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


def _search(search: object) -> str | None:
    if search is None:
        return None
    if not isinstance(search, str):
        raise InvalidInputError(f"search must be a string, got {type(search).__name__}")
    if len(search) > MAX_SEARCH_LENGTH:
        raise InvalidInputError(
            f"search is {len(search)} characters long; at most {MAX_SEARCH_LENGTH} are allowed"
        )
    return search or None


_overview = structurer(DatasetOverview)


_status = structurer(DatasetStatus)


class Datasets(MaxirResource):
    """Datasets of the API key's project.

    Every method takes ``user_id=`` (default: the client's) and ``trace_id=`` (sent as
    ``x-pd-external-trace-id``, at most 128 characters), plus the call options (``timeout=``,
    ``retry=``...).
    """

    async def create(
        self,
        name: str,
        *,
        description: str | None = None,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Dataset:
        """Create a dataset and return it (the service answers only its id; the name and
        description are the ones sent)::

            dataset = await mx.datasets.create("Q3 sales", description="CRM exports")

        Not retried once it may have reached the service: after a
        ``TransportError(request_sent=True)``, list with ``search=name`` before creating again.
        """
        body: dict[str, Any] = {"name": _text("name", name, required=True)}
        if _text("description", description, required=False) is not None:
            body["description"] = description
        dataset_id = await self._post(
            self._paths.datasets,
            json=body,
            idempotent=False,
            parse=_new_id,
            scope=self._scope(user_id, trace_id),
            options=options,
        )
        return Dataset(id=dataset_id, name=name, description=description)

    def list(
        self,
        *,
        search: str | None = None,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[PageOptions],
    ) -> AsyncPaginator[Dataset]:
        """Every dataset of the project, page by page (``page_number``/``page_size``).

        ``search`` (at most 128 characters) keeps datasets whose name or description contains
        it. The service's own default page size is 10; this asks for 100.
        """
        return self._records(
            self._paths.datasets,
            Dataset,
            params={"search": _search(search)},
            scope=self._scope(user_id, trace_id),
            options=options,
        )

    async def find(
        self,
        name: str,
        *,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Dataset | None:
        """The dataset named exactly ``name``, or None (the first one when several share it).

        Asks the service for the datasets whose name or description contains ``name`` (its
        ``search`` filter, the first 128 characters of it for longer names) and keeps the exact
        match, so it reads only those, not every dataset.
        """
        _text("name", name, required=True)
        async for dataset in self.list(
            search=name[:MAX_SEARCH_LENGTH], user_id=user_id, trace_id=trace_id, **options
        ):
            if dataset.name == name:
                return dataset
        return None

    async def get(
        self,
        dataset_id: str,
        *,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> DatasetOverview:
        """One dataset, through its overview (``GET /v2/team/datasets/{id}/overview``).

        The API has no plain "get dataset" endpoint; the overview carries the id, name and
        description plus a generated summary, keywords and exploration questions (which may
        differ from call to call). Raises :class:`~asyncsdk.NotFoundError` for an unknown id.
        """
        return await self._get(
            self._path(self._paths.dataset_overview, dataset_id=dataset_id),
            _overview,
            scope=self._scope(user_id, trace_id),
            options=options,
        )

    async def status(
        self,
        dataset_id: str,
        *,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> DatasetStatus:
        """How many of the dataset's data sources are synched, synching and invalid."""
        return await self._get(
            self._path(self._paths.dataset_status, dataset_id=dataset_id),
            _status,
            scope=self._scope(user_id, trace_id),
            options=options,
        )

    async def wait(
        self,
        dataset_id: str,
        *,
        max_wait: float | None = 600.0,
        interval: float = 2.0,
        max_interval: float = 15.0,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> DatasetStatus:
        """Poll the status summary until no data source is synching; return it.

        One request per poll whatever the dataset's size. Sources that failed are counted in
        the answer's ``invalid_count`` (check ``.ready``), not raised: after a bulk upload
        some failures are normal. ``max_wait`` bounds the whole wait (then
        :class:`~asyncsdk.WaitTimeoutError`, whose ``last`` is the last status seen); the call
        options (``timeout``...) apply to each poll.

        On a deployment that reports a queued source as ``invalid`` ("awaiting processing"),
        the summary cannot tell queued from failed: wait per source with
        ``mx.datasources.wait(..., invalid_grace=...)`` instead.
        """
        path = self._path(self._paths.dataset_status, dataset_id=dataset_id)
        scope = self._scope(user_id, trace_id)
        check_wait(max_wait, interval, max_interval)
        checked = call_options(options)
        return await poll_until(
            lambda: self._get(path, _status, scope=scope, options=checked),
            lambda status: status.settled,
            max_wait=max_wait,
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
        **options: Unpack[CallOptions],
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
        await self._post(
            self._path(self._paths.dataset, dataset_id=dataset_id),
            json=body,
            idempotent=True,  # setting the same values twice is harmless
            scope=self._scope(user_id, trace_id),
            options=options,
        )

    async def delete(
        self,
        dataset_id: str,
        *,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> None:
        """Delete a dataset **and all its data sources**, permanently (only its creator may).

        Safe to retry: when a repeated attempt finds the dataset gone, an earlier one deleted it.
        """
        await self._delete(
            self._path(self._paths.dataset, dataset_id=dataset_id),
            scope=self._scope(user_id, trace_id),
            options=options,
        )
