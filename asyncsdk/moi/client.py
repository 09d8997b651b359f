"""``MOIClient``: the MatrixOne Intelligence API, with an API key or a login kept fresh."""

from __future__ import annotations

import os
from typing import Any, Literal

from .._core.auth import ApiKeyAuth, Auth, TokenAuth
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

    With an API key (today's MOI), every call carries it in the ``moi-key`` header: no login,
    no refresh, nothing running in the background; a rejected key raises
    :class:`AuthenticationError` at once::

        async with MOIClient(base_url, api_key=key) as moi:
            async for f in moi.connectors.files(connector_id):
                ...

    With a password (deployments that log in), the client logs in on ``async with`` (or on
    first use), then keeps the 15-minute access token fresh in the background; any number of
    concurrent calls share one refresh::

        async with MOIClient(base_url, account_name=..., username=..., password=...) as moi:
            ...

    Give one or the other: an API key together with a username or password is refused.
    ``account_name`` is optional with a key; it is the default account of metric queries.

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
        api_key: str | None = None,
        account_name: str | None = None,
        username: str | None = None,
        password: str | None = None,
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
        self._paths = resolve_paths(paths)
        if metrics_url is not None and (
            not isinstance(metrics_url, str) or not metrics_url.startswith(("http://", "https://"))
        ):
            raise InvalidInputError("metrics_url must be an absolute http:// or https:// URL")
        self._metrics_url = metrics_url
        self._username = username
        self._api_key_mode = api_key is not None
        provider: MOITokenProvider | None = None
        auth: Auth
        if api_key is not None:
            if username is not None or password is not None:
                raise InvalidInputError("give either api_key or username and password, not both")
            if not isinstance(api_key, str) or not api_key:
                raise InvalidInputError("api_key must be a non-empty string")
            if not all(" " < c < "\x7f" for c in api_key):
                # It goes into a header: refuse what would break or split it (never echo it).
                raise InvalidInputError("api_key must be printable ASCII without spaces")
            if account_name is not None:
                _required("account_name", account_name)
            self._account_name = account_name
            auth = ApiKeyAuth("moi-key", api_key)
        else:
            if account_name is None and username is None and password is None:
                raise InvalidInputError(
                    "credentials are required: api_key, or account_name, username and password"
                )
            self._account_name = _required("account_name", account_name)
            provider = MOITokenProvider(
                self._account_name,
                _required("username", username),
                _required("password", password),
                self._paths,
            )
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
        if provider is not None:
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
        self.metrics = Metrics(session, self._paths, self._account_name or "", self._metrics_url)

    @classmethod
    def from_env(cls, **overrides: Any) -> MOIClient:
        """A client configured from the environment (keyword arguments win).

        ``ASYNCSDK_MOI_BASE_URL``, and then either ``ASYNCSDK_MOI_API_KEY`` or
        ``ASYNCSDK_MOI_ACCOUNT_NAME``, ``ASYNCSDK_MOI_USERNAME`` and ``ASYNCSDK_MOI_PASSWORD``.
        When the API key is set it is used and the password settings are ignored (an account
        name, if set, is kept as the default account of metric queries).
        """
        password_given = "username" in overrides or "password" in overrides
        key_mode = "api_key" in overrides or (
            not password_given and bool(os.environ.get("ASYNCSDK_MOI_API_KEY"))
        )
        names = (
            {"base_url": True, "api_key": True, "account_name": False}
            if key_mode
            else {"base_url": True, "account_name": True, "username": True, "password": True}
        )
        settings = read_env("ASYNCSDK_MOI_", names, overrides)
        return cls(settings.pop("base_url"), **settings)

    def __repr__(self) -> str:
        if self._api_key_mode:
            return (
                f"MOIClient(base_url={self._session.base_url!r}, api_key=<hidden>, "
                f"account_name={self._account_name!r})"
            )
        return (
            f"MOIClient(base_url={self._session.base_url!r}, "
            f"account_name={self._account_name!r}, username={self._username!r})"
        )


def _required(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{name} is required (a non-empty string)")
    return value
