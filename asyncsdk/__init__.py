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
from ._core.paging import AsyncPaginator, Page
from ._core.polling import WaitTimeoutError
from ._core.retry import RetryPolicy
from .moi import (
    Block,
    Connector,
    ConnectorFile,
    FileType,
    Job,
    JobFile,
    JobFileCounts,
    JobFileStatus,
    JobStatus,
    LoadIntervalType,
    MetricName,
    MetricPoint,
    MetricSeries,
    MOIClient,
    OSSConfig,
    ProcessedFile,
    ProcessedVolume,
    ProcessInterval,
    ProcessMode,
    RawVolume,
    S3Config,
    SourceType,
    Task,
    TaskFile,
    TaskFileStatus,
    TaskStatus,
    Workflow,
    WorkflowConfig,
    WorkflowStatus,
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
    "Block",
    "ClientStats",
    "ConflictError",
    "Connector",
    "ConnectorFile",
    "DecodeError",
    "FileType",
    "InvalidInputError",
    "Job",
    "JobFile",
    "JobFileCounts",
    "JobFileStatus",
    "JobStatus",
    "LoadIntervalType",
    "MOIClient",
    "MetricName",
    "MetricPoint",
    "MetricSeries",
    "NotFoundError",
    "OSSConfig",
    "Page",
    "PermissionDeniedError",
    "ProcessInterval",
    "ProcessMode",
    "ProcessedFile",
    "ProcessedVolume",
    "RateLimitError",
    "RawVolume",
    "RetryPolicy",
    "S3Config",
    "ServerError",
    "SourceType",
    "Task",
    "TaskFile",
    "TaskFileStatus",
    "TaskStatus",
    "TransportError",
    "WaitTimeoutError",
    "Workflow",
    "WorkflowConfig",
    "WorkflowStatus",
    "__version__",
]
