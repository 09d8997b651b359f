"""MOI models and enums (docs/wire/moi.md#enums).

Models are frozen attrs classes. Every field but the id has a default, because the service leaves
fields out freely (older eras, list vs. get answers); ids are ``str`` whatever the wire type;
timestamps are aware datetimes; credentials never appear in a repr.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from attrs import define, field
from cattrs.gen import make_dict_structure_fn, override

from .._core.convert import converter, structure_fn
from .._core.enums import OpenIntEnum, OpenStrEnum

__all__ = [
    "Block",
    "CommonFileTaskConfig",
    "Connector",
    "ConnectorConfig",
    "ConnectorFile",
    "FileType",
    "Job",
    "JobDescription",
    "JobFile",
    "JobFileCounts",
    "JobFileStatus",
    "JobStatus",
    "LoadIntervalType",
    "LoadModeConfig",
    "LoadResult",
    "MetricName",
    "MetricPoint",
    "MetricSeries",
    "OSSConfig",
    "ProcessInterval",
    "ProcessMode",
    "ProcessedFile",
    "ProcessedVolume",
    "RawVolume",
    "S3Config",
    "SourceType",
    "Task",
    "TaskFile",
    "TaskFileCounts",
    "TaskFileStatus",
    "TaskSourceConfig",
    "TaskStatus",
    "VolumePath",
    "Workflow",
    "WorkflowConfig",
    "WorkflowStatus",
]


def _hidden(value: object) -> str:
    return "<hidden>" if value else repr(value)


# -- enums ------------------------------------------------------------------------------------


class SourceType(OpenIntEnum):
    """Connector source type (docs/wire/moi.md#source-type)."""

    UNKNOWN = 0
    DIFY = 1
    HDFS = 2
    MO = 3
    OSS = 4
    S3 = 5


class FileType(OpenIntEnum):
    """File type of connector, task and volume files (docs/wire/moi.md#file-type)."""

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
    """How often a load task runs (docs/wire/moi.md#load-interval)."""

    UNKNOWN = 0
    DAY = 1
    HOUR = 2
    MINUTE = 3
    ONCE = 4


class TaskStatus(OpenIntEnum):
    """Load task status (docs/wire/moi.md#task-status)."""

    UNKNOWN = 0
    RUNNING = 1
    PAUSING = 2
    PAUSED = 3
    FINISHED = 4


class TaskFileStatus(OpenIntEnum):
    """Status of one file of a load task, also of raw-volume files
    (docs/wire/moi.md#task-file-status)."""

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
class VolumePath:
    """Where a task's volume sits (the current service only): ids and names from the top."""

    id_list: tuple[str, ...] = ()
    name_list: tuple[str, ...] = ()


@define(frozen=True)
class LoadResult:
    """What loading one file of a task gave (the current service only)."""

    lines: int = 0
    reason: str = ""


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
    #: Sent by the current service only.
    volume_path: VolumePath | None = None
    #: Sent by the current service only.
    load_results: tuple[LoadResult, ...] = ()


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
    # Newer eras put oss/s3/... at the top level instead of under "config"
    # (docs/wire/moi.md#d5): read both.
    if isinstance(value, dict) and "config" not in value:
        lifted = {key: value[key] for key in _CONFIG_KEYS if key in value}
        if lifted:
            value = {**value, "config": lifted}
    return _connector_hook(value, cls)


_connector_hook = converter.gen_structure_attrs_fromdict(Connector)
converter.register_structure_hook(Connector, _structure_connector)


def _by_name(value: Any, enum: type[OpenIntEnum]) -> Any:
    """A status or type the current service names (``"running"``) as the number the seed-era
    service sends for it; numbers and numeric strings pass through. An unknown name is left
    as it is, for the enum's hook to refuse with the name in the message."""
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        member = enum.__members__.get(value.strip().upper())
        if member is not None:
            return int(member)
    return value


def _status_by_name(enum: type[OpenIntEnum]) -> Any:
    hook = converter.get_structure_hook(enum)

    def structure(value: Any, cls: Any) -> Any:
        return hook(_by_name(value, enum) if type(value) is str else value, cls)

    return structure


# The current service (and the vendor's own clients) name the status and the source type;
# these hooks see only values that are not already a known number, so the seed era's numbers
# cost nothing extra. (It also writes an unset time as "0", which every optional time reads
# as None.)
_task_hook = structure_fn(
    Task,
    status=_status_by_name(TaskStatus),
    source_connector_type=_status_by_name(SourceType),
)


def _structure_task(value: Any, cls: type) -> Task:
    # The seed-era service wraps the task as {"task": {...}} (no "id" at the top); the current
    # one answers with the task itself. Looked at first: a KeyError raised and caught costs a
    # single task's read more than the two lookups do.
    if type(value) is dict and "id" not in value:
        inner = value.get("task")
        if type(inner) is dict:
            value = inner
    return _task_hook(value, cls)


converter.register_structure_hook(Task, _structure_task)


# -- processing: workflows, jobs, volumes, metrics (docs/wire/moi.md#processing) --------


class ProcessInterval(OpenIntEnum):
    """The seed-era meaning of ``process_mode.interval``: an index, not a duration
    (docs/wire/moi.md#process-mode, docs/wire/moi.md#d8).

    The post-May-2025 service reads ``interval`` as minutes (``0`` once, ``-1`` on every load),
    so :class:`ProcessMode` holds a plain ``int``; use these names with ``paths="seed"``.
    """

    ONCE = 0
    MINUTES_5 = 1
    MINUTES_10 = 2
    MINUTES_30 = 3
    HOUR_1 = 4
    HOURS_2 = 5
    HOURS_4 = 6
    HOURS_6 = 7
    HOURS_8 = 8
    DAY_1 = 9


class WorkflowStatus(OpenIntEnum):
    """Workflow status (docs/wire/moi.md#workflow-status)."""

    UNKNOWN = 0
    RUNNING = 1
    COMPLETED = 2
    STOPPED = 3


class JobStatus(OpenIntEnum):
    """Processing-job status (docs/wire/moi.md#job-status). ``COMPLETED`` and ``FAILED`` are
    final."""

    UNKNOWN = 0
    RUNNING = 1
    COMPLETED = 2
    FAILED = 3


class JobFileStatus(OpenIntEnum):
    """Status of a file in a processing job or a processed volume
    (docs/wire/moi.md#byoa-file-status, docs/wire/moi.md#d20).

    The service does not publish these values; only ``2`` (completed) is confirmed by its
    examples. The others follow the job-file counters (pending, processing, failed, stopped) in
    the order the emulator uses; an unlisted value is kept as ``UNKNOWN_<n>``.
    """

    PENDING = 0
    PROCESSING = 1
    COMPLETED = 2
    FAILED = 3
    STOPPED = 4


class MetricName(OpenStrEnum):
    """Metric names for ``moi.metrics.query`` (docs/wire/moi.md#metrics). Any other string is
    passed through."""

    LOAD_FILE_COUNT = "PipelineLoadFileCount"
    LOAD_FILE_SIZE = "PipelineLoadFileSize"
    LOAD_TASK_COUNT = "PipelineLoadTaskCount"
    LOAD_FILE_LATENCY = "PipelineLoadFileLatency"
    LOAD_FILE_THROUGHPUT = "PipelineLoadFileThroughput"
    LOAD_FILE_PER_SECOND = "PipelineLoadFilePerSecond"
    LOAD_TASK_LATENCY = "PipelineLoadTaskLatency"
    LOAD_FILE_SUCCESS_RATE = "PipelineLoadFileSuccessRate"
    LOAD_TASK_TIMEOUT_RATE = "PipelineLoadTaskTimeoutRate"
    PROCESS_FINISH_JOB_COUNT = "PipelineProcessFinishJobCount"
    PROCESS_FINISH_JOB_LATENCY = "PipelineProcessFinishJobLatency"
    PROCESS_WORKFLOW_SUCCESS_RATE = "PipelineProcessWorkflowSuccessRate"
    PROCESS_WORKFLOW_TIMEOUT_RATE = "PipelineProcessWorkflowTimeoutRate"


@define(frozen=True)
class ProcessMode:
    """When a workflow runs: ``interval`` (0 = once; see :class:`ProcessInterval`) and
    ``offset``, both plain ints as sent (docs/wire/moi.md#d8)."""

    interval: int = 0
    offset: int = 0


@define(frozen=True)
class WorkflowConfig:
    """A workflow's component graph (docs/wire/moi.md#workflow-config), kept as the service's
    plain JSON objects.

    The SDK does not interpret components; copy a working pipeline from the console (or an
    existing workflow's ``get``) and pass it on. List answers carry all four keys as null,
    which reads as empty.
    """

    components: tuple[dict[str, Any], ...] = ()
    connections: tuple[dict[str, Any], ...] = ()
    edges: tuple[dict[str, Any], ...] = ()
    extra_components: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON object the service expects in a create or update body."""
        return {
            "components": [dict(c) for c in self.components],
            "connections": [dict(c) for c in self.connections],
            "edges": [dict(c) for c in self.edges],
            "extra_components": [dict(c) for c in self.extra_components],
        }


@define(frozen=True)
class Workflow:
    """A processing workflow (docs/wire/moi.md#workflows): which raw volumes it reads, which
    file types, where its output goes, and when it runs. ``workflow`` (the component graph) is
    filled in by ``get``; ``created_at``/``updated_at`` arrive as epoch milliseconds."""

    id: str
    name: str = ""
    status: WorkflowStatus = WorkflowStatus.UNKNOWN
    source_volume_ids: tuple[str, ...] = ()
    source_volume_names: tuple[str, ...] = ()
    target_volume_id: str = ""
    target_volume_name: str = ""
    file_types: tuple[FileType, ...] = ()
    process_mode: ProcessMode = field(factory=ProcessMode)
    priority: int | None = None
    creator: str | None = None
    modifier: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    job_meta_id: str | None = None
    version: str | None = None
    branch_id: str | None = None
    branch_name: str | None = None
    workflow: WorkflowConfig | None = None


@define(frozen=True)
class JobDescription:
    """What started a job, as the current service describes it."""

    #: The load task whose files triggered the job (``triggerTaskID`` on the wire, a string or
    #: a number there, always a string here).
    trigger_task_id: str | None = None


def _structure_job_description(value: Any, _: type) -> JobDescription | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    trigger = value.get("triggerTaskID")
    if isinstance(trigger, float) and trigger.is_integer():
        trigger = int(trigger)
    return JobDescription(trigger_task_id=converter.structure(trigger, str | None))  # type: ignore[arg-type]


converter.register_structure_hook_func(
    lambda t: t == (JobDescription | None), _structure_job_description
)


@define(frozen=True)
class Job:
    """One run of a workflow over a batch of files (docs/wire/moi.md#jobs)."""

    id: str
    workflow_id: str = ""
    workflow_name: str = ""
    status: JobStatus = JobStatus.UNKNOWN
    source_volume_ids: tuple[str, ...] = ()
    source_volume_names: tuple[str, ...] = ()
    target_volume_id: str = ""
    target_volume_name: str = ""
    file_types: tuple[FileType, ...] = ()
    start_time: datetime | None = None
    end_time: datetime | None = None
    #: Seconds.
    duration: int | None = None
    processed_count: int = 0
    total_count: int = 0
    priority: int | None = None
    workflow_meta_id: str | None = None
    workflow_branch_id: str | None = None
    branch_name: str | None = None
    version: str | None = None
    workflow: WorkflowConfig | None = None
    #: Sent by the current service only.
    description: JobDescription | None = None

    @property
    def finished(self) -> bool:
        """True once the job is completed or failed."""
        return self.status in (JobStatus.COMPLETED, JobStatus.FAILED)


@define(frozen=True)
class JobFile:
    """A file of a processing job. ``id`` is what ``jobs.retry_files`` takes.

    Named like :class:`TaskFile` (``name``, ``type``, ``status``); the wire calls them
    ``file_name``, ``file_type``, ``file_status``.
    """

    id: str
    name: str = ""
    type: FileType = FileType.NONE
    status: JobFileStatus = JobFileStatus.PENDING
    error_message: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    source_id: str | None = None
    ref_file_id: str | None = None
    target_volume_id: str | None = None


@define(frozen=True)
class JobFileCounts:
    """How a job's files stand (the counters of the job-file listing, docs/wire/moi.md#job-files).

    ``total`` counts every file of the job; ``file_total`` (newer services) the files matching
    the listing's status filter.
    """

    total: int = 0
    completed: int = 0
    failed: int = 0
    processing: int = 0
    pending: int = 0
    stopped: int = 0
    file_total: int | None = None


@define(frozen=True)
class TaskFileCounts:
    """How a load task's files stand: all of them, succeeded, failed."""

    total: int
    succeeded: int
    failed: int


@define(frozen=True)
class RawVolume:
    """A raw ("origin") volume (docs/wire/moi.md#raw-volumes): where load tasks put files and
    workflows read them."""

    id: str
    name: str = ""
    #: Bytes.
    size: int = 0
    file_num: int = 0
    owner: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


@define(frozen=True)
class ProcessedVolume:
    """A processed volume (docs/wire/moi.md#processed-volumes): where workflows write parsed
    files and their blocks."""

    id: str
    name: str = ""
    user_id: str | None = None
    parent_volume_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@define(frozen=True)
class ProcessedFile:
    """A file in a processed volume; ``source_*`` point back at the raw file.

    Named like :class:`TaskFile` (``name``, ``type``, ``size``, ``path``, ``status``); the wire
    prefixes each with ``file_``.
    """

    id: str
    name: str = ""
    type: FileType = FileType.NONE
    size: int = 0
    path: str = ""
    status: JobFileStatus = JobFileStatus.PENDING
    source_volume_id: str | None = None
    source_file_id: str | None = None
    target_volume_id: str | None = None
    user_id: str | None = None
    priority: int | None = None
    workflow_id: str | None = None
    workflow_meta_id: str | None = None
    workflow_branch_id: str | None = None
    job_id: str | None = None
    error_message: str | None = None
    #: Seconds.
    duration: int | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    #: 0 not deleted, 1 waiting for deletion.
    delete_status: int | None = None


@define(frozen=True)
class Block:
    """A segment of a processed file's parsed content (docs/wire/moi.md#blocks)."""

    id: str
    content: str | None = None
    content_type: str | None = None
    type: str | None = None
    file_id: str | None = None
    description: str | None = None
    text_and_image_id: int | None = None
    level: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@define(frozen=True)
class MetricPoint:
    """One bucket of a metric series; ``value`` is None where the bucket had no data."""

    timestamp: datetime
    value: float | None = None


@define(frozen=True)
class MetricSeries:
    """One metric over time (docs/wire/moi.md#metrics). ``labels`` maps the service's
    ``labelKey`` to ``labelValue`` (e.g. ``{"user_id": ...}``)."""

    name: str
    agg: str = ""
    labels: dict[str, str] = field(factory=dict)
    points: tuple[MetricPoint, ...] = ()


def _structure_metric_series(value: Any, _: type) -> MetricSeries:
    # The wire names differ from the model's: labels are a list of {labelKey, labelValue}
    # pairs, and the points are called "values".
    if not isinstance(value, dict):
        raise TypeError(f"expected a metric object, got {type(value).__name__}")
    labels: dict[str, str] = {}
    for label in value.get("labels") or []:
        if not isinstance(label, dict):
            raise TypeError("metric labels must be objects")
        key = converter.structure(label.get("labelKey"), str)
        labels[key] = converter.structure(label.get("labelValue", ""), str)
    return MetricSeries(
        name=converter.structure(value.get("name"), str),
        agg=converter.structure(value.get("agg") or "", str),
        labels=labels,
        points=converter.structure(value.get("values"), tuple[MetricPoint, ...]),
    )


converter.register_structure_hook(MetricSeries, _structure_metric_series)


# The service prefixes these fields with "file_"; the models name them like TaskFile.
converter.register_structure_hook(
    JobFile,
    make_dict_structure_fn(
        JobFile,
        converter,
        name=override(rename="file_name"),
        type=override(rename="file_type"),
        status=override(rename="file_status"),
    ),
)
converter.register_structure_hook(
    ProcessedFile,
    make_dict_structure_fn(
        ProcessedFile,
        converter,
        name=override(rename="file_name"),
        type=override(rename="file_type"),
        size=override(rename="file_size"),
        path=override(rename="file_path"),
        status=override(rename="file_status"),
    ),
)
