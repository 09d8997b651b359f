"""``MOIClient``: the MatrixOne Intelligence API, with login and background token refresh."""

from __future__ import annotations

from typing import Any, Literal

from .._core.auth import TokenAuth
from .._core.client import BaseClient, read_env
from .._core.errors import InvalidInputError
from .._core.retry import RetryPolicy
from .._core.session import DEFAULT_MAX_RESPONSE_BYTES, Session
from ._envelope import MOIEnvelope, MOITokenProvider
from .connectors import Connectors
from .jobs import Jobs
from .metrics import Metrics
from .paths import MOIPaths, resolve_paths
from .tasks import Tasks
from .volumes import Volumes
from .workflows import Workflows

__all__ = ["MOIClient"]


class MOIClient(BaseClient):
    """An async client for MOI.

    Logs in on ``async with`` (or on first use), then keeps the 15-minute access token fresh
    in the background; any number of concurrent calls share one refresh::

        async with MOIClient(base_url, account_name=..., username=..., password=...) as moi:
            async for f in moi.connectors.files(connector_id):
                ...

    ``timeout`` (seconds, per attempt), ``retry`` and ``pool_size`` (concurrent connections)
    are client-wide defaults (``with_options`` makes a copy with others); ``max_response_bytes``
    caps a non-streamed answer (64 MiB by default); every method also takes ``timeout=`` and
    ``retry=``.
    ``refresh_margin`` / ``mandatory_refresh_margin`` open the advisory and mandatory refresh
    windows before expiry. ``paths="current"`` targets the post-May-2025 BYOA paths.
    ``metrics_url`` sends metric queries to another URL (e.g. the in-cluster
    ``http://ob-service.mo-ob/ob/metrics``); credentials go there only if it is the API's own
    origin.

    Resources (attributes of every client):

    - ``connectors``: data-source connectors and the files they can see (cursor listing);
    - ``tasks``: load tasks, which copy a connector's files into a raw volume, and their files;
    - ``workflows``: processing workflows on the BYOA service;
    - ``jobs``: runs of those workflows, and their files;
    - ``volumes``: ``volumes.raw`` (where load tasks put files) and ``volumes.processed``
      (where workflows put parsed files and their blocks);
    - ``metrics``: load and processing metrics over a time range.
    """

    def __init__(
        self,
        base_url: str,
        *,
        account_name: str,
        username: str,
        password: str,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        pool_size: int = 100,
        retry: RetryPolicy | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        refresh_margin: float = 120.0,
        mandatory_refresh_margin: float = 30.0,
        paths: Literal["seed", "current"] | MOIPaths = "seed",
        metrics_url: str | None = None,
    ) -> None:
        for name, value in (
            ("account_name", account_name),
            ("username", username),
            ("password", password),
        ):
            if not isinstance(value, str) or not value:
                raise InvalidInputError(f"{name} is required (a non-empty string)")
        self._account_name = account_name
        self._username = username
        self._paths = resolve_paths(paths)
        if metrics_url is not None and (
            not isinstance(metrics_url, str) or not metrics_url.startswith(("http://", "https://"))
        ):
            raise InvalidInputError("metrics_url must be an absolute http:// or https:// URL")
        self._metrics_url = metrics_url
        provider = MOITokenProvider(account_name, username, password, self._paths)
        auth = TokenAuth(
            provider, refresh_margin=refresh_margin, mandatory_margin=mandatory_refresh_margin
        )
        session = Session(
            base_url,
            auth=auth,
            envelope=MOIEnvelope(),
            timeout=timeout,
            connect_timeout=connect_timeout,
            pool_size=pool_size,
            retry=retry,
            max_response_bytes=max_response_bytes,
        )
        provider.session = session
        self._owner = True
        self._bind(session)

    def _bind(self, session: Session) -> None:
        super()._bind(session)
        self.connectors = Connectors(session, self._paths)
        self.tasks = Tasks(session, self._paths)
        self.workflows = Workflows(session, self._paths)
        self.jobs = Jobs(session, self._paths)
        self.volumes = Volumes(session, self._paths)
        self.metrics = Metrics(session, self._paths, self._account_name, self._metrics_url)

    @classmethod
    def from_env(cls, **overrides: Any) -> MOIClient:
        """A client configured from ``ASYNCSDK_MOI_BASE_URL``, ``ASYNCSDK_MOI_ACCOUNT_NAME``,
        ``ASYNCSDK_MOI_USERNAME`` and ``ASYNCSDK_MOI_PASSWORD`` (keyword arguments win)."""
        settings = read_env(
            "ASYNCSDK_MOI_",
            {"base_url": True, "account_name": True, "username": True, "password": True},
            overrides,
        )
        return cls(settings.pop("base_url"), **settings)

    def __repr__(self) -> str:
        return (
            f"MOIClient(base_url={self._session.base_url!r}, "
            f"account_name={self._account_name!r}, username={self._username!r})"
        )
