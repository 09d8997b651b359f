"""``mx.datasources``: the files of a dataset.

Creating a data source points the service at a file, by public ``url`` or by the
``file_object_key`` an :meth:`DataSources.upload_file` returned; the service then syncs it
(``synching`` → ``synched``, or ``invalid`` when it cannot be processed).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Unpack

import aiohttp

from .._core.convert import structure, structurer
from .._core.download import Download, DownloadSource
from .._core.errors import DataSourceSyncError, DecodeError, InvalidInputError
from .._core.options import CallOptions, PageOptions, call_options
from .._core.paging import AsyncPaginator
from .._core.polling import check_wait, poll_until
from ._files import FileContent, content_type, read_content
from ._resource import MIN_PRESIGN_SECONDS, MaxirResource, check_file_name
from .models import DataSource, DataSourceStatus, Presigned

__all__ = ["DataSources"]


def _source_body(name: str, url: str | None, file_object_key: str | None) -> dict[str, Any]:
    """The create body, checked before anything is sent."""
    check_file_name(name)
    if (url is None) == (file_object_key is None):
        raise InvalidInputError("pass exactly one of url= or file_object_key=")
    body: dict[str, Any] = {"name": name, "type": "FILE"}
    if url is not None:
        if not isinstance(url, str) or not url.strip():
            raise InvalidInputError("url must be a non-empty string")
        if not url.strip().lower().startswith(("http://", "https://")):
            # The URL itself is left out of the message: it may carry a token or a signature.
            scheme = url.strip().partition(":")[0][:16] if ":" in url else "no scheme"
            raise InvalidInputError(f"url must be an http:// or https:// URL, not {scheme!r}")
        body["url"] = url.strip()
    else:
        if not isinstance(file_object_key, str) or not file_object_key.strip():
            raise InvalidInputError("file_object_key must be a non-empty string")
        body["file_object_key"] = file_object_key
    return body


def _statuses(status: Iterable[DataSourceStatus | str] | str | None) -> str | None:
    """The status filter as the service wants it: one comma-separated string."""
    if status is None:
        return None
    values = [status] if isinstance(status, str) else list(status)
    if not values:
        raise InvalidInputError("status must name at least one status (omit it for all)")
    names = []
    for value in values:
        if not isinstance(value, str) or not value.strip() or "," in value:
            raise InvalidInputError(
                f"status values must be DataSourceStatus members or status names, got {value!r}"
            )
        names.append(str(DataSourceStatus(value.strip())))
    return ",".join(dict.fromkeys(names))


def _expires_in(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInputError(f"expires_in must be a number of seconds, got {value!r}")
    if value != int(value):
        raise InvalidInputError(f"expires_in must be a whole number of seconds, got {value!r}")
    if value < MIN_PRESIGN_SECONDS:
        raise InvalidInputError(
            f"expires_in must be at least {MIN_PRESIGN_SECONDS} seconds, got {value!r}"
        )
    return int(value)


def _presigned(data: Any) -> Presigned:
    if not isinstance(data, dict):
        raise DecodeError("presign answer is not an object")
    return Presigned(
        url=structure(data["presigned_url"], str),
        expires_at=structure(data["expires_at"], datetime),
    )


def _file_object_key(data: Any) -> str:
    if not isinstance(data, dict) or not data.get("file_object_key"):
        raise DecodeError("upload answer carries no file_object_key")
    return structure(data["file_object_key"], str)


_datasource = structurer(DataSource)


def _standalone(data: Any) -> DataSource:
    source = structure(data, DataSource)
    if not source.dataset_id:
        raise DecodeError("answer does not say which dataset was created")
    return source


def _grace(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInputError(f"invalid_grace must be a number of seconds, got {value!r}")
    if value < 0:
        raise InvalidInputError(f"invalid_grace must be >= 0 seconds, got {value!r}")
    return float(value)


class DataSources(MaxirResource):
    """Data sources of a dataset.

    Every method takes ``user_id=`` (default: the client's) and ``trace_id=`` (sent as
    ``x-pd-external-trace-id``, at most 128 characters), plus the call options (``timeout=``,
    ``retry=``...)::

        source = await mx.datasources.create(dataset_id, "q3.csv", url="https://.../q3.csv")
        source = await mx.datasources.wait(dataset_id, source.id)
        async for s in mx.datasources.list(dataset_id, status=[DataSourceStatus.SYNCHED]):
            ...
    """

    async def create(
        self,
        dataset_id: str,
        name: str,
        *,
        url: str | None = None,
        file_object_key: str | None = None,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> DataSource:
        """Add a file to a dataset (yours: only a dataset's creator may add to it).

        ``name`` is the file name with its extension (1–128 characters; csv, tsv, md, mdx,
        json, txt, pdf, pptx, ppt, doc, docx, xls, xlsx). Give exactly one of ``url`` (publicly
        reachable) or ``file_object_key`` (from :meth:`upload_file`). The new source is
        usually ``synching``; see :meth:`wait`.

        Not retried once it may have reached the service (it would add the file twice).
        """
        path = self._path(self._paths.datasources, dataset_id=dataset_id)
        return await self._post(
            path,
            json=_source_body(name, url, file_object_key),
            idempotent=False,
            parse=_datasource,
            scope=self._scope(user_id, trace_id),
            options=options,
        )

    async def create_without_dataset(
        self,
        name: str,
        *,
        url: str | None = None,
        file_object_key: str | None = None,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> DataSource:
        """Create a data source in a new dataset the service makes for it.

        The new dataset's id is the answer's ``dataset_id``: keep it, it is the only way to
        reach the data source later. Arguments as for :meth:`create`.
        """
        return await self._post(
            self._paths.datasources_standalone,
            json=_source_body(name, url, file_object_key),
            idempotent=False,
            parse=_standalone,
            scope=self._scope(user_id, trace_id),
            options=options,
        )

    def list(
        self,
        dataset_id: str,
        *,
        status: Iterable[DataSourceStatus | str] | str | None = None,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[PageOptions],
    ) -> AsyncPaginator[DataSource]:
        """A dataset's data sources, page by page (``page_number``/``page_size``).

        ``status`` keeps sources in any of the given states (sent comma-separated)::

            failed = await mx.datasources.list(dataset_id, status=["invalid"]).collect()

        ``concurrency=8`` fetches pages in parallel once the first tells the total; they are
        still yielded in order. The service's own default page size is 10; this asks for 100.
        """
        return self._records(
            self._path(self._paths.datasources, dataset_id=dataset_id),
            DataSource,
            params={"status": _statuses(status)},
            scope=self._scope(user_id, trace_id),
            options=options,
        )

    async def find(
        self,
        dataset_id: str,
        name: str,
        *,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> DataSource | None:
        """The data source of ``dataset_id`` named exactly ``name``, or None.

        The service filters data sources only by status, so this reads the dataset's listing
        until it meets the name: up to one request per 100 sources (the whole listing when
        there is no such source).
        """
        check_file_name(name)
        async for source in self.list(dataset_id, user_id=user_id, trace_id=trace_id, **options):
            if source.name == name:
                return source
        return None

    async def get(
        self,
        dataset_id: str,
        datasource_id: str,
        *,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> DataSource:
        """One data source. Raises :class:`~asyncsdk.NotFoundError` for an unknown id."""
        return await self._get(
            self._path(self._paths.datasource, dataset_id=dataset_id, datasource_id=datasource_id),
            _datasource,
            scope=self._scope(user_id, trace_id),
            options=options,
        )

    async def delete(
        self,
        dataset_id: str,
        datasource_id: str,
        *,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> None:
        """Delete a data source, permanently (only the dataset's creator may).

        Safe to retry: when a repeated attempt finds it gone, an earlier one deleted it.
        """
        await self._delete(
            self._path(self._paths.datasource, dataset_id=dataset_id, datasource_id=datasource_id),
            scope=self._scope(user_id, trace_id),
            options=options,
        )

    async def presign(
        self,
        dataset_id: str,
        datasource_id: str,
        *,
        expires_in: int = 600,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Presigned:
        """A download link for the data source's original file, valid ``expires_in`` seconds
        (at least 60; the service's default is 600).

        The link points at the file store: fetch it *without* the API key, or use
        :meth:`download`, which does.
        """
        path = self._path(
            self._paths.datasource_presign, dataset_id=dataset_id, datasource_id=datasource_id
        )
        return await self._post(
            path,
            json={"expires_in": _expires_in(expires_in)},
            idempotent=True,  # a second link for the same file is harmless
            parse=_presigned,
            scope=self._scope(user_id, trace_id),
            options=options,
        )

    def download(
        self,
        dataset_id: str,
        datasource_id: str,
        *,
        expires_in: int = 600,
        chunk_size: int = 1 << 20,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> Download:
        """The data source's original file, streamed in ``chunk_size`` pieces::

            size = await mx.datasources.download(dataset_id, source_id).save("q3.csv")
            async for chunk in mx.datasources.download(dataset_id, source_id):
                ...

        Presigns a link first (one API call), then fetches it with no API key: the link is
        its own credential and points at another host. ``timeout`` bounds the presign call
        and each read of the transfer, not the whole transfer.
        """
        # Checked now, so a bad argument fails at the call, not when the download starts.
        path = self._path(
            self._paths.datasource_presign, dataset_id=dataset_id, datasource_id=datasource_id
        )
        body = {"expires_in": _expires_in(expires_in)}
        scope = self._scope(user_id, trace_id)
        checked = call_options(options)

        async def locate() -> DownloadSource:
            link = await self._post(
                path, json=body, idempotent=True, parse=_presigned, scope=scope, options=checked
            )
            return DownloadSource(link.url, authenticate=False)

        return self._download(locate, chunk_size=chunk_size, options=checked)

    async def wait(
        self,
        dataset_id: str,
        datasource_id: str,
        *,
        max_wait: float | None = 300.0,
        interval: float = 1.0,
        max_interval: float = 10.0,
        invalid_grace: float = 0.0,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> DataSource:
        """Poll a data source until it is ``synched`` and return it.

        Raises :class:`~asyncsdk.DataSourceSyncError` when it ends ``invalid`` (processing
        failed), and :class:`~asyncsdk.WaitTimeoutError` after ``max_wait`` seconds (``None``:
        no limit; the error's ``last`` is the last data source seen). The call options
        (``timeout``...) apply to each poll. Polls start every ``interval`` seconds and back
        off to ``max_interval``.

        ``invalid_grace``: the reference also describes ``invalid`` as "awaiting processing".
        On a deployment that reports a freshly queued source that way, pass the number of
        seconds an ``invalid`` before the source was ever seen ``synching`` should be taken
        as "still queued" rather than as a failure. ``invalid`` after ``synching`` always
        ends the wait.
        """
        grace = _grace(invalid_grace)
        path = self._path(
            self._paths.datasource, dataset_id=dataset_id, datasource_id=datasource_id
        )
        scope = self._scope(user_id, trace_id)
        check_wait(max_wait, interval, max_interval)
        checked = call_options(options)
        started = time.monotonic()
        seen_synching = False

        def finished(source: DataSource) -> bool:
            nonlocal seen_synching
            if source.status is DataSourceStatus.SYNCHED:
                return True
            if source.status is DataSourceStatus.SYNCHING:
                seen_synching = True
                return False
            if source.status is DataSourceStatus.INVALID:
                return seen_synching or time.monotonic() - started >= grace
            return False  # an unknown state: keep waiting (bounded by max_wait)

        source = await poll_until(
            lambda: self._get(path, _datasource, scope=scope, options=checked),
            finished,
            max_wait=max_wait,
            interval=interval,
            max_interval=max_interval,
            what=f"data source {datasource_id}",
        )
        if source.status is not DataSourceStatus.SYNCHED:
            raise DataSourceSyncError(
                f"data source {source.id} ({source.name!r}) is invalid: "
                "the service could not process the file",
                datasource=source,
            )
        return source

    async def upload_file(
        self,
        file: FileContent,
        *,
        filename: str | None = None,
        user_id: str | None = None,
        trace_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> str:
        """Upload a local file and return its ``file_object_key``, for :meth:`create`::

            key = await mx.datasources.upload_file("reports/q3.pdf")
            source = await mx.datasources.create(dataset_id, "q3.pdf", file_object_key=key)

        ``file`` is a path, or the bytes themselves (then ``filename=`` names them). The name
        must carry one of the supported extensions. The file is read into memory: this
        endpoint is meant for small files (Powerdrill's guide suggested under 1 MB).

        Retried like a read: a repeated upload only leaves an unused temporary object behind,
        never a second data source.
        """
        if filename is not None:
            check_file_name(filename, what="filename")
        scope = self._scope(user_id, trace_id)
        checked = call_options(options)
        content, name = await read_content(file, filename)
        check_file_name(name, what="filename")
        if not content:
            raise InvalidInputError(f"{name!r} is empty; the service refuses empty files")

        def form() -> aiohttp.FormData:
            # A multipart body carries user_id as a form field, not in JSON.
            data = aiohttp.FormData()
            data.add_field("file", content, filename=name, content_type=content_type(name))
            data.add_field("user_id", scope.user_id)
            return data

        return await self._post(
            self._paths.file_upload,
            form=form,
            idempotent=True,
            parse=_file_object_key,
            scope=scope,
            options=checked,
        )
