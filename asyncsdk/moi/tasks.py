"""``moi.tasks``: load tasks, which copy a connector's files into a raw volume (MOI-API.md §6)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from attrs import define

from .._core import checks
from .._core.checks import require_id
from .._core.convert import structure
from .._core.errors import InvalidInputError
from .._core.paging import AsyncPaginator, NumberedPaging, PageResult
from .._core.polling import poll_until
from .._core.resource import Resource
from .._core.retry import RetryPolicy
from .._core.session import Session
from .connectors import connector_id_value
from .models import LoadIntervalType, Task, TaskFile, TaskFileStatus, TaskStatus
from .paths import MOIPaths

__all__ = ["TaskFileCounts", "Tasks"]

_ORDER_FIELDS = ("end_at", "created_at", "updated_at")
# How far the service's clock may be behind ours (and its creation times are whole seconds):
# tasks created this long before a create call are still candidates for resolving it.
_CLOCK_SLACK = timedelta(seconds=60)


@define(frozen=True)
class TaskFileCounts:
    """How a task's files stand: all of them, succeeded, failed."""

    total: int
    succeeded: int
    failed: int


def _uris(uris: Sequence[str]) -> list[str]:
    if isinstance(uris, str) or not isinstance(uris, Sequence):
        raise InvalidInputError("uris must be a list of file or folder uris")
    if not uris:
        raise InvalidInputError("uris must not be empty")
    for uri in uris:
        if not isinstance(uri, str) or not uri.strip():
            raise InvalidInputError(f"every uri must be a non-empty string, got {uri!r}")
    return list(uris)


def _load_mode(load_interval_type: LoadIntervalType | int, interval: int) -> dict[str, int]:
    if isinstance(load_interval_type, bool) or int(load_interval_type) not in (1, 2, 3, 4):
        raise InvalidInputError(
            f"load_interval_type must be a LoadIntervalType (DAY, HOUR, MINUTE or ONCE), "
            f"got {load_interval_type!r}"
        )
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 0:
        raise InvalidInputError(f"interval must be an integer >= 0, got {interval!r}")
    return {"load_interval_type": int(load_interval_type), "interval": interval}


class Tasks(Resource):
    """Create, list, inspect, pause, resume, retry and delete load tasks."""

    def __init__(self, session: Session, paths: MOIPaths) -> None:
        super().__init__(session)
        self._paths = paths

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
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Task | None:
        """Start loading ``uris`` (files or folders, as ``connectors.files`` lists them) from a
        connector into the raw volume ``volume_id``.

        The service returns no id. With ``resolve=True`` the task is looked up by what makes it
        unique: the ``name`` given (required then), this connector and volume, and a creation
        time from shortly before the call on (see :meth:`find`). Give each task a unique name:
        if several tasks match, ``InvalidInputError`` says so rather than returning one of
        them; if none is listed yet, the result is None.
        A create is not retried once sent: after ``TransportError(request_sent=True)``, check
        ``tasks.find(name)`` before creating again.
        """
        if resolve and not name:
            raise InvalidInputError(
                "resolve=True needs name=: the service returns no id, and only a name tells "
                "this task from others created for the same connector and volume meanwhile"
            )
        since = datetime.now(UTC) - _CLOCK_SLACK
        body: dict[str, Any] = {
            "source_connector_id": connector_id_value(connector_id),
            "volume_id": require_id("volume_id", volume_id),
            "source_config": {
                "common_file_task_config": {
                    "load_mode_config": _load_mode(load_interval_type, interval),
                    "uris": _uris(uris),
                }
            },
            "config_type": 1,
        }
        if name is not None:
            body["name"] = name
        await self._session.request(
            "POST",
            self._paths.task_create,
            json=body,
            idempotent=False,
            timeout=timeout,
            retry=retry,
        )
        if not resolve:
            return None
        assert name is not None
        found = [
            task
            async for task in self._named(name, since, timeout=timeout, retry=retry)
            if task.source_connector_id == str(body["source_connector_id"])
            and task.volume_id == body["volume_id"]
        ]
        if len(found) > 1:
            raise InvalidInputError(
                f"{len(found)} tasks named {name!r} were created for this connector and volume "
                "since the call started; give each task a unique name to resolve it"
            )
        return found[0] if found else None

    async def find(
        self,
        name: str,
        *,
        since: datetime | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Task | None:
        """The newest task named exactly ``name`` (None if there is none).

        The service filters tasks by ``keyword`` only, and the keyword matches the task's
        creator or its volume's name, not the task's name; so this scans the listing newest
        first, and ``since`` (an aware datetime) stops the scan at tasks created before it:
        give it whenever you know roughly when the task was made.
        """
        async for task in self._named(name, since, timeout=timeout, retry=retry):
            return task
        return None

    async def _named(
        self,
        name: str,
        since: datetime | None,
        *,
        timeout: float | None,
        retry: RetryPolicy | None,
    ) -> AsyncIterator[Task]:
        """Tasks named ``name``, newest first, created at or after ``since``."""
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"name must be a non-empty string, got {name!r}")
        if since is not None and (not isinstance(since, datetime) or since.tzinfo is None):
            raise InvalidInputError(f"since must be an aware datetime, got {since!r}")
        newest = self.list(order_by="created_at", is_desc=True, timeout=timeout, retry=retry)
        async for task in newest:
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
        is_desc: bool | None = None,
        keyword: str | None = None,
        page_size: int = 100,
        max_items: int | None = None,
        prefetch: int = 0,
        concurrency: int = 1,
        resume_from: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPaginator[Task]:
        """Load tasks, filtered by status and schedule, ordered by ``end_at``, ``created_at``
        or ``updated_at``. Pages are numbered, so ``concurrency=8`` fetches them in parallel
        once the first page tells the total.

        ``keyword`` matches a task's creator or its volume's name (a substring), not the
        task's name: use :meth:`find` for that. Listings stay exact while tasks are created
        and deleted if they are ordered by something that does not change (``created_at``,
        the default); ``updated_at`` changes with every state change."""
        if order_by is not None and order_by not in _ORDER_FIELDS:
            raise InvalidInputError(f"order_by must be one of {', '.join(_ORDER_FIELDS)}")
        return self._paginate(
            "GET",
            self._paths.task_list,
            style=NumberedPaging(),
            params={
                "status": checks.optional_int_list("status", status),
                "load_interval_types": checks.optional_int_list(
                    "load_interval_types", load_interval_types
                ),
                "order_by": order_by,
                "is_desc": is_desc,
                "keyword": keyword,
            },
            parse_page=lambda data: PageResult(
                structure(data.get("tasks") or [], list[Task]), total=data.get("total")
            ),
            page_size=page_size,
            max_items=max_items,
            prefetch=prefetch,
            concurrency=concurrency,
            resume_from=resume_from,
            timeout=timeout,
            retry=retry,
        )

    async def get(
        self, task_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> Task:
        """One task."""
        return await self._session.request(
            "GET",
            self._paths.task_get,
            params={"task_id": require_id("task_id", task_id)},
            idempotent=True,
            # Task's hook reads the seed's {"task": {...}} and the current flat answer.
            parse=lambda data: structure(data, Task),
            timeout=timeout,
            retry=retry,
        )

    async def update(
        self,
        task_id: str,
        *,
        load_interval_type: LoadIntervalType | None = None,
        interval: int = 0,
        uris: Sequence[str] | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Change a task's schedule and/or its uris."""
        if load_interval_type is None and uris is None:
            raise InvalidInputError("pass load_interval_type, uris, or both")
        body: dict[str, Any] = {"task_id": require_id("task_id", task_id)}
        if load_interval_type is not None:
            body["load_mode_config"] = _load_mode(load_interval_type, interval)
        if uris is not None:
            body["uris"] = _uris(uris)
        await self._session.request(
            "POST",
            self._paths.task_update,
            json=body,
            idempotent=True,
            timeout=timeout,
            retry=retry,
        )

    async def delete(
        self, task_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> None:
        """Delete a task (a retry that finds it already gone counts as success)."""
        await self._task_call(self._paths.task_delete, task_id, timeout, retry, absent_ok=True)

    async def pause(
        self, task_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> None:
        """Pause a task: it goes through ``PAUSING`` to ``PAUSED``."""
        await self._task_call(self._paths.task_pause, task_id, timeout, retry)

    async def resume(
        self, task_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> None:
        """Resume a paused task."""
        await self._task_call(self._paths.task_resume, task_id, timeout, retry)

    async def _task_call(
        self,
        path: str,
        task_id: str,
        timeout: float | None,
        retry: RetryPolicy | None,
        *,
        absent_ok: bool = False,
    ) -> None:
        await self._session.request(
            "POST",
            path,
            json={"task_id": require_id("task_id", task_id)},
            idempotent=True,
            absent_ok_on_retry=absent_ok,
            timeout=timeout,
            retry=retry,
        )

    async def retry(
        self,
        task_id: str,
        file_ids: Iterable[str],
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Retry failed files of a task (ids from ``tasks.files``). Safe to repeat: files
        already retrying are left alone."""
        ids = checks.id_list("file_ids", file_ids)
        await self._session.request(
            "POST",
            self._paths.task_retry,
            json={"task_id": require_id("task_id", task_id), "ids": ids},
            idempotent=True,
            timeout=timeout,
            retry=retry,
        )

    async def retry_failed(
        self,
        task_id: str,
        *,
        batch_size: int = 500,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> int:
        """Retry every failed file of a task; return how many were retried.

        The failed ids are collected first, then retried in batches: retrying while paging
        through a status-filtered listing would shift the pages under the iterator.
        """
        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be >= 1, got {batch_size}")
        failed = [
            f.id
            async for f in self.files(
                task_id, status=[TaskFileStatus.FAILED], timeout=timeout, retry=retry
            )
        ]
        for start in range(0, len(failed), batch_size):
            await self.retry(
                task_id, failed[start : start + batch_size], timeout=timeout, retry=retry
            )
        return len(failed)

    def files(
        self,
        task_id: str,
        *,
        status: Iterable[TaskFileStatus | int] | None = None,
        page_size: int = 100,
        max_items: int | None = None,
        prefetch: int = 0,
        concurrency: int = 1,
        resume_from: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPaginator[TaskFile]:
        """The files of a task, optionally only those in some statuses."""
        return self._paginate(
            "GET",
            self._paths.task_files,
            style=NumberedPaging(),
            params={
                "task_id": require_id("task_id", task_id),
                "status": checks.optional_int_list("status", status),
            },
            parse_page=lambda data: PageResult(
                structure(data.get("files") or [], list[TaskFile]), total=data.get("total")
            ),
            page_size=page_size,
            max_items=max_items,
            prefetch=prefetch,
            concurrency=concurrency,
            resume_from=resume_from,
            timeout=timeout,
            retry=retry,
        )

    async def file_counts(
        self, task_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> TaskFileCounts:
        """How many files the task has, and how many succeeded and failed (one request)."""
        return await self._session.request(
            "GET",
            self._paths.task_files,
            params={"task_id": require_id("task_id", task_id), "page": 1, "page_size": 1},
            idempotent=True,
            parse=lambda data: TaskFileCounts(
                total=structure(data.get("total_sum", data.get("total", 0)), int),
                succeeded=structure(data.get("total_success", 0), int),
                failed=structure(data.get("total_failed", 0), int),
            ),
            timeout=timeout,
            retry=retry,
        )

    async def wait(
        self,
        task_id: str,
        *,
        until: Iterable[TaskStatus] = (TaskStatus.FINISHED,),
        timeout: float | None = 600.0,
        interval: float = 1.0,
        max_interval: float = 15.0,
        request_timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Task:
        """Poll until the task reaches one of ``until`` (default: finished) and return it.

        Backs off from ``interval`` to ``max_interval`` seconds; raises ``WaitTimeoutError``
        (carrying the last state seen as ``.last``) after ``timeout`` seconds; cancelling the
        waiting task stops the polling. ``request_timeout`` and ``retry`` apply to each poll.
        Only once-tasks finish; wait for ``TaskStatus.PAUSED`` after a pause.
        """
        wanted = require_id("task_id", task_id)
        targets = set(until)
        if not targets:
            raise InvalidInputError("until must name at least one TaskStatus")
        return await poll_until(
            lambda: self.get(wanted, timeout=request_timeout, retry=retry),
            lambda task: task.status in targets,
            timeout=timeout,
            interval=interval,
            max_interval=max_interval,
            what=f"task {wanted}",
        )
