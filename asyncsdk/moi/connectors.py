"""``moi.connectors``: data-source connectors and the files they can see (MOI-API.md §5)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from attrs import asdict

from .._core import checks
from .._core.checks import require_id
from .._core.convert import structure
from .._core.errors import InvalidInputError
from .._core.paging import AsyncPaginator, CursorPaging, NumberedPaging, PageResult
from .._core.resource import Resource
from .._core.retry import RetryPolicy
from .._core.session import Session
from .models import Connector, ConnectorFile, FileType, OSSConfig, S3Config, SourceType
from .paths import MOIPaths

__all__ = ["Connectors"]

_REQUIRED = {
    OSSConfig: ("endpoint", "access_key_id", "access_key_secret", "bucket_name"),
    S3Config: ("endpoint", "access_key_id", "access_key_secret", "bucket_name", "region"),
}


def _config_body(config: OSSConfig | S3Config) -> tuple[SourceType, dict[str, Any]]:
    """The seed's ``config: {oss|s3: {...}}`` shape (D5), after checking required fields."""
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


def connector_id_value(value: object) -> int:
    """A connector id as the wire wants it: an integer (D11)."""
    text = require_id("connector_id", value)
    if not text.isdigit():
        raise InvalidInputError(f"connector_id must be numeric, got {text!r}")
    return int(text)


class Connectors(Resource):
    """Create, validate, list, update and delete connectors; list the files they see."""

    def __init__(self, session: Session, paths: MOIPaths) -> None:
        super().__init__(session)
        self._paths = paths

    async def create(
        self,
        name: str,
        config: OSSConfig | S3Config,
        *,
        resolve: bool = False,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Connector | None:
        """Create a connector. The service returns no id (D6): with ``resolve=True`` the new
        connector is looked up by name and returned (racy if others create the same name).

        Not retried once sent: if it fails with ``TransportError(request_sent=True)``, list
        connectors by name before creating again.
        """
        if not isinstance(name, str) or not name.strip():
            raise InvalidInputError("name must be a non-empty string")
        source_type, body = _config_body(config)
        await self._session.request(
            "POST",
            self._paths.connectors,
            json={"name": name, "source_type": int(source_type), "config": body},
            idempotent=False,
            timeout=timeout,
            retry=retry,
        )
        if not resolve:
            return None
        return await self.find(name, timeout=timeout, retry=retry)

    async def find(
        self, name: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> Connector | None:
        """The connector named exactly ``name``, or None."""
        async for connector in self.list(keyword=name, timeout=timeout, retry=retry):
            if connector.name == name:
                return connector
        return None

    async def validate(
        self,
        *,
        connector_id: int | str | None = None,
        config: OSSConfig | S3Config | None = None,
        source_type: SourceType | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> bool:
        """Check a saved connector (``connector_id``) or an unsaved ``config``; True if valid.

        The service wants the source type with a connector id; pass ``source_type`` if you
        know it, otherwise it is looked up in the connector listing (one more request).
        """
        if (connector_id is None) == (config is None):
            raise InvalidInputError("pass exactly one of connector_id or config")
        body: dict[str, Any]
        if config is not None:
            source_type, config_body = _config_body(config)
            body = {"source_type": int(source_type), "config": config_body}
        else:
            wanted = connector_id_value(connector_id)
            if source_type is None:
                source_type = SourceType.UNKNOWN
                async for connector in self.list(timeout=timeout, retry=retry):
                    if connector.id == str(wanted):
                        source_type = connector.source_type
                        break
            body = {"source_type": int(source_type), "connector_id": wanted}
        return await self._session.request(
            "POST",
            self._paths.connector_validate,
            json=body,
            idempotent=True,
            parse=lambda data: bool(data["valid"]),
            timeout=timeout,
            retry=retry,
        )

    def list(
        self,
        *,
        keyword: str | None = None,
        order_by: str | None = None,
        is_desc: bool | None = None,
        page_size: int = 100,
        max_items: int | None = None,
        prefetch: int = 0,
        concurrency: int = 1,
        resume_from: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPaginator[Connector]:
        """Every connector, page by page (``page``/``page_size``)."""
        return self._paginate(
            "GET",
            self._paths.connector_list,
            style=NumberedPaging(),
            params={"keyword": keyword, "order_by": order_by, "is_desc": is_desc},
            parse_page=lambda data: PageResult(
                structure(data["connectors"] or [], list[Connector]), total=data.get("total")
            ),
            page_size=page_size,
            max_items=max_items,
            prefetch=prefetch,
            concurrency=concurrency,
            resume_from=resume_from,
            timeout=timeout,
            retry=retry,
        )

    async def update(
        self,
        connector_id: int | str,
        *,
        name: str | None = None,
        config: OSSConfig | S3Config | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Rename a connector and/or replace its settings."""
        if name is None and config is None:
            raise InvalidInputError("pass name, config, or both")
        body: dict[str, Any] = {}
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                raise InvalidInputError("name must be a non-empty string")
            body["name"] = name
        if config is not None:
            body["config"] = _config_body(config)[1]
        path = self._paths.connector.format(connector_id=connector_id_value(connector_id))
        await self._session.request(
            "PUT", path, json=body, idempotent=True, timeout=timeout, retry=retry
        )

    async def delete(
        self,
        connector_id: int | str,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Delete a connector."""
        path = self._paths.connector.format(connector_id=connector_id_value(connector_id))
        await self._session.request(
            "DELETE",
            path,
            idempotent=True,
            absent_ok_on_retry=True,
            timeout=timeout,
            retry=retry,
        )

    def files(
        self,
        connector_id: int | str,
        *,
        file_types: Iterable[FileType | int] | None = None,
        dir: str | None = None,
        page_size: int = 100,
        max_items: int | None = None,
        prefetch: int = 0,
        resume_from: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPaginator[ConnectorFile]:
        """The files a connector sees, through its cursor (``cursor``/``has_more``).

        ``dir`` lists one directory level (directories come back with type 10).
        """
        return self._paginate(
            "GET",
            self._paths.connector_files,
            style=CursorPaging(),
            params={
                "connector_id": connector_id_value(connector_id),
                "file_types": checks.optional_int_list("file_types", file_types),
                "dir": dir,
            },
            # The cursor is read from the raw page, so the next request goes out (with
            # prefetch) while this page's models are built.
            peek_page=lambda data: PageResult(
                data.get("files") or [],
                next_cursor=data.get("cursor"),
                has_more=data.get("has_more"),
            ),
            parse_page=lambda data: PageResult(
                structure(data.get("files") or [], list[ConnectorFile])
            ),
            page_size=page_size,
            max_items=max_items,
            prefetch=prefetch,
            concurrency=1,
            resume_from=resume_from,
            timeout=timeout,
            retry=retry,
        )
