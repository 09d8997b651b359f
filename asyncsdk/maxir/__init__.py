"""The MAXIR AI team API (Powerdrill Open API v2): client, resources and models."""

from .._core.errors import DataSourceSyncError
from ._resource import ALLOWED_EXTENSIONS
from .client import API_KEY_HEADER, POWERDRILL_BASE_URL, MaxirClient
from .models import (
    Dataset,
    DatasetOverview,
    DatasetStatus,
    DataSource,
    DataSourceStatus,
    Presigned,
)
from .paths import V2_PATHS, MaxirPaths

__all__ = [
    "ALLOWED_EXTENSIONS",
    "API_KEY_HEADER",
    "POWERDRILL_BASE_URL",
    "V2_PATHS",
    "DataSource",
    "DataSourceStatus",
    "DataSourceSyncError",
    "Dataset",
    "DatasetOverview",
    "DatasetStatus",
    "MaxirClient",
    "MaxirPaths",
    "Presigned",
]
