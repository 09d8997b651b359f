"""The MOI (MatrixOne Intelligence) service: client, resources and models."""

from .client import MOIClient
from .models import (
    CommonFileTaskConfig,
    Connector,
    ConnectorConfig,
    ConnectorFile,
    FileType,
    LoadIntervalType,
    LoadModeConfig,
    OSSConfig,
    S3Config,
    SourceType,
    Task,
    TaskFile,
    TaskFileStatus,
    TaskSourceConfig,
    TaskStatus,
)
from .paths import CURRENT, SEED, MOIPaths
from .tasks import TaskFileCounts

__all__ = [
    "CURRENT",
    "SEED",
    "CommonFileTaskConfig",
    "Connector",
    "ConnectorConfig",
    "ConnectorFile",
    "FileType",
    "LoadIntervalType",
    "LoadModeConfig",
    "MOIClient",
    "MOIPaths",
    "OSSConfig",
    "S3Config",
    "SourceType",
    "Task",
    "TaskFile",
    "TaskFileCounts",
    "TaskFileStatus",
    "TaskSourceConfig",
    "TaskStatus",
]
