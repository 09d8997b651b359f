"""``moi.connectors``: data-source connectors and the files they can see."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, Unpack, overload

from attrs import asdict

from .._core import checks
from .._core.errors import InvalidInputError, NotFoundError
from .._core.options import CallOptions, PageOptions, call_options
from .._core.paging import AsyncPaginator, CursorPaging, NumberedPaging, PageResult
from .._core.resource import PageReader, Resource, items, page_reader
from ._args import order_by_field
from .models import Connector, ConnectorFile, FileType, OSSConfig, S3Config, SourceType
from .paths import MOIPaths

__all__ = ["Connectors"]

_REQUIRED = {
    OSSConfig: ("endpoint", "access_key_id", "access_key_secret", "bucket_name"),
    S3Config: ("endpoint", "access_key_id", "access_key_secret", "bucket_name", "region"),
}
_PAGES = NumberedPaging()
_CURSOR = CursorPaging()
_CONNECTORS = page_reader(Connector, "connectors")


def _config_body(config: object) -> tuple[SourceType, dict[str, Any]]:
    """The ``config: {oss|s3: {...}}`` shape, after checking required fields."""
    if not isinstance(config, (OSSConfig, S3Config)):
        raise InvalidInputError(
            f"config must be an OSSConfig or an S3Config, got {type(config).__name__}"
        )
    kind = "OSS" if isinstance(config, OSSConfig) else "S3"
    for name in _REQUIRED[type(config)]:
        value = getattr(config, name)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInputError(f"{kind} config: {name} is required")
    fields = {k: v for k, v in asdict(config).items() if v is not None}
    if isinstance(config, OSSConfig):
        return SourceType.OSS, {"oss": fields}
    return SourceType.S3, {"s3": fields}


def _files_cursor(data: Any) -> PageResult[Any]:
    return PageResult(
        items(data, "files"), next_cursor=data.get("cursor"), has_more=data.get("has_more")
    )


_FILES = PageReader(ConnectorFile, _files_cursor)


def _valid(data: Any) -> bool:
    return bool(data["valid"])


class Connectors(Resource[MOIPaths]):
    """Create, validate, list, update and delete connectors; list the files they see."""

    @overload
    async def create(
        self,
        name: str,
        config: OSSConfig | S3Config,
        *,
        resolve: Literal[False] = ...,
        **options: Unpack[CallOptions],
    ) -> None: ...

    @overload
    async def create(
        self,
        name: str,
        config: OSSConfig | S3Config,
        *,
        resolve: Literal[True],
        **options: Unpack[CallOptions],
    ) -> Connector: ...

    @overload
    async def create(
        self,
        name: str,
        config: OSSConfig | S3Config,
        *,
        resolve: bool,
        **options: Unpack[CallOptions],
    ) -> Connector | None: ...

    async def create(
        self,
        name: str,
        config: OSSConfig | S3Config,
        *,
        resolve: bool = False,
        **options: Unpack[CallOptions],
    ) -> Connector | None:
        """Create a connector. The service answers no id: the call returns None, or with
        ``resolve=True`` the new connector, looked up by name (racy if others create the same
        name; :class:`~asyncsdk.NotFoundError` if it is not listed).

        Not retried once sent: if it fails with ``TransportError(request_sent=True)``, list
        connectors by name before creating again.
        """
        checked = call_options(options)
        checks.text("name", name)
        checks.boolean("resolve", resolve)
        source_type, body = _config_body(config)
        json = {"name": name, "source_type": int(source_type), "config": body}
        await self._post(self._paths.connectors, json=json, idempotent=False, options=checked)
        if not resolve:
            return None
        found = await self.find(name, **checked)
        if found is None:
            raise NotFoundError(
                f"connector {name!r} was created, but is not listed",
                status=404,
                method="GET",
                path=self._paths.connector_list,
            )
        return found

    async def find(self, name: str, **options: Unpack[CallOptions]) -> Connector | None:
        """The connector named exactly ``name``, or None."""
        checks.text("name", name)
        async for connector in self.list(keyword=name, **options):
            if connector.name == name:
                return connector
        return None

    async def validate(
        self,
        *,
        connector_id: int | str | None = None,
        config: OSSConfig | S3Config | None = None,
        source_type: SourceType | None = None,
        **options: Unpack[CallOptions],
    ) -> bool:
        """Check a saved connector (``connector_id``) or an unsaved ``config``; True if valid.

        The service wants the source type with a connector id; pass ``source_type`` if you
        know it, otherwise it is looked up in the connector listing (one more request).
        """
        checked = call_options(options)
        if (connector_id is None) == (config is None):
            raise InvalidInputError("pass exactly one of connector_id or config")
        body: dict[str, Any]
        if config is not None:
            source_type, config_body = _config_body(config)
            body = {"source_type": int(source_type), "config": config_body}
        else:
            wanted = checks.numeric_id("connector_id", connector_id)
            if source_type is not None:
                checks.integer("source_type", source_type)
            if source_type is None:
                source_type = SourceType.UNKNOWN
                async for connector in self.list(**checked):
                    if connector.id == str(wanted):
                        source_type = connector.source_type
                        break
            body = {"source_type": int(source_type), "connector_id": wanted}
        return await self._post(
            self._paths.connector_validate,
            json=body,
            idempotent=True,
            parse=_valid,
            options=checked,
        )

    def list(
        self,
        *,
        keyword: str | None = None,
        order_by: str | None = None,
        descending: bool | None = None,
        **options: Unpack[PageOptions],
    ) -> AsyncPaginator[Connector]:
        """Every connector, page by page (``page``/``page_size``)."""
        params = {
            "keyword": checks.optional_text("keyword", keyword),
            "order_by": order_by_field(order_by),
            "is_desc": checks.optional_bool("descending", descending),
        }
        return self._list(
            self._paths.connector_list, _CONNECTORS, style=_PAGES, params=params, options=options
        )

    async def update(
        self,
        connector_id: int | str,
        *,
        name: str | None = None,
        config: OSSConfig | S3Config | None = None,
        **options: Unpack[CallOptions],
    ) -> None:
        """Rename a connector and/or replace its settings."""
        if name is None and config is None:
            raise InvalidInputError("pass name, config, or both")
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = checks.text("name", name)
        if config is not None:
            body["config"] = _config_body(config)[1]
        path = self._path(
            self._paths.connector, connector_id=checks.numeric_id("connector_id", connector_id)
        )
        await self._put(path, json=body, options=options)

    async def delete(self, connector_id: int | str, **options: Unpack[CallOptions]) -> None:
        """Delete a connector."""
        path = self._path(
            self._paths.connector, connector_id=checks.numeric_id("connector_id", connector_id)
        )
        await self._delete(path, options=options)

    def files(
        self,
        connector_id: int | str,
        *,
        file_types: Iterable[FileType | int] | None = None,
        dir: str | None = None,
        **options: Unpack[PageOptions],
    ) -> AsyncPaginator[ConnectorFile]:
        """The files a connector sees, through its cursor (``cursor``/``has_more``): pages
        come one after another (``prefetch=`` fetches ahead; ``concurrency`` must stay 1).

        ``dir`` lists one directory level (directories come back with type 10).
        """
        params = {
            "connector_id": checks.numeric_id("connector_id", connector_id),
            "file_types": checks.optional_int_list("file_types", file_types),
            "dir": None if dir is None else checks.text("dir", dir, allow_empty=True),
        }
        return self._list(
            self._paths.connector_files,
            _FILES,
            style=_CURSOR,
            params=params,
            options=options,
        )
