"""``MaxirClient``: the MAXIR AI team API (Powerdrill's Open API v2), with a project API key."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Unpack

from .._core.auth import ApiKeyAuth
from .._core.client import BaseClient, read_env
from .._core.errors import InvalidInputError
from .._core.options import CallOptions
from .._core.retry import RetryPolicy
from .._core.session import DEFAULT_MAX_RESPONSE_BYTES, Session
from ._envelope import MaxirEnvelope
from ._resource import check_user_id
from .datasets import Datasets
from .datasources import DataSources
from .paths import V2_PATHS, MaxirPaths

__all__ = ["API_KEY_HEADER", "POWERDRILL_BASE_URL", "MaxirClient"]

#: The header carrying the project API key on every call.
API_KEY_HEADER = "x-pd-api-key"

#: Powerdrill's hosted API. A MAXIR instance has its own, e.g. ``https://<domain>/app/api``.
POWERDRILL_BASE_URL = "https://ai.data.cloud/api"

_API_PREFIX = "/v2/team"


def _base_url(base_url: object) -> str:
    if not isinstance(base_url, str) or not base_url.strip():
        raise InvalidInputError("base_url must be a non-empty string")
    base = base_url.strip().rstrip("/")
    # Powerdrill's own tools take the URL *with* /v2/team: accept that form too, rather than
    # sending every call to /v2/team/v2/team/...
    if base.endswith(_API_PREFIX):
        base = base[: -len(_API_PREFIX)]
    if not base.lower().startswith(("http://", "https://")):
        raise InvalidInputError(f"base_url must start with http:// or https://, got {base_url!r}")
    return base


def _api_key(api_key: object) -> str:
    # The key's value never appears in a message.
    if not isinstance(api_key, str) or not api_key.strip():
        raise InvalidInputError("api_key is required (a non-empty string)")
    if not all("!" <= ch <= "~" for ch in api_key):
        raise InvalidInputError("api_key must be printable ASCII without spaces")
    return api_key


class MaxirClient(BaseClient):
    """An async client for MAXIR AI (and Powerdrill, which speaks the same v2 API).

    ``base_url`` is everything before ``/v2/team``: ``https://<domain>/app/api`` for a MAXIR
    instance, :data:`POWERDRILL_BASE_URL` for Powerdrill. ``api_key`` is a project API key,
    sent as ``x-pd-api-key`` to that origin only (never to a presigned link). ``user_id`` (the
    team member's ``tmm-...`` id) is the default for every call; each method also takes
    ``user_id=``::

        async with MaxirClient(base_url, api_key=..., user_id="tmm-...") as mx:
            async for source in mx.datasources.list(dataset_id, status=["synched"]):
                ...

    ``timeout`` (seconds, per attempt), ``retry`` and ``pool_size`` (concurrent connections)
    are client-wide defaults (``with_options`` makes a copy with others); ``max_response_bytes``
    caps a non-streamed answer (64 MiB by default); every method also takes ``timeout=`` and
    ``retry=``, and
    ``trace_id=`` (sent as ``x-pd-external-trace-id``). Errors carry the service's
    ``x-pd-trace-id`` as ``request_id``.

    Resources (attributes of every client):

    - ``datasets``: create, list, inspect, rename and delete datasets;
    - ``datasources``: the files of a dataset: create from a URL or an upload, list by status,
      wait until synched, presign a download link, delete.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str,
        user_id: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        pool_size: int = 100,
        retry: RetryPolicy | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        paths: MaxirPaths = V2_PATHS,
    ) -> None:
        if not isinstance(paths, MaxirPaths):
            raise InvalidInputError(f"paths must be a MaxirPaths, got {type(paths).__name__}")
        self._paths = paths
        self._user_id = None if user_id is None else check_user_id(user_id)
        session = Session(
            _base_url(base_url),
            auth=ApiKeyAuth(API_KEY_HEADER, _api_key(api_key)),
            envelope=MaxirEnvelope(),
            timeout=timeout,
            connect_timeout=connect_timeout,
            pool_size=pool_size,
            retry=retry,
            max_response_bytes=max_response_bytes,
        )
        self._owner = True
        self._bind(session)

    def _bind(self, session: Session) -> None:
        super()._bind(session)
        self.datasets = Datasets(session, self._paths, user_id=self._user_id)
        self.datasources = DataSources(session, self._paths, user_id=self._user_id)

    @property
    def user_id(self) -> str | None:
        """The ``user_id`` calls use when they are not given one."""
        return self._user_id

    def with_options(
        self,
        *,
        headers: Mapping[str, str] | None = None,
        base_url: str | None = None,
        user_id: str | None = None,
        **options: Unpack[CallOptions],
    ) -> MaxirClient:
        """A copy with other defaults, sharing connections, the key and counters::

        alice = mx.with_options(user_id="tmm-alice")   # act for another team member
        patient = mx.with_options(timeout=120)
        """
        if user_id is None:
            return super().with_options(headers=headers, base_url=base_url, **options)
        clone = copy.copy(self)
        clone._user_id = check_user_id(user_id)
        return BaseClient.with_options(clone, headers=headers, base_url=base_url, **options)

    @classmethod
    def from_env(cls, **overrides: Any) -> MaxirClient:
        """A client configured from ``ASYNCSDK_MAXIR_BASE_URL``, ``ASYNCSDK_MAXIR_API_KEY``
        and (optional) ``ASYNCSDK_MAXIR_USER_ID``; keyword arguments win."""
        settings = read_env(
            "ASYNCSDK_MAXIR_",
            {"base_url": True, "api_key": True, "user_id": False},
            overrides,
        )
        return cls(settings.pop("base_url"), **settings)

    def __repr__(self) -> str:
        return f"MaxirClient(base_url={self._session.base_url!r}, user_id={self.user_id!r})"
