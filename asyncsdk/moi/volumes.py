"""``moi.volumes``: data-explore volumes.

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
from typing import Any, Literal, Unpack, overload

from .._core import checks
from .._core.convert import structure, structurer
from .._core.download import Download, DownloadSource
from .._core.errors import NotFoundError
from .._core.options import CallOptions, PageOptions, call_options
from .._core.paging import AsyncPaginator, NumberedPaging
from .._core.resource import Resource, items, page_reader
from .._core.session import Session
from ._args import order_by_field
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
_OFFSETS = NumberedPaging(page_param="offset", size_param="limit", offset=True)
_PROCESSED_FILES = page_reader(ProcessedFile, "items")
_BLOCKS = page_reader(Block, "items")


def _link(data: Any) -> str:
    link = data.get("link") if isinstance(data, dict) else None
    if not isinstance(link, str) or not link.startswith(("http://", "https://")):
        raise TypeError("the answer carries no absolute download link")
    return link


def _raw_volumes(data: Any) -> list[RawVolume]:
    return structure(items(data, "volumes"), list[RawVolume])


def _raw_files(data: Any) -> list[TaskFile]:
    return structure(items(data, "items"), list[TaskFile])


def _processed_volumes(data: Any) -> list[ProcessedVolume]:
    return structure(items(data, "volumes"), list[ProcessedVolume])


_processed_volume = structurer(ProcessedVolume)


def _drop_none(values: dict[str, Any]) -> dict[str, Any] | None:
    kept = {key: value for key, value in values.items() if value is not None}
    return kept or None


class RawVolumes(Resource[MOIPaths]):
    """Raw volumes and their files (``moi.volumes.raw``)::

    await moi.volumes.raw.create("landing")
    async for volume in moi.volumes.raw.list():
        async for f in moi.volumes.raw.files(volume.id):
            await moi.volumes.raw.download(volume.id, f.id).save(f.name)
    """

    @overload
    async def create(
        self, name: str, *, resolve: Literal[False] = ..., **options: Unpack[CallOptions]
    ) -> None: ...

    @overload
    async def create(
        self, name: str, *, resolve: Literal[True], **options: Unpack[CallOptions]
    ) -> RawVolume: ...

    @overload
    async def create(
        self, name: str, *, resolve: bool, **options: Unpack[CallOptions]
    ) -> RawVolume | None: ...

    async def create(
        self, name: str, *, resolve: bool = False, **options: Unpack[CallOptions]
    ) -> RawVolume | None:
        """Create a raw volume. The service answers no id: the call returns None, or with
        ``resolve=True`` the volume of that name, looked up afterwards (racy if others create
        the same name; :class:`~asyncsdk.NotFoundError` if it is not listed). Not retried
        once sent."""
        checked = call_options(options)
        checks.text("name", name)
        checks.boolean("resolve", resolve)
        await self._post(
            self._paths.raw_volume_create, json={"name": name}, idempotent=False, options=checked
        )
        if not resolve:
            return None
        found = await self.find(name, **checked)
        if found is None:
            raise NotFoundError(
                f"raw volume {name!r} was created, but is not listed",
                status=404,
                method="POST",
                path=self._paths.raw_volume_list,
            )
        return found

    async def find(self, name: str, **options: Unpack[CallOptions]) -> RawVolume | None:
        """The raw volume named exactly ``name`` (the newest, if several), or None."""
        checks.text("name", name)
        found = [v async for v in self.list(**options) if v.name == name]
        if not found:
            return None
        return max(found, key=lambda v: v.created_at.timestamp() if v.created_at else 0.0)

    def list(self, **options: Unpack[PageOptions]) -> AsyncPaginator[RawVolume]:
        """Every raw volume. The service does not page this listing: one request answers all
        of it, behind the same paginator as every other listing (``max_items`` applies)."""
        return self._list_all(
            self._paths.raw_volume_list, _raw_volumes, method="POST", options=options
        )

    def files(self, volume_id: str, **options: Unpack[PageOptions]) -> AsyncPaginator[TaskFile]:
        """The files of a raw volume (not paged by the service). They have the shape of a load
        task's files (``TaskFile``): the load status, size, path and times."""
        # DescribeOriginVolume takes "id" where its siblings take "volume_id".
        body = {"id": checks.require_id("volume_id", volume_id)}
        return self._list_all(
            self._paths.raw_volume_files, _raw_files, method="POST", json=body, options=options
        )

    async def file_link(self, volume_id: str, file_id: str, **options: Unpack[CallOptions]) -> str:
        """A presigned download link for one file (it expires; it needs no credentials).
        Prefer :meth:`download`, which fetches a fresh link and streams the bytes."""
        body = {
            "volume_id": checks.require_id("volume_id", volume_id),
            "file_id": checks.require_id("file_id", file_id),
        }
        return await self._post(
            self._paths.raw_volume_file_link,
            json=body,
            idempotent=True,
            parse=_link,
            options=options,
        )

    def download(
        self,
        volume_id: str,
        file_id: str,
        *,
        chunk_size: int = _CHUNK,
        **options: Unpack[CallOptions],
    ) -> Download:
        """A file of a raw volume, streamed: ``async for chunk in ...`` or ``await
        ...save(path)``. A fresh presigned link is fetched first; the object store behind it
        is another host, so the request to it carries no credentials."""
        volume = checks.require_id("volume_id", volume_id)
        file = checks.require_id("file_id", file_id)
        checked = call_options(options)

        async def locate() -> DownloadSource:
            link = await self.file_link(volume, file, **checked)
            return DownloadSource(link, authenticate=False)

        return self._download(locate, chunk_size=chunk_size, options=checked)

    async def delete_files(
        self, volume_id: str, file_ids: Iterable[str], **options: Unpack[CallOptions]
    ) -> None:
        """Delete files from a raw volume. A retried attempt that finds them gone counts as
        success (an earlier attempt deleted them)."""
        body = {
            "volume_id": checks.require_id("volume_id", volume_id),
            "file_ids": checks.id_list("file_ids", file_ids),
        }
        await self._post(
            self._paths.raw_volume_delete_files,
            json=body,
            idempotent=True,
            absent_ok=True,
            options=options,
        )


class ProcessedVolumes(Resource[MOIPaths]):
    """Processed volumes, their files and blocks (``moi.volumes.processed``)::

    volume = await moi.volumes.processed.create("contracts-parsed")
    async for f in moi.volumes.processed.files(volume.id, status=[JobFileStatus.COMPLETED]):
        async for block in moi.volumes.processed.blocks(volume.id, f.id):
            print(block.content)
    """

    async def create(
        self,
        name: str,
        *,
        parent_volume_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> ProcessedVolume:
        """Create a processed volume (optionally under ``parent_volume_id``) and return it.
        Not retried once sent."""
        body: dict[str, Any] = {"name": checks.text("name", name)}
        if parent_volume_id is not None:
            body["parent_volume_id"] = checks.require_id("parent_volume_id", parent_volume_id)
        return await self._post(
            self._paths.volumes,
            json=body,
            idempotent=False,
            parse=_processed_volume,
            options=options,
        )

    def list(
        self, *, workflow_using: bool | None = None, **options: Unpack[PageOptions]
    ) -> AsyncPaginator[ProcessedVolume]:
        """Every processed volume (only those a workflow writes to, with
        ``workflow_using=True``). Not paged by the service: one request answers all."""
        flag = checks.optional_bool("workflow_using", workflow_using)
        return self._list_all(
            self._paths.volumes,
            _processed_volumes,
            params=None if flag is None else {"workflow_using": flag},
            options=options,
        )

    async def get(self, volume_id: str, **options: Unpack[CallOptions]) -> ProcessedVolume:
        """One processed volume. The service has no single-volume read (``GET
        .../volumes/{id}`` lists its sub-volumes, see :meth:`children`), so this finds it in
        the volume listing; raises :class:`~asyncsdk.NotFoundError` when it is not there."""
        wanted = checks.require_id("volume_id", volume_id)
        async for volume in self.list(**options):
            if volume.id == wanted:
                return volume
        raise NotFoundError(
            f"no processed volume with id {wanted!r}",
            status=404,
            method="GET",
            path=self._paths.volumes,
        )

    def children(
        self, volume_id: str, **options: Unpack[PageOptions]
    ) -> AsyncPaginator[ProcessedVolume]:
        """The sub-volumes (branch volumes) of a processed volume (not paged)."""
        path = self._path(self._paths.volume, volume_id=volume_id)
        return self._list_all(path, _processed_volumes, options=options)

    async def delete(self, volume_id: str, **options: Unpack[CallOptions]) -> None:
        """Delete a processed volume and its files."""
        await self._delete(self._path(self._paths.volume, volume_id=volume_id), options=options)

    def files(
        self,
        volume_id: str,
        *,
        types: Iterable[FileType | int] | None = None,
        status: Iterable[JobFileStatus | int] | None = None,
        exclude_status: Iterable[JobFileStatus | int] | None = None,
        order_by: str | None = None,
        descending: bool | None = None,
        **options: Unpack[PageOptions],
    ) -> AsyncPaginator[ProcessedFile]:
        """The files of a processed volume, page by page (POST body ``offset``/``limit``),
        filtered by file ``types`` and ``status`` / ``exclude_status``, sorted by ``order_by``
        (newest first unless ``descending=False``)."""
        path = self._path(self._paths.volume_files, volume_id=volume_id)
        filters = {
            "types": checks.optional_int_list("types", types),
            "status": checks.optional_int_list("status", status),
            "exclude_status": checks.optional_int_list("exclude_status", exclude_status),
        }
        sorter = {
            "sort_by": order_by_field(order_by),
            "is_desc": checks.optional_bool("descending", descending),
        }
        params = {"filters": _drop_none(filters), "sorter": _drop_none(sorter)}
        return self._list(
            path,
            _PROCESSED_FILES,
            style=_OFFSETS,
            method="POST",
            params=params,
            in_body=True,
            options=options,
        )

    async def delete_file(
        self, volume_id: str, file_id: str, **options: Unpack[CallOptions]
    ) -> None:
        """Delete one file (and its blocks) from a processed volume."""
        path = self._path(self._paths.volume_file, volume_id=volume_id, file_id=file_id)
        await self._delete(path, options=options)

    def download(
        self,
        volume_id: str,
        file_id: str,
        *,
        need_embeddings: bool | None = None,
        chunk_size: int = _CHUNK,
        **options: Unpack[CallOptions],
    ) -> Download:
        """A processed file's parsed content (``.../raws``), streamed as bytes: a ZIP with the
        parse result as JSON and Markdown. Older services answered JSON here; the bytes are
        handed over as they come either way (``json.loads`` them if you expect JSON)."""
        flag = checks.optional_bool("need_embeddings", need_embeddings)
        path = self._path(self._paths.volume_file_raws, volume_id=volume_id, file_id=file_id)
        params: dict[str, object] = {} if flag is None else {"need_embeddings": flag}

        async def locate() -> DownloadSource:
            return DownloadSource(path, authenticate=True, params=params)

        return self._download(locate, chunk_size=chunk_size, options=call_options(options))

    def blocks(
        self,
        volume_id: str,
        file_id: str,
        *,
        types: Iterable[str] | None = None,
        search_content: str | None = None,
        block_ids: Iterable[str] | None = None,
        **options: Unpack[PageOptions],
    ) -> AsyncPaginator[Block]:
        """The blocks (segments) a processed file was split into, page by page (POST body
        ``offset``/``limit``); filter by block ``types`` (``"text"``, ``"table"``...), text in
        the content, or ids."""
        path = self._path(self._paths.volume_file_blocks, volume_id=volume_id, file_id=file_id)
        filters = {
            "types": None if types is None else checks.name_list("types", types),
            "search_content": checks.optional_text("search_content", search_content),
            "block_ids": None if block_ids is None else checks.id_list("block_ids", block_ids),
        }
        return self._list(
            path,
            _BLOCKS,
            style=_OFFSETS,
            method="POST",
            params={"filters": _drop_none(filters)},
            in_body=True,
            options=options,
        )

    async def delete_blocks(
        self,
        volume_id: str,
        file_id: str,
        block_ids: Iterable[str],
        **options: Unpack[CallOptions],
    ) -> None:
        """Delete blocks of a processed file (the service answers 204 or 200; both are
        success). Deleting blocks twice is harmless, so failures are retried."""
        path = self._path(self._paths.volume_file_blocks, volume_id=volume_id, file_id=file_id)
        body = {"ids": checks.id_list("block_ids", block_ids)}
        await self._delete(path, json=body, absent_ok=False, options=options)


class Volumes:
    """``moi.volumes``: ``.raw`` (:class:`RawVolumes`) and ``.processed``
    (:class:`ProcessedVolumes`)."""

    def __init__(self, session: Session, paths: MOIPaths) -> None:
        self.raw = RawVolumes(session, paths)
        self.processed = ProcessedVolumes(session, paths)

    def __repr__(self) -> str:
        return "<Volumes raw, processed>"
