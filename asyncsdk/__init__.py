"""asyncsdk: an asyncio-native SDK for the MOI and MAXIR data-platform APIs.

from asyncsdk import MaxirClient, MOIClient

async with MOIClient.from_env() as moi:
    async for f in moi.connectors.files(connector_id):
        ...

async with MaxirClient.from_env() as mx:
    async for source in mx.datasources.list(dataset_id, status=["synched"]):
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
    DataSourceSyncError,
    DecodeError,
    InvalidInputError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    WaitTimeoutError,
)
from ._core.fanout import Outcome, fan_out
from ._core.paging import AsyncPaginator, ListingProgress, Page
from ._core.retry import RetryPolicy
from .maxir import (
    Dataset,
    DatasetOverview,
    DatasetStatus,
    DataSource,
    DataSourceStatus,
    MaxirClient,
    Presigned,
)
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
    TaskFileCounts,
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
    "DataSource",
    "DataSourceStatus",
    "DataSourceSyncError",
    "Dataset",
    "DatasetOverview",
    "DatasetStatus",
    "DecodeError",
    "FileType",
    "InvalidInputError",
    "Job",
    "JobFile",
    "JobFileCounts",
    "JobFileStatus",
    "JobStatus",
    "ListingProgress",
    "LoadIntervalType",
    "MOIClient",
    "MaxirClient",
    "MetricName",
    "MetricPoint",
    "MetricSeries",
    "NotFoundError",
    "OSSConfig",
    "Outcome",
    "Page",
    "PaginationError",
    "PermissionDeniedError",
    "Presigned",
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
    "TaskFileCounts",
    "TaskFileStatus",
    "TaskStatus",
    "TransportError",
    "WaitTimeoutError",
    "Workflow",
    "WorkflowConfig",
    "WorkflowStatus",
    "__version__",
    "fan_out",
]
