"""``moi.volumes``: data-explore volumes (MOI-API.md §9, §10).

Two kinds, two sub-objects:

* ``moi.volumes.raw`` — raw ("origin") volumes on the Go service: where load tasks put the files
  they copy, and where workflows read them. RPC-style POST calls; no paging.
* ``moi.volumes.processed`` — processed volumes on the BYOA service: where workflows write each
  parsed file and its blocks (segments). File and block listings page by body ``offset``/
  ``limit``.

Downloads are :class:`~asyncsdk._core.download.Download` objects: nothing is fetched until you
iterate one (chunks of bytes) or ``await .save(path)``; memory stays bounded whatever the size.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._core import checks
from .._core.checks import require_id
from .._core.convert import structure
from .._core.download import Download, DownloadSource
from .._core.errors import InvalidInputError, NotFoundError
from .._core.paging import AsyncPaginator, NumberedPaging, PageResult
from .._core.resource import Resource
from .._core.retry import RetryPolicy
from .._core.session import Session
from . import _args
from .models import (
    Block,
    FileType,
    JobFileStatus,
    ProcessedFile,
    ProcessedVolume,
    RawVolume,
    TaskFile,
)
from .paths import MOIPaths

__all__ = ["ProcessedVolumes", "RawVolumes", "Volumes"]

_CHUNK = 1 << 20


def _link(data: Any) -> str:
    link = data.get("link") if isinstance(data, dict) else None
    if not isinstance(link, str) or not link.startswith(("http://", "https://")):
        raise TypeError("the answer carries no absolute download link")
    return link


def _drop_none(values: dict[str, Any]) -> dict[str, Any] | None:
    kept = {key: value for key, value in values.items() if value is not None}
    return kept or None


class RawVolumes(Resource):
    """Raw volumes and their files (``moi.volumes.raw``)::

    await moi.volumes.raw.create("landing")
    async for volume in moi.volumes.raw.list():
        async for f in moi.volumes.raw.files(volume.id):
            await moi.volumes.raw.download(volume.id, f.id).save(f.name)
    """

    def __init__(self, session: Session, paths: MOIPaths) -> None:
        super().__init__(session)
        self._paths = paths

    async def create(
        self,
        name: str,
        *,
        resolve: bool = False,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> RawVolume | None:
        """Create a raw volume. The service returns no id (D6): the call returns None, or with
        ``resolve=True`` the volume of that name, looked up afterwards (racy if others create
        the same name). Not retried once sent (D23)."""
        checks.text("name", name)
        await self._session.request(
            "POST",
            self._paths.raw_volume_create,
            json={"name": name},
            idempotent=False,
            timeout=timeout,
            retry=retry,
        )
        if not resolve:
            return None
        return await self.find(name, timeout=timeout, retry=retry)

    async def find(
        self, name: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> RawVolume | None:
        """The raw volume named exactly ``name`` (the newest, if several), or None."""
        checks.text("name", name)
        found = [v async for v in self.list(timeout=timeout, retry=retry) if v.name == name]
        if not found:
            return None
        return max(found, key=lambda v: v.created_at.timestamp() if v.created_at else 0.0)

    def list(
        self,
        *,
        max_items: int | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPaginator[RawVolume]:
        """Every raw volume. The service does not page this listing: one request answers all
        of it, behind the same paginator as every other listing."""
        return self._unpaged(
            "POST",
            self._paths.raw_volume_list,
            parse=lambda data: structure(_args.listing(data, "volumes"), list[RawVolume]),
            max_items=max_items,
            timeout=timeout,
            retry=retry,
        )

    def files(
        self,
        volume_id: str,
        *,
        max_items: int | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPaginator[TaskFile]:
        """The files of a raw volume (not paged by the service). They have the shape of a load
        task's files (``TaskFile``): the load status, size, path and times."""
        # DescribeOriginVolume takes "id" where its siblings take "volume_id" (D26).
        body = {"id": require_id("volume_id", volume_id)}
        return self._unpaged(
            "POST",
            self._paths.raw_volume_files,
            json=body,
            parse=lambda data: structure(_args.listing(data, "items"), list[TaskFile]),
            max_items=max_items,
            timeout=timeout,
            retry=retry,
        )

    async def file_link(
        self,
        volume_id: str,
        file_id: str,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> str:
        """A presigned download link for one file (it expires; it needs no credentials).
        Prefer :meth:`download`, which fetches a fresh link and streams the bytes."""
        body = {
            "volume_id": require_id("volume_id", volume_id),
            "file_id": require_id("file_id", file_id),
        }
        return await self._session.request(
            "POST",
            self._paths.raw_volume_file_link,
            json=body,
            idempotent=True,
            parse=_link,
            timeout=timeout,
            retry=retry,
        )

    def download(
        self,
        volume_id: str,
        file_id: str,
        *,
        chunk_size: int = _CHUNK,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Download:
        """A file of a raw volume, streamed: ``async for chunk in ...`` or ``await
        ...save(path)``. A fresh presigned link is fetched first; the object store behind it
        is another host, so the request to it carries no credentials."""
        volume = require_id("volume_id", volume_id)
        file = require_id("file_id", file_id)

        async def locate() -> DownloadSource:
            link = await self.file_link(volume, file, timeout=timeout, retry=retry)
            return DownloadSource(link, authenticate=False)

        return Download(self._session, locate, chunk_size=chunk_size, timeout=timeout, retry=retry)

    async def delete_files(
        self,
        volume_id: str,
        file_ids: Iterable[str],
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Delete files from a raw volume. A retried attempt that finds them gone counts as
        success (an earlier attempt deleted them)."""
        body = {
            "volume_id": require_id("volume_id", volume_id),
            "file_ids": checks.id_list("file_ids", file_ids),
        }
        await self._session.request(
            "POST",
            self._paths.raw_volume_delete_files,
            json=body,
            idempotent=True,
            absent_ok_on_retry=True,
            timeout=timeout,
            retry=retry,
        )


class ProcessedVolumes(Resource):
    """Processed volumes, their files and blocks (``moi.volumes.processed``)::

    volume = await moi.volumes.processed.create("contracts-parsed")
    async for f in moi.volumes.processed.files(volume.id, status=[JobFileStatus.COMPLETED]):
        async for block in moi.volumes.processed.blocks(volume.id, f.id):
            print(block.content)
    """

    def __init__(self, session: Session, paths: MOIPaths) -> None:
        super().__init__(session)
        self._paths = paths

    def _volume(self, volume_id: object) -> str:
        return self._paths.volume.format(volume_id=checks.path_id("volume_id", volume_id))

    def _file(self, template: str, volume_id: object, file_id: object) -> str:
        return template.format(
            volume_id=checks.path_id("volume_id", volume_id),
            file_id=checks.path_id("file_id", file_id),
        )

    async def create(
        self,
        name: str,
        *,
        parent_volume_id: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> ProcessedVolume:
        """Create a processed volume (optionally under ``parent_volume_id``) and return it.
        Not retried once sent (D23)."""
        body: dict[str, Any] = {"name": checks.text("name", name)}
        if parent_volume_id is not None:
            body["parent_volume_id"] = require_id("parent_volume_id", parent_volume_id)
        return await self._session.request(
            "POST",
            self._paths.volumes,
            json=body,
            idempotent=False,
            parse=lambda data: structure(data, ProcessedVolume),
            timeout=timeout,
            retry=retry,
        )

    def list(
        self,
        *,
        workflow_using: bool | None = None,
        max_items: int | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPaginator[ProcessedVolume]:
        """Every processed volume (only those a workflow writes to, with
        ``workflow_using=True``). Not paged by the service: one request answers all."""
        if workflow_using is not None and not isinstance(workflow_using, bool):
            raise InvalidInputError("workflow_using must be True, False or None")
        return self._unpaged(
            "GET",
            self._paths.volumes,
            params={"workflow_using": workflow_using} if workflow_using is not None else None,
            parse=lambda data: structure(_args.listing(data, "volumes"), list[ProcessedVolume]),
            max_items=max_items,
            timeout=timeout,
            retry=retry,
        )

    async def get(
        self,
        volume_id: str,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> ProcessedVolume:
        """One processed volume. The service has no single-volume read (``GET
        .../volumes/{id}`` lists its sub-volumes, see :meth:`children`), so this finds it in
        the volume listing; raises :class:`~asyncsdk.NotFoundError` when it is not there."""
        wanted = require_id("volume_id", volume_id)
        async for volume in self.list(timeout=timeout, retry=retry):
            if volume.id == wanted:
                return volume
        raise NotFoundError(
            f"no processed volume with id {wanted!r}",
            status=404,
            method="GET",
            path=self._paths.volumes,
        )

    def children(
        self,
        volume_id: str,
        *,
        max_items: int | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPaginator[ProcessedVolume]:
        """The sub-volumes (branch volumes) of a processed volume (not paged)."""
        return self._unpaged(
            "GET",
            self._volume(volume_id),
            parse=lambda data: structure(_args.listing(data, "volumes"), list[ProcessedVolume]),
            max_items=max_items,
            timeout=timeout,
            retry=retry,
        )

    async def delete(
        self,
        volume_id: str,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Delete a processed volume and its files."""
        await self._session.request(
            "DELETE",
            self._volume(volume_id),
            idempotent=True,
            absent_ok_on_retry=True,
            timeout=timeout,
            retry=retry,
        )

    def files(
        self,
        volume_id: str,
        *,
        types: Iterable[FileType | int] | None = None,
        status: Iterable[JobFileStatus | int] | None = None,
        exclude_status: Iterable[JobFileStatus | int] | None = None,
        sort_by: str | None = None,
        is_desc: bool | None = None,
        page_size: int = 100,
        max_items: int | None = None,
        prefetch: int = 0,
        concurrency: int = 1,
        resume_from: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPaginator[ProcessedFile]:
        """The files of a processed volume, page by page (POST body ``offset``/``limit``, D7),
        filtered by file ``types`` and ``status`` / ``exclude_status``, sorted by ``sort_by``
        (newest first unless ``is_desc=False``)."""
        if is_desc is not None and not isinstance(is_desc, bool):
            raise InvalidInputError("is_desc must be True, False or None")
        if sort_by is not None:
            checks.text("sort_by", sort_by)
        return self._paginate(
            "POST",
            self._paths.volume_files.format(volume_id=checks.path_id("volume_id", volume_id)),
            style=NumberedPaging(page_param="offset", size_param="limit", offset=True),
            params={
                "filters": _drop_none(
                    {
                        "types": checks.optional_int_list("types", types),
                        "status": checks.optional_int_list("status", status),
                        "exclude_status": checks.optional_int_list(
                            "exclude_status", exclude_status
                        ),
                    }
                ),
                "sorter": _drop_none({"sort_by": sort_by, "is_desc": is_desc}),
            },
            in_body=True,
            parse_page=lambda data: PageResult(
                structure(_args.listing(data, "items"), list[ProcessedFile]),
                total=data.get("total"),
            ),
            page_size=page_size,
            max_items=max_items,
            prefetch=prefetch,
            concurrency=concurrency,
            resume_from=resume_from,
            timeout=timeout,
            retry=retry,
        )

    async def delete_file(
        self,
        volume_id: str,
        file_id: str,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Delete one file (and its blocks) from a processed volume."""
        await self._session.request(
            "DELETE",
            self._file(self._paths.volume_file, volume_id, file_id),
            idempotent=True,
            absent_ok_on_retry=True,
            timeout=timeout,
            retry=retry,
        )

    def download(
        self,
        volume_id: str,
        file_id: str,
        *,
        need_embeddings: bool | None = None,
        chunk_size: int = _CHUNK,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Download:
        """A processed file's parsed content (``.../raws``), streamed as bytes: a ZIP with the
        parse result as JSON and Markdown (D13). Older services answered JSON here; the bytes
        are handed over as they come either way (``json.loads`` them if you expect JSON)."""
        if need_embeddings is not None and not isinstance(need_embeddings, bool):
            raise InvalidInputError("need_embeddings must be True, False or None")
        path = self._file(self._paths.volume_file_raws, volume_id, file_id)
        params: dict[str, object] = (
            {} if need_embeddings is None else {"need_embeddings": need_embeddings}
        )

        async def locate() -> DownloadSource:
            return DownloadSource(path, authenticate=True, params=params)

        return Download(self._session, locate, chunk_size=chunk_size, timeout=timeout, retry=retry)

    def blocks(
        self,
        volume_id: str,
        file_id: str,
        *,
        types: Iterable[str] | None = None,
        search_content: str | None = None,
        block_ids: Iterable[str] | None = None,
        page_size: int = 100,
        max_items: int | None = None,
        prefetch: int = 0,
        concurrency: int = 1,
        resume_from: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPaginator[Block]:
        """The blocks (segments) a processed file was split into, page by page (POST body
        ``offset``/``limit``); filter by block ``types`` (``"text"``, ``"table"``...), text in
        the content, or ids."""
        if search_content is not None:
            checks.text("search_content", search_content)
        return self._paginate(
            "POST",
            self._file(self._paths.volume_file_blocks, volume_id, file_id),
            style=NumberedPaging(page_param="offset", size_param="limit", offset=True),
            params={
                "filters": _drop_none(
                    {
                        "types": None if types is None else checks.name_list("types", types),
                        "search_content": search_content,
                        "block_ids": None
                        if block_ids is None
                        else checks.id_list("block_ids", block_ids),
                    }
                )
            },
            in_body=True,
            parse_page=lambda data: PageResult(
                structure(_args.listing(data, "items"), list[Block]), total=data.get("total")
            ),
            page_size=page_size,
            max_items=max_items,
            prefetch=prefetch,
            concurrency=concurrency,
            resume_from=resume_from,
            timeout=timeout,
            retry=retry,
        )

    async def delete_blocks(
        self,
        volume_id: str,
        file_id: str,
        block_ids: Iterable[str],
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Delete blocks of a processed file (the service answers 204 or 200; both are
        success, D14). Deleting blocks twice is harmless, so failures are retried."""
        await self._session.request(
            "DELETE",
            self._file(self._paths.volume_file_blocks, volume_id, file_id),
            json={"ids": checks.id_list("block_ids", block_ids)},
            idempotent=True,
            timeout=timeout,
            retry=retry,
        )


class Volumes:
    """``moi.volumes``: ``.raw`` (:class:`RawVolumes`) and ``.processed``
    (:class:`ProcessedVolumes`)."""

    def __init__(self, session: Session, paths: MOIPaths) -> None:
        self.raw = RawVolumes(session, paths)
        self.processed = ProcessedVolumes(session, paths)

    def __repr__(self) -> str:
        return "<Volumes raw, processed>"
