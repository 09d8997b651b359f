"""asyncsdk: an asyncio-native SDK for the MOI and MAXIR data-platform APIs.

    from asyncsdk import MOIClient

    async with MOIClient.from_env() as moi:
        async for f in moi.connectors.files(connector_id):
            ...
"""

from ._core.client import ClientStats
from ._core.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AsyncSDKError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DecodeError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
)
from ._core.fanout import Outcome, fan_out
from ._core.paging import AsyncPaginator, Page
from ._core.polling import WaitTimeoutError
from ._core.retry import RetryPolicy
from .moi import (
    Connector,
    ConnectorFile,
    FileType,
    LoadIntervalType,
    MOIClient,
    OSSConfig,
    S3Config,
    SourceType,
    Task,
    TaskFile,
    TaskFileCounts,
    TaskFileStatus,
    TaskStatus,
)

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncPaginator",
    "AsyncSDKError",
    "AuthenticationError",
    "BadRequestError",
    "ClientStats",
    "ConflictError",
    "Connector",
    "ConnectorFile",
    "DecodeError",
    "FileType",
    "InvalidInputError",
    "LoadIntervalType",
    "MOIClient",
    "NotFoundError",
    "OSSConfig",
    "Outcome",
    "Page",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "S3Config",
    "ServerError",
    "SourceType",
    "Task",
    "TaskFile",
    "TaskFileCounts",
    "TaskFileStatus",
    "TaskStatus",
    "TransportError",
    "WaitTimeoutError",
    "__version__",
    "fan_out",
]
