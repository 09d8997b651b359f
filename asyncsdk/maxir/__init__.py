"""The MAXIR AI team API (Powerdrill Open API v2): client, resources and models."""

from ._resource import ALLOWED_EXTENSIONS
from .client import API_KEY_HEADER, POWERDRILL_BASE_URL, MaxirClient
from .datasources import DataSourceSyncError
from .models import (
    Dataset,
    DatasetOverview,
    DatasetStatus,
    DataSource,
    DataSourceStatus,
    Presigned,
)
from .paths import DEFAULT_PATHS, MaxirPaths

__all__ = [
    "ALLOWED_EXTENSIONS",
    "API_KEY_HEADER",
    "DEFAULT_PATHS",
    "POWERDRILL_BASE_URL",
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
