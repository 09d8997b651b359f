"""The emulator's configuration, counters and request log."""

from __future__ import annotations

import random
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from attrs import define, field

from ._blobs import BlobHost
from ._tokens import TokenIssuer
from .faults import Fault, FaultInjector

if TYPE_CHECKING:
    from ._processing import ProcessingStore
    from .maxir import MaxirStore
    from .moi_connectors import ConnectorStore
    from .moi_tasks import TaskStore

DEFAULT_ACCOUNT = "0194dfaa-3eda-7ea5-b47c-b4f4f5940e97"

#: The MOI API generations an emulator can speak.
Generation = Literal["seed", "current"]
GENERATIONS: tuple[Generation, ...] = ("seed", "current")


@define
class EmulatorConfig:
    """Everything an emulator can be told at start-up (all optional)."""

    host: str = "127.0.0.1"
    port: int = 0
    #: Makes seeded data, ids and injected faults repeatable.
    seed: int = 0
    #: Which MOI API to speak. ``"seed"``: the Feb–May 2025 wire (``index_workflow*`` paths,
    #: ``/task/get`` wrapping the task as ``{"task": ...}``, job pages by ``page_num``).
    #: ``"current"``: the wire the vendor's own clients speak (``workflow_meta``/``workflow_job``
    #: paths, the task itself as ``data`` with string fields, job pages by ``page``).
    api: Generation = "seed"
    #: Refuse query parameters and body fields a route does not know (400 naming the first),
    #: so a client's typo fails a test instead of being silently ignored.
    strict: bool = True
    #: The API key (``moi-key`` header) this emulator issues; the login flow works as well.
    moi_api_key: str = "moi-emulator-api-key"
    access_token_ttl: float = 900.0
    refresh_token_ttl: float = 21600.0
    account_name: str = DEFAULT_ACCOUNT
    username: str = "admin:accountadmin"
    password: str = "emulator-password"
    #: Added to every request before it is handled (benchmarks model a remote service).
    latency_ms: float = 0.0
    connectors: int = 3
    files_per_connector: int = 200
    tasks: int = 20
    #: Files each seeded (historical) task holds.
    files_per_seeded_task: int = 10
    #: Raw volumes seeded at start (load tasks write into them; workflows read them).
    raw_volumes: int = 2
    #: How long each step of a load-task file takes (waiting → uploading → done).
    task_file_seconds: float = 0.5
    #: Share of load-task files that fail on their first attempt (retries succeed).
    task_file_failure_rate: float = 0.05
    #: Processed volumes seeded at start (workflows write into them).
    processed_volumes: int = 1
    #: Finished processing jobs seeded at start (one periodic workflow's history).
    workflow_jobs: int = 20
    #: Seconds one job file takes; a job's files go pending -> processing -> done over time.
    job_file_seconds: float = 2.0
    #: How many files of one job are processed at the same time.
    job_parallelism: int = 4
    #: Share of job files that fail, drawn from a generator seeded with ``seed``. Changing it
    #: at run time affects jobs started (and files retried) afterwards.
    job_file_failure_rate: float = 0.0
    #: How many recent requests ``Emulator.requests`` keeps.
    request_log_size: int = 100_000
    #: Faults to inject from the start (see ``asyncsdk.emulator.faults``); seeded by ``seed``.
    faults: list[Fault] = field(factory=list)
    #: MAXIR: the project API key, and the team member (``user_id``) calls act as.
    maxir_api_key: str = "pd-emulator-project-key"
    maxir_user_id: str = "tmm-emulator0000000000000001"
    #: Other members of the team: they may read everything, change only what they created.
    maxir_other_user_ids: tuple[str, ...] = ("tmm-emulator0000000000000002",)
    maxir_datasets: int = 3
    maxir_datasources_per_dataset: int = 500
    #: A new data source first reports ``invalid`` ("awaiting processing") this long (0: the
    #: reference's lifecycle, which starts at ``synching``) ...
    maxir_waiting_seconds: float = 0.0
    #: ... then ``synching`` this long, then ``synched``; or ``invalid`` for this share of them.
    maxir_sync_seconds: float = 2.0
    maxir_invalid_share: float = 0.0
    #: Serve at most this many records per page, echoing the smaller page_size (None: no cap).
    maxir_max_page_size: int | None = None
    #: Rows created or deleted at random positions: the chance, per request, of one change
    #: (see ``asyncsdk.emulator.drift``); seeded by ``seed``.
    churn_rate: float = 0.0
    extra: dict[str, Any] = field(factory=dict)


@define
class RequestRecord:
    """One request as the emulator saw it (no credentials are recorded)."""

    at: float
    method: str
    path: str
    status: int
    invocation: str | None
    attempt: int | None
    #: The wait the client says it took before this attempt (asyncsdk's attempt header).
    backoff: float | None = None
    #: The fault injected into this request, if any.
    fault: str | None = None
    #: The caller's ``X-Request-ID`` header (echoed as the answer's ``request_id``).
    request_id: str | None = None
    #: How the caller authenticated: ``"api_key"``, ``"token"`` or None.
    auth: str | None = None


@define
class EmulatorStats:
    logins: int = 0
    failed_logins: int = 0
    refreshes: int = 0
    failed_refreshes: int = 0
    #: Requests refused with 401 because of a missing, expired or revoked token.
    unauthorized: int = 0
    requests: int = 0
    by_route: Counter[str] = field(factory=Counter)


class RawVolumeStore:
    """MOI raw ("origin") volumes and their files, shared by load tasks (which write files
    into them) and the volume and workflow endpoints (which read them)."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self.volumes: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, dict[str, Any]]] = {}
        for n in range(state.config.raw_volumes):
            self.create(f"raw-volume-{n}")

    def create(self, name: str) -> dict[str, Any]:
        now = int(time.time())
        volume_id = self._state.snowflake()
        volume: dict[str, Any] = {
            "id": volume_id,
            "name": name,
            "size": 0,
            "file_num": 0,
            "owner": self._state.config.username,
            "created_at": now,
            "updated_at": now,
        }
        self.volumes[volume_id] = volume
        self.files[volume_id] = {}
        return volume

    def by_name(self, name: str) -> dict[str, Any] | None:
        return next((v for v in self.volumes.values() if v["name"] == name), None)

    def add_file(self, volume_id: str, file: dict[str, Any]) -> dict[str, Any]:
        """Store a RawFile-shaped dict (id, name, type, status, size, path, ...)."""
        volume = self.volumes[volume_id]
        self.files[volume_id][file["id"]] = file
        volume["size"] += int(file.get("size", 0))
        volume["file_num"] += 1
        volume["updated_at"] = int(time.time())
        return file

    def remove_file(self, volume_id: str, file_id: str) -> bool:
        file = self.files.get(volume_id, {}).pop(file_id, None)
        if file is None:
            return False
        volume = self.volumes[volume_id]
        volume["size"] -= int(file.get("size", 0))
        volume["file_num"] -= 1
        return True


class EmulatorState:
    """Shared by every route module of one emulator instance."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.tokens = TokenIssuer()
        self.stats = EmulatorStats()
        self.requests: deque[RequestRecord] = deque(maxlen=config.request_log_size)
        self.started = time.time()
        self._serial = 0
        #: Installed by moi_auth: raises the 401 error for a request without valid MOI tokens.
        self.moi_auth_check: Callable[[Any], None] | None = None
        #: Logged-in sessions: uid -> account name.
        self.moi_sessions: dict[str, str] = {}
        self.moi_connectors: ConnectorStore | None = None
        self.moi_tasks: TaskStore | None = None
        #: Called before every request: lazy state machines catch up with the clock here.
        self.tickers: list[Callable[[], None]] = []
        self.maxir: MaxirStore | None = None
        #: Workflows, jobs, processed volumes: installed by build_app.
        self.processing: ProcessingStore | None = None
        self.raw_volumes = RawVolumeStore(self)
        self.blobs = BlobHost()
        self.faults = FaultInjector(config.faults, config.seed)

    def snowflake(self) -> str:
        """A Twitter-epoch snowflake id (MOI's task and file ids), as a decimal string."""
        self._serial += 1
        millis = int(time.time() * 1000) - 1288834974657
        return str((millis << 22) | (self._serial & 0x3FFFFF))
