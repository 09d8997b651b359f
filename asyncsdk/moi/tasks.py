"""``moi.tasks``: load tasks, which copy a connector's files into a raw volume."""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Unpack, overload

from .._core import checks
from .._core.convert import structure, structurer
from .._core.errors import InvalidInputError, NotFoundError
from .._core.options import CallOptions, PageOptions, call_options
from .._core.paging import AsyncPaginator, NumberedPaging
from .._core.polling import check_wait, poll_until
from .._core.resource import Resource, page_reader
from ._args import order_by_field
from .models import LoadIntervalType, Task, TaskFile, TaskFileCounts, TaskFileStatus, TaskStatus
from .paths import MOIPaths

__all__ = ["Tasks"]

_ORDER_FIELDS = ("end_at", "created_at", "updated_at")
# How far the service's clock may be behind ours (and its creation times are whole seconds):
# tasks created this long before a create call are still candidates for resolving it.
_CLOCK_SLACK = timedelta(seconds=60)
_PAGES = NumberedPaging()
_TASKS = page_reader(Task, "tasks")
_FILES = page_reader(TaskFile, "files")


def _uris(uris: object) -> list[str]:
    if isinstance(uris, (str, bytes)) or not isinstance(uris, Sequence):
        raise InvalidInputError("uris must be a list of file or folder uris")
    if not uris:
        raise InvalidInputError("uris must not be empty")
    for uri in uris:
        if not isinstance(uri, str) or not uri.strip():
            raise InvalidInputError(f"every uri must be a non-empty string, got {uri!r}")
    return list(uris)


def _load_mode(load_interval_type: object, interval: object) -> dict[str, int]:
    if (
        isinstance(load_interval_type, bool)
        or not isinstance(load_interval_type, int)
        or int(load_interval_type) not in (1, 2, 3, 4)
    ):
        raise InvalidInputError(
            f"load_interval_type must be a LoadIntervalType (DAY, HOUR, MINUTE or ONCE), "
            f"got {load_interval_type!r}"
        )
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 0:
        raise InvalidInputError(f"interval must be an integer >= 0, got {interval!r}")
    return {"load_interval_type": int(load_interval_type), "interval": interval}


# Task's hook reads the seed's {"task": {...}} and the current flat answer.
_task = structurer(Task)


def _file_counts(data: Any) -> TaskFileCounts:
    return TaskFileCounts(
        total=structure(data.get("total_sum", data.get("total", 0)), int),
        succeeded=structure(data.get("total_success", 0), int),
        failed=structure(data.get("total_failed", 0), int),
    )


class Tasks(Resource[MOIPaths]):
    """Create, list, inspect, pause, resume, retry and delete load tasks."""

    @overload
    async def create(
        self,
        connector_id: int | str,
        volume_id: str,
        uris: Sequence[str],
        *,
        load_interval_type: LoadIntervalType = ...,
        interval: int = ...,
        name: str | None = ...,
        resolve: Literal[False] = ...,
        **options: Unpack[CallOptions],
    ) -> None: ...

    @overload
    async def create(
        self,
        connector_id: int | str,
        volume_id: str,
        uris: Sequence[str],
        *,
        load_interval_type: LoadIntervalType = ...,
        interval: int = ...,
        name: str | None = ...,
        resolve: Literal[True],
        **options: Unpack[CallOptions],
    ) -> Task: ...

    @overload
    async def create(
        self,
        connector_id: int | str,
        volume_id: str,
        uris: Sequence[str],
        *,
        load_interval_type: LoadIntervalType = ...,
        interval: int = ...,
        name: str | None = ...,
        resolve: bool,
        **options: Unpack[CallOptions],
    ) -> Task | None: ...

    async def create(
        self,
        connector_id: int | str,
        volume_id: str,
        uris: Sequence[str],
        *,
        load_interval_type: LoadIntervalType = LoadIntervalType.ONCE,
        interval: int = 0,
        name: str | None = None,
        resolve: bool = False,
        **options: Unpack[CallOptions],
    ) -> Task | None:
        """Start loading ``uris`` (files or folders, as ``connectors.files`` lists them) from a
        connector into the raw volume ``volume_id``.

        The service answers no id: the call returns None. With ``resolve=True`` the task is
        looked up by what makes it unique: the ``name`` given (required then), this connector
        and volume, and a creation time from shortly before the call on (see :meth:`find`).
        Give each task a unique name: if several tasks match, ``InvalidInputError`` says so
        rather than returning one of them; if none is listed yet,
        :class:`~asyncsdk.NotFoundError`. A create is not retried once sent: after
        ``TransportError(request_sent=True)``, check ``tasks.find(name)`` before creating again.
        """
        checked = call_options(options)
        if checks.boolean("resolve", resolve) and name is None:
            raise InvalidInputError(
                "resolve=True needs name=: the service returns no id, and only a name tells "
                "this task from others created for the same connector and volume meanwhile"
            )
        since = datetime.now(UTC) - _CLOCK_SLACK
        body: dict[str, Any] = {
            "source_connector_id": checks.numeric_id("connector_id", connector_id),
            "volume_id": checks.require_id("volume_id", volume_id),
            "source_config": {
                "common_file_task_config": {
                    "load_mode_config": _load_mode(load_interval_type, interval),
                    "uris": _uris(uris),
                }
            },
            "config_type": 1,
        }
        if name is not None:
            body["name"] = checks.text("name", name)
        await self._post(self._paths.task_create, json=body, idempotent=False, options=checked)
        if not resolve:
            return None
        assert name is not None
        found = [
            task
            async for task in self._named(name, since, checked)
            if task.source_connector_id == str(body["source_connector_id"])
            and task.volume_id == body["volume_id"]
        ]
        if len(found) > 1:
            raise InvalidInputError(
                f"{len(found)} tasks named {name!r} were created for this connector and volume "
                "since the call started; give each task a unique name to resolve it"
            )
        if not found:
            raise NotFoundError(
                f"task {name!r} was created, but is not listed yet",
                status=404,
                method="GET",
                path=self._paths.task_list,
            )
        return found[0]

    async def find(
        self, name: str, *, since: datetime | None = None, **options: Unpack[CallOptions]
    ) -> Task | None:
        """The newest task named exactly ``name`` (None if there is none).

        The service filters tasks by ``keyword`` only, and the keyword matches the task's
        creator or its volume's name, not the task's name; so this scans the listing newest
        first, and ``since`` (an aware datetime) stops the scan at tasks created before it:
        give it whenever you know roughly when the task was made.
        """
        async for task in self._named(name, since, call_options(options)):
            return task
        return None

    async def _named(
        self, name: str, since: datetime | None, options: CallOptions
    ) -> AsyncIterator[Task]:
        """Tasks named ``name``, newest first, created at or after ``since``."""
        checks.text("name", name)
        if since is not None and (not isinstance(since, datetime) or since.tzinfo is None):
            raise InvalidInputError(f"since must be an aware datetime, got {since!r}")
        async for task in self.list(order_by="created_at", descending=True, **options):
            if since is not None and task.created_at is not None and task.created_at < since:
                return
            if task.name == name:
                yield task

    def list(
        self,
        *,
        status: Iterable[TaskStatus | int] | None = None,
        load_interval_types: Iterable[LoadIntervalType | int] | None = None,
        order_by: str | None = None,
        descending: bool | None = None,
        keyword: str | None = None,
        **options: Unpack[PageOptions],
    ) -> AsyncPaginator[Task]:
        """Load tasks, filtered by status and schedule, ordered by ``order_by`` (``end_at``,
        ``created_at`` or ``updated_at``; ``descending=True`` for newest first). Pages are
        numbered, so ``concurrency=8`` fetches them in parallel once the first page tells the
        total.

        ``keyword`` matches a task's creator or its volume's name (a substring), not the
        task's name: use :meth:`find` for that. Listings stay exact while tasks are created
        and deleted if they are ordered by something that does not change (``created_at``,
        the default); ``updated_at`` changes with every state change."""
        params = {
            "status": checks.optional_int_list("status", status),
            "load_interval_types": checks.optional_int_list(
                "load_interval_types", load_interval_types
            ),
            "order_by": order_by_field(order_by, _ORDER_FIELDS),
            "is_desc": checks.optional_bool("descending", descending),
            "keyword": checks.optional_text("keyword", keyword),
        }
        return self._list(
            self._paths.task_list, _TASKS, style=_PAGES, params=params, options=options
        )

    async def get(self, task_id: str, **options: Unpack[CallOptions]) -> Task:
        """One task."""
        params = {"task_id": checks.require_id("task_id", task_id)}
        return await self._get(self._paths.task_get, _task, params=params, options=options)

    async def update(
        self,
        task_id: str,
        *,
        load_interval_type: LoadIntervalType | None = None,
        interval: int = 0,
        uris: Sequence[str] | None = None,
        **options: Unpack[CallOptions],
    ) -> None:
        """Change a task's schedule and/or its uris."""
        if load_interval_type is None and uris is None:
            raise InvalidInputError("pass load_interval_type, uris, or both")
        body: dict[str, Any] = {"task_id": checks.require_id("task_id", task_id)}
        if load_interval_type is not None:
            body["load_mode_config"] = _load_mode(load_interval_type, interval)
        if uris is not None:
            body["uris"] = _uris(uris)
        await self._post(self._paths.task_update, json=body, idempotent=True, options=options)

    async def delete(self, task_id: str, **options: Unpack[CallOptions]) -> None:
        """Delete a task (a retry that finds it already gone counts as success)."""
        body = {"task_id": checks.require_id("task_id", task_id)}
        await self._post(
            self._paths.task_delete, json=body, idempotent=True, absent_ok=True, options=options
        )

    async def pause(self, task_id: str, **options: Unpack[CallOptions]) -> None:
        """Pause a task: it goes through ``PAUSING`` to ``PAUSED``."""
        body = {"task_id": checks.require_id("task_id", task_id)}
        await self._post(self._paths.task_pause, json=body, idempotent=True, options=options)

    async def resume(self, task_id: str, **options: Unpack[CallOptions]) -> None:
        """Resume a paused task."""
        body = {"task_id": checks.require_id("task_id", task_id)}
        await self._post(self._paths.task_resume, json=body, idempotent=True, options=options)

    async def retry_files(
        self, task_id: str, file_ids: Iterable[str], **options: Unpack[CallOptions]
    ) -> builtins.list[str]:
        """Send failed files of a task (ids from :meth:`files`) back for loading; returns the
        ids sent. Safe to repeat: files already retrying are left alone."""
        ids = checks.id_list("file_ids", file_ids)
        body = {"task_id": checks.require_id("task_id", task_id), "ids": ids}
        await self._post(self._paths.task_retry, json=body, idempotent=True, options=options)
        return ids

    async def retry_failed(
        self, task_id: str, *, batch_size: int = 500, **options: Unpack[CallOptions]
    ) -> builtins.list[str]:
        """Retry every failed file of a task; returns their ids (empty: nothing to retry).

        The failed ids are collected first, then retried in batches of ``batch_size``:
        retrying while paging through a status-filtered listing would shift the pages under
        the iterator.
        """
        checked = call_options(options)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidInputError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        failed = [
            f.id async for f in self.files(task_id, status=[TaskFileStatus.FAILED], **checked)
        ]
        for start in range(0, len(failed), batch_size):
            await self.retry_files(task_id, failed[start : start + batch_size], **checked)
        return failed

    def files(
        self,
        task_id: str,
        *,
        status: Iterable[TaskFileStatus | int] | None = None,
        **options: Unpack[PageOptions],
    ) -> AsyncPaginator[TaskFile]:
        """The files of a task, optionally only those in some statuses."""
        params = {
            "task_id": checks.require_id("task_id", task_id),
            "status": checks.optional_int_list("status", status),
        }
        return self._list(
            self._paths.task_files, _FILES, style=_PAGES, params=params, options=options
        )

    async def file_counts(self, task_id: str, **options: Unpack[CallOptions]) -> TaskFileCounts:
        """How many files the task has, and how many succeeded and failed (one request)."""
        params = {"task_id": checks.require_id("task_id", task_id), "page": 1, "page_size": 1}
        return await self._get(self._paths.task_files, _file_counts, params=params, options=options)

    async def wait(
        self,
        task_id: str,
        *,
        until: Iterable[TaskStatus] = (TaskStatus.FINISHED,),
        max_wait: float | None = 600.0,
        interval: float = 1.0,
        max_interval: float = 15.0,
        **options: Unpack[CallOptions],
    ) -> Task:
        """Poll until the task reaches one of ``until`` (default: finished) and return it.

        Backs off from ``interval`` to ``max_interval`` seconds; raises
        :class:`~asyncsdk.WaitTimeoutError` (carrying the last state seen as ``.last``) after
        ``max_wait`` seconds (None: no limit); cancelling the waiting task stops the polling.
        The call options (``timeout``, ``retry``...) apply to each poll. Only once-tasks
        finish; wait for ``{TaskStatus.PAUSED}`` after a pause.
        """
        wanted = checks.require_id("task_id", task_id)
        targets = checks.members("until", until, TaskStatus)
        check_wait(max_wait, interval, max_interval)
        checked = call_options(options)
        return await poll_until(
            lambda: self.get(wanted, **checked),
            lambda task: task.status in targets,
            max_wait=max_wait,
            interval=interval,
            max_interval=max_interval,
            what=f"task {wanted}",
        )
