"""The BYOA side's state: workflows, their jobs and job files, processed volumes and blocks.

Jobs progress with the clock rather than with background tasks: each job file is scheduled when
its job starts (``job_parallelism`` files at a time, ``job_file_seconds`` each), its outcome is
drawn then from a generator seeded with the emulator's seed (``job_file_failure_rate``), and
:meth:`ProcessingStore.advance` moves every file whose time has come before any request reads
the state. Nothing runs between requests, so nothing needs cancelling, and a test sees the same
outcomes on every run.

One record per BYOA file serves both as a job file (``…/index_workflow_job/{id}/files``) and as
a file of the job's target processed volume (``…/explore/volumes/{vid}/files``): the service
documents both with the same id and status.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._state import EmulatorState

# BYOA file statuses are undocumented (docs/wire/moi.md#d20): the emulator's one table of them.
FILE_PENDING, FILE_PROCESSING, FILE_COMPLETED, FILE_FAILED, FILE_STOPPED = 0, 1, 2, 3, 4
FINAL_FILE = frozenset({FILE_COMPLETED, FILE_FAILED, FILE_STOPPED})
FILE_COUNTERS = {
    FILE_PENDING: "pending",
    FILE_PROCESSING: "processing",
    FILE_COMPLETED: "completed",
    FILE_FAILED: "failed",
    FILE_STOPPED: "stopped",
}
JOB_RUNNING, JOB_COMPLETED, JOB_FAILED = 1, 2, 3
WORKFLOW_RUNNING, WORKFLOW_COMPLETED, WORKFLOW_STOPPED = 1, 2, 3
RAW_FILE_SUCCEEDED = 5

_FAILURES = (
    "parse error: the document could not be converted",
    "timeout while embedding",
    "OCR model returned no text",
)


def uuid7(at: float | None = None) -> str:
    """A UUIDv7 (BYOA job and file ids): its first 48 bits are the time in milliseconds."""
    millis = int((time.time() if at is None else at) * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 68) & 0xFFF) << 64
    value |= 0x2 << 62  # variant
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def byoa_time(at: float | None) -> str | None:
    """Jobs' and files' timestamps: ``2025-02-12T17:20:15.000000+0000``."""
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")


def naive_iso(at: float) -> str:
    """Processed volumes' and blocks' timestamps: naive ISO, UTC (``2025-02-13T11:44:36``)."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def millis(at: float) -> int:
    """Workflows' timestamps: epoch milliseconds."""
    return int(at * 1000)


class ProcessingStore:
    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        # Its own generator: draws elsewhere (load tasks, faults) must not shift job outcomes.
        self.rng = random.Random(f"processing:{state.config.seed}")
        self.workflows: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.volumes: dict[str, dict[str, Any]] = {}
        self.blocks: dict[str, dict[str, dict[str, Any]]] = {}  # file id -> block id -> block
        self._by_volume: dict[str, dict[str, None]] = {}  # processed volume id -> file ids
        #: (finished at, seconds taken, succeeded, workflow id) per job run, for metrics.
        self.job_runs: list[tuple[float, float, bool, str]] = []
        self._active: dict[str, None] = {}  # running job ids, in start order
        self._serial = 0  # creation order, to break ties between equal timestamps
        self._seed()

    # -- clock --------------------------------------------------------------------------------

    def advance(self, now: float | None = None) -> None:
        """Move every running job's files to where the clock says they are."""
        now = time.time() if now is None else now
        for job_id in list(self._active):
            job = self.jobs[job_id]
            # Only unfinished files, ordered by start: stop at the first that has not started,
            # so a request costs the files in flight, not the size of the job.
            unfinished = job["unfinished"]
            still: list[str] = []
            for n, file_id in enumerate(unfinished):
                record = self.files[file_id]
                if now >= record["end"]:
                    self._finish_file(record)
                elif now >= record["start"]:
                    record["status"] = FILE_PROCESSING
                    record["started_at"] = record["start"]
                    record["updated"] = record["start"]
                    still.append(file_id)
                else:
                    still.extend(unfinished[n:])
                    break
            job["unfinished"] = still
            if not still:
                self._finish_job(job)

    def _schedule(self, records: list[dict[str, Any]], now: float) -> None:
        config = self.state.config
        seconds = max(0.0, config.job_file_seconds)
        width = max(1, config.job_parallelism)
        for n, record in enumerate(records):
            record["start"] = now + (n // width) * seconds
            record["end"] = record["start"] + seconds
            record["fails"] = self.rng.random() < config.job_file_failure_rate
            record["status"] = FILE_PENDING
            record["error_message"] = ""
            record["started_at"] = None
            record["ended_at"] = None
            record["updated"] = now

    def _finish_file(self, record: dict[str, Any]) -> None:
        record["started_at"] = record["start"]
        record["ended_at"] = record["end"]
        record["updated"] = record["end"]
        if record["fails"]:
            record["status"] = FILE_FAILED
            record["error_message"] = _FAILURES[len(record["file_name"]) % len(_FAILURES)]
        else:
            record["status"] = FILE_COMPLETED
            self._make_blocks(record)

    def _finish_job(self, job: dict[str, Any]) -> None:
        records = [self.files[f] for f in job["file_ids"]]
        ended = max((r["ended_at"] for r in records), default=job["run_start"])
        failed = any(r["status"] == FILE_FAILED for r in records)
        job["status"] = JOB_FAILED if failed else JOB_COMPLETED
        job["end"] = ended
        self._active.pop(job["id"], None)
        self.job_runs.append((ended, ended - job["run_start"], not failed, job["workflow_id"]))
        workflow = self.workflows.get(job["workflow_id"])
        if (
            workflow is not None
            and workflow["process_mode"].get("interval") == 0
            and not any(self.jobs[j]["workflow_id"] == workflow["id"] for j in self._active)
        ):
            workflow["status"] = WORKFLOW_COMPLETED

    def _make_blocks(self, record: dict[str, Any]) -> None:
        stem = record["file_name"].rsplit(".", 1)[0]
        stamp = naive_iso(record["end"])
        blocks: dict[str, dict[str, Any]] = {}
        for n in range(3):
            block_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            if n == 2:
                kind = "table"
                content = f"| section | page |\n|---|---|\n| {stem} | {n + 1} |"
            else:
                kind = "text"
                content = f"{stem}, part {n + 1}: text extracted by the emulated pipeline."
            blocks[block_id] = {
                "id": block_id,
                "content": content,
                "content_type": kind,
                "type": kind,
                "file_id": record["id"],
                "description": "",
                "text_and_image_id": None,
                "created_at": stamp,
                "updated_at": stamp,
            }
        self.blocks[record["id"]] = blocks

    def serial(self) -> int:
        self._serial += 1
        return self._serial

    # -- workflows and jobs --------------------------------------------------------------------

    def add_workflow(self, fields: dict[str, Any], now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        workflow = {
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "job_meta_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            **fields,
            "created_at": millis(now),
            "updated_at": millis(now),
            "creator": self.state.config.username.split(":", 1)[0],
            "modifier": self.state.config.username.split(":", 1)[0],
            "status": WORKFLOW_RUNNING,
            "seq": self.serial(),
        }
        self.workflows[workflow["id"]] = workflow
        return workflow

    def source_files(self, workflow: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(raw volume, raw file) pairs a job of this workflow processes: the loaded files of
        its source volumes whose type is one of its file types."""
        raw = self.state.raw_volumes
        wanted = set(workflow["file_types"])
        pairs = []
        for volume_id in workflow["source_volume_ids"]:
            volume = raw.volumes.get(str(volume_id))
            if volume is None:
                continue
            for file in raw.files[volume["id"]].values():
                if wanted and file.get("type") not in wanted:
                    continue
                if file.get("status", RAW_FILE_SUCCEEDED) != RAW_FILE_SUCCEEDED:
                    continue
                pairs.append((volume, file))
        return pairs

    def start_job(self, workflow: dict[str, Any], now: float | None = None) -> dict[str, Any]:
        """Start one job of ``workflow`` over its current source files."""
        now = time.time() if now is None else now
        return self._new_job(workflow, self.source_files(workflow), now)

    def tick(self) -> list[dict[str, Any]]:
        """Start a job for every periodic workflow (interval other than 0), as its schedule
        would (docs/wire/moi.md#d8: the emulator does not keep time for schedules; tests call
        this)."""
        return [
            self.start_job(w)
            for w in list(self.workflows.values())
            if w["process_mode"].get("interval") != 0 and w["status"] != WORKFLOW_STOPPED
        ]

    def _new_job(
        self,
        workflow: dict[str, Any],
        sources: list[tuple[dict[str, Any], dict[str, Any]]],
        now: float,
    ) -> dict[str, Any]:
        account = self.state.config.account_name
        job_id = uuid7(now)
        records = []
        for volume, file in sources:
            record = {
                "id": uuid7(now),
                "job_id": job_id,
                "workflow_id": workflow["id"],
                "file_name": file.get("name", ""),
                "file_type": file.get("type", 0),
                "file_size": int(file.get("size", 0)),
                "file_path": f"{account}/{volume['name']}/{file.get('task_id', volume['id'])}/"
                f"{file.get('name', '')}",
                "source_volume_id": str(volume["id"]),
                "source_file_id": str(file["id"]),
                "target_volume_id": workflow["target_volume_id"],
                "priority": workflow.get("priority", 300),
                "created": now,
                "seq": self.serial(),
                "deleted": False,
            }
            self.files[record["id"]] = record
            self._by_volume.setdefault(record["target_volume_id"], {})[record["id"]] = None
            records.append(record)
        self._schedule(records, now)
        job = {
            "id": job_id,
            "workflow_id": workflow["id"],
            "workflow_name": workflow["name"],
            "source_volume_names": list(workflow["source_volume_names"]),
            "source_volume_ids": [str(v) for v in workflow["source_volume_ids"]],
            "target_volume_name": workflow["target_volume_name"],
            "target_volume_id": workflow["target_volume_id"],
            "file_types": list(workflow["file_types"]),
            "priority": workflow.get("priority", 300),
            "start": now,
            "seq": self.serial(),
            "run_start": now,
            "end": None,
            "status": JOB_RUNNING,
            "file_ids": [r["id"] for r in records],
            "unfinished": [r["id"] for r in records],  # in start order, as scheduled
            # The load task whose files started this job, when they came from one.
            "trigger_task_id": next(
                (str(f["task_id"]) for _, f in sources if f.get("task_id")), None
            ),
        }
        self.jobs[job_id] = job
        self._active[job_id] = None
        workflow["status"] = WORKFLOW_RUNNING
        return job

    def retry(self, job: dict[str, Any], file_ids: list[str], now: float | None = None) -> int:
        """Send the job's failed files among ``file_ids`` back to pending; returns how many."""
        now = time.time() if now is None else now
        chosen = [
            self.files[f] for f in dict.fromkeys(file_ids) if self.files[f]["status"] == FILE_FAILED
        ]
        if not chosen:
            return 0
        self._schedule(chosen, now)
        job["unfinished"] = sorted(
            [*job["unfinished"], *(r["id"] for r in chosen)], key=lambda f: self.files[f]["start"]
        )
        job["status"] = JOB_RUNNING
        job["end"] = None
        job["run_start"] = now
        self._active[job["id"]] = None
        workflow = self.workflows.get(job["workflow_id"])
        if workflow is not None:
            workflow["status"] = WORKFLOW_RUNNING
        return len(chosen)

    def delete_workflow(self, workflow_id: str, delete_data: bool) -> None:
        self.workflows.pop(workflow_id)
        if not delete_data:
            return
        # The data a workflow produced: the files its jobs wrote into their target volume.
        for job in self.jobs.values():
            if job["workflow_id"] == workflow_id:
                for file_id in job["file_ids"]:
                    self.remove_file(file_id)

    # -- processed volumes ----------------------------------------------------------------------

    def add_volume(self, name: str, parent_volume_id: str = "") -> dict[str, Any]:
        now = naive_iso(time.time())
        volume = {
            "name": name,
            "created_at": now,
            "updated_at": now,
            "user_id": self.state.config.account_name,
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "parent_volume_id": parent_volume_id,
        }
        self.volumes[volume["id"]] = volume
        return volume

    def volume_files(self, volume_id: str) -> list[dict[str, Any]]:
        return [self.files[f] for f in self._by_volume.get(volume_id, {})]

    def file_blocks(self, file_id: str) -> list[dict[str, Any]]:
        """A file's blocks in the one order every answer uses (creation, then id)."""
        blocks = self.blocks.get(file_id, {}).values()
        return sorted(blocks, key=lambda b: (b["created_at"], b["id"]))

    def remove_file(self, file_id: str) -> None:
        record = self.files[file_id]
        record["deleted"] = True
        self._by_volume.get(record["target_volume_id"], {}).pop(file_id, None)
        self.blocks.pop(file_id, None)

    def delete_volume(self, volume_id: str) -> None:
        self.volumes.pop(volume_id)
        for record in self.volume_files(volume_id):
            self.remove_file(record["id"])

    # -- rendering ------------------------------------------------------------------------------

    def render_workflow(self, workflow: dict[str, Any], *, detail: bool) -> dict[str, Any]:
        keys = (
            "id",
            "job_meta_id",
            "name",
            "source_volume_ids",
            "source_volume_names",
            "file_types",
            "created_at",
            "creator",
            "updated_at",
            "modifier",
            "target_volume_id",
            "target_volume_name",
            "process_mode",
            "priority",
            "status",
        )
        out = {key: workflow[key] for key in keys}
        out["source_volume_ids"] = [str(v) for v in workflow["source_volume_ids"]]
        if detail:
            out["workflow"] = workflow["workflow"]
        return out

    def render_job(self, job: dict[str, Any], *, detail: bool) -> dict[str, Any]:
        records = [self.files[f] for f in job["file_ids"]]
        end = job["end"]
        workflow = self.workflows.get(job["workflow_id"])
        graph = (
            workflow["workflow"]
            if detail and workflow is not None
            else dict.fromkeys(("components", "connections", "edges", "extra_components"))
        )
        return {
            "id": job["id"],
            "workflow_name": job["workflow_name"],
            "source_volume_names": job["source_volume_names"],
            "source_volume_ids": job["source_volume_ids"],
            "target_volume_name": job["target_volume_name"],
            "target_volume_id": job["target_volume_id"],
            "file_types": job["file_types"],
            "priority": job["priority"],
            "start_time": byoa_time(job["start"]),
            "end_time": byoa_time(end),
            "duration": None if end is None else int(end - job["start"]),
            "processed_count": sum(r["status"] == FILE_COMPLETED for r in records),
            "total_count": len(records),
            "status": job["status"],
            "workflow_id": job["workflow_id"],
            "workflow": graph,
        }

    @staticmethod
    def render_job_file(record: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": record["id"],
            "file_name": record["file_name"],
            "file_type": record["file_type"],
            "file_status": record["status"],
            "error_message": record["error_message"],
            "start_time": byoa_time(record["started_at"]),
            "end_time": byoa_time(record["ended_at"]),
        }

    def render_volume_file(self, record: dict[str, Any]) -> dict[str, Any]:
        started, ended = record["started_at"], record["ended_at"]
        return {
            "id": record["id"],
            "created_at": byoa_time(record["created"]),
            "updated_at": byoa_time(record["updated"]),
            "user_id": self.state.config.account_name,
            "source_volume_id": record["source_volume_id"],
            "source_file_id": record["source_file_id"],
            "target_volume_id": record["target_volume_id"],
            "file_name": record["file_name"],
            "file_type": record["file_type"],
            "file_size": record["file_size"],
            "file_path": record["file_path"],
            "file_status": record["status"],
            "workflow_id": record["workflow_id"],
            "job_id": record["job_id"],
            "error_message": record["error_message"],
            "duration": int(ended - started) if started is not None and ended is not None else 0,
            "start_time": byoa_time(started),
            "end_time": byoa_time(ended),
        }

    # -- seed data ------------------------------------------------------------------------------

    def _seed(self) -> None:
        config = self.state.config
        volumes = [
            self.add_volume(f"processed-volume-{n}") for n in range(config.processed_volumes)
        ]
        if not volumes or config.workflow_jobs <= 0:
            return
        raw = list(self.state.raw_volumes.volumes.values())[:1]
        target = volumes[0]
        workflow = self.add_workflow(
            {
                "name": "seeded-workflow",
                "source_volume_ids": [v["id"] for v in raw],
                "source_volume_names": [v["name"] for v in raw],
                "target_volume_id": target["id"],
                "target_volume_name": target["name"],
                "file_types": [2],
                # Periodic, so the history of finished jobs below is what it looks like.
                "process_mode": {"interval": 4, "offset": 0},
                "priority": 300,
                "workflow": {
                    "components": [],
                    "connections": [],
                    "edges": [],
                    "extra_components": [],
                },
            },
            now=time.time() - 86400,
        )
        volume = raw[0] if raw else {"id": "0", "name": "seed"}
        now = time.time()
        # Finished runs over the past hours, oldest first, three files each.
        for k in range(config.workflow_jobs, 0, -1):
            started = now - k * 600
            sources = [
                (
                    volume,
                    {
                        "id": self.state.snowflake(),
                        "name": f"report-{k:03d}-{n}.pdf",
                        "type": 2,
                        "size": 100_000 + 4096 * n,
                    },
                )
                for n in range(3)
            ]
            self._new_job(workflow, sources, started)
        self.advance(now)
