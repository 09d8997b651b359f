"""Checkpoints in a directory: one small JSON file per shard, written by workers, and one job
file, written by the driver.

Why a directory rather than the scheduler's memory: a checkpoint must outlive the process that
wrote it, the worker (killed mid-shard) and the scheduler and driver too (the whole job is
restarted). On one machine any directory works; on a cluster it must be one every worker and
the driver reach under the same path (a network file system). Every write goes to a temporary
file first and is renamed into place, so a reader sees the old checkpoint or the new one,
never half of one.

Files under the directory::

    job.json               the driver's record: the job's name and each finished shard's result
    shards/<key>.json      a shard's resume token, its own state, its attempts
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from .._core.errors import InvalidInputError

__all__ = ["CheckpointDirectory", "shard_file_name"]

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def shard_file_name(key: str) -> str:
    """A file name for a shard key: readable where it can be, unique always."""
    readable = _SAFE.sub("_", key)[:60]
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return f"{readable}-{digest}.json"


def _write_atomically(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(value, stream, separators=(",", ":"))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidInputError(f"checkpoint {path} is not valid JSON") from None
    if not isinstance(value, dict):
        raise InvalidInputError(f"checkpoint {path} is not a JSON object")
    return value


class CheckpointDirectory:
    """Read and write the checkpoints of one job under ``path`` (picklable: workers get it)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"CheckpointDirectory({str(self.path)!r})"

    # -- shards (workers write these) ---------------------------------------------------------

    def shard_path(self, key: str) -> Path:
        return self.path / "shards" / shard_file_name(key)

    def load_shard(self, key: str) -> dict[str, Any]:
        """The shard's record: ``token`` (None: from its start), ``state``, ``attempts``,
        ``done``; an empty record for a shard never started."""
        record = _read(self.shard_path(key))
        if record is None:
            return {"key": key, "token": None, "state": {}, "attempts": [], "done": False}
        if record.get("key") != key:
            raise InvalidInputError(
                f"checkpoint {self.shard_path(key)} belongs to shard {record.get('key')!r}"
            )
        return record

    def save_shard(self, record: dict[str, Any]) -> None:
        _write_atomically(self.shard_path(str(record["key"])), record)

    # -- the job (the driver writes this) -----------------------------------------------------

    @property
    def job_path(self) -> Path:
        return self.path / "job.json"

    def load_job(self, job: str) -> dict[str, Any]:
        """The driver's record for ``job``: ``done`` maps shard keys to results. A directory
        holding another job's checkpoints is refused rather than mixed with this one."""
        record = _read(self.job_path)
        if record is None:
            return {"job": job, "done": {}}
        if record.get("job") != job:
            raise InvalidInputError(
                f"{self.path} holds the checkpoints of job {record.get('job')!r}, not {job!r}: "
                "use another directory, or remove it to start over"
            )
        return record

    def save_job(self, record: dict[str, Any]) -> None:
        _write_atomically(self.job_path, record)
