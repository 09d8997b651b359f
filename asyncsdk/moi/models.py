"""MOI models and enums (MOI-API.md §4–§6).

Models are frozen attrs classes. Every field but the id has a default, because the service leaves
fields out freely (older eras, list vs. get answers); ids are ``str`` whatever the wire type;
timestamps are aware datetimes; credentials never appear in a repr.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from attrs import define, field

from .._core.convert import converter
from .._core.enums import OpenIntEnum

__all__ = [
    "CommonFileTaskConfig",
    "Connector",
    "ConnectorConfig",
    "ConnectorFile",
    "FileType",
    "LoadIntervalType",
    "LoadModeConfig",
    "OSSConfig",
    "S3Config",
    "SourceType",
    "Task",
    "TaskFile",
    "TaskFileStatus",
    "TaskSourceConfig",
    "TaskStatus",
]


def _hidden(value: object) -> str:
    return "<hidden>" if value else repr(value)


# -- enums ------------------------------------------------------------------------------------


class SourceType(OpenIntEnum):
    """Connector source type (§4.1)."""

    UNKNOWN = 0
    DIFY = 1
    HDFS = 2
    MO = 3
    OSS = 4
    S3 = 5


class FileType(OpenIntEnum):
    """File type of connector, task and volume files (§4.2)."""

    NONE = 0
    TXT = 1
    PDF = 2
    IMAGE = 3
    PPT = 4
    WORD = 5
    MARKDOWN = 6
    CSV = 7
    PARQUET = 8
    SQL = 9
    DIRECTORY = 10
    DOCX = 11
    PPTX = 12
    WAV = 13
    MP3 = 14
    AAC = 15
    FLAC = 16
    MP4 = 17
    MOV = 18
    MKV = 19
    PNG = 20
    JPG = 21
    JPEG = 22
    BMP = 23
    XLS = 24
    XLSX = 25
    HTM = 27
    HTML = 28
    EML = 29
    MSG = 30
    P7S = 31
    DWG = 32
    DXF = 33
    FAS = 34


class LoadIntervalType(OpenIntEnum):
    """How often a load task runs (§4.3)."""

    UNKNOWN = 0
    DAY = 1
    HOUR = 2
    MINUTE = 3
    ONCE = 4


class TaskStatus(OpenIntEnum):
    """Load task status (§4.4)."""

    UNKNOWN = 0
    RUNNING = 1
    PAUSING = 2
    PAUSED = 3
    FINISHED = 4


class TaskFileStatus(OpenIntEnum):
    """Status of one file of a load task, also of raw-volume files (§4.5)."""

    UNKNOWN = 0
    WAITING = 1
    UPLOADING = 2
    PAUSED = 3
    FAILED = 4
    SUCCEEDED = 5
    RETRYING = 6


# -- connectors -------------------------------------------------------------------------------


@define(frozen=True)
class OSSConfig:
    """Alibaba Cloud OSS connection settings."""

    endpoint: str
    access_key_id: str
    access_key_secret: str = field(repr=_hidden)
    bucket_name: str


@define(frozen=True)
class S3Config:
    """S3 (or S3-compatible) connection settings."""

    endpoint: str
    access_key_id: str
    access_key_secret: str = field(repr=_hidden)
    bucket_name: str
    region: str
    path_style: bool | None = None
    session_token: str | None = field(default=None, repr=_hidden)


@define(frozen=True)
class ConnectorConfig:
    """A connector's settings: the object matching its ``source_type``.

    DIFY, HDFS and MO settings (newer eras) are kept as plain dicts; they hold credentials too,
    so they are hidden from the repr.
    """

    oss: OSSConfig | None = None
    s3: S3Config | None = None
    dify: dict[str, Any] | None = field(default=None, repr=_hidden)
    hdfs: dict[str, Any] | None = field(default=None, repr=_hidden)
    mo: dict[str, Any] | None = field(default=None, repr=_hidden)


_CONFIG_KEYS = ("oss", "s3", "dify", "hdfs", "mo")


@define(frozen=True)
class Connector:
    """A configured data source."""

    id: str
    name: str = ""
    source_type: SourceType = SourceType.UNKNOWN
    status: str = ""
    username: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    related_task_ids: tuple[str, ...] = ()
    config: ConnectorConfig = field(factory=ConnectorConfig)


@define(frozen=True)
class ConnectorFile:
    """A file (or directory, type 10) in a connector's source."""

    uri: str
    filename: str = ""
    size: int = 0
    type: FileType = FileType.NONE
    path: str | None = None
    create_time: datetime | None = None
    update_time: datetime | None = None


# -- load tasks -------------------------------------------------------------------------------


@define(frozen=True)
class LoadModeConfig:
    load_interval_type: LoadIntervalType = LoadIntervalType.ONCE
    interval: int = 0


@define(frozen=True)
class CommonFileTaskConfig:
    load_mode_config: LoadModeConfig = field(factory=LoadModeConfig)
    uris: tuple[str, ...] = ()
    file_filter_config: dict[str, Any] | None = None


@define(frozen=True)
class TaskSourceConfig:
    common_file_task_config: CommonFileTaskConfig = field(factory=CommonFileTaskConfig)


@define(frozen=True)
class Task:
    """A load task: copies files from a connector into a raw volume."""

    id: str
    name: str = ""
    status: TaskStatus = TaskStatus.UNKNOWN
    source_connector_id: str = ""
    source_connector_type: SourceType = SourceType.UNKNOWN
    connector_name: str = ""
    volume_id: str = ""
    volume_name: str = ""
    creator: str = ""
    source_config: TaskSourceConfig = field(factory=TaskSourceConfig)
    start_at: datetime | None = None
    end_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@define(frozen=True)
class TaskFile:
    """One file of a load task (the same shape serves raw-volume files)."""

    id: str
    name: str = ""
    type: FileType = FileType.NONE
    status: TaskFileStatus = TaskFileStatus.UNKNOWN
    size: int = 0
    path: str = ""
    user: str = ""
    reason: str = ""
    other_metadata: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    update_time: datetime | None = None


# -- structuring quirks -----------------------------------------------------------------------


def _structure_connector(value: Any, cls: type) -> Connector:
    # Newer eras put oss/s3/... at the top level instead of under "config" (D5): read both.
    if isinstance(value, dict) and "config" not in value:
        lifted = {key: value[key] for key in _CONFIG_KEYS if key in value}
        if lifted:
            value = {**value, "config": lifted}
    return _connector_hook(value, cls)


_connector_hook = converter.gen_structure_attrs_fromdict(Connector)
converter.register_structure_hook(Connector, _structure_connector)
