"""``moi.jobs``: runs of processing workflows and their files.

The service starts jobs itself (once for a run-once workflow, then on its schedule); this
resource lists and inspects them, waits for one to finish, and sends failed files back for
another try.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any, Unpack

from .._core import checks
from .._core.convert import structure
from .._core.options import CallOptions, PageOptions, call_options
from .._core.paging import AsyncPaginator, NumberedPaging, PageResult
from .._core.polling import check_wait, poll_until
from .._core.resource import Resource, items, page_reader
from ._args import order_by_field, sort_order
from .models import FileType, Job, JobFile, JobFileCounts, JobFileStatus
from .paths import MOIPaths

__all__ = ["Jobs"]

_COUNTERS = ("total", "completed", "failed", "processing", "pending", "stopped", "file_total")
_PAGES = NumberedPaging(page_param="page_num")
_JOBS = page_reader(Job, "jobs")


def _counts(data: Any) -> JobFileCounts:
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    return structure({key: data[key] for key in _COUNTERS if key in data}, JobFileCounts)


def _files_page(data: Any) -> PageResult[JobFile]:
    files = structure(items(data, "files"), list[JobFile])
    # file_total counts the files matching the status filter; older services only send
    # total (every file of the job), which is still a safe upper bound for the pager.
    total = data.get("file_total")
    if total is None:
        total = data.get("total")
    return PageResult(files, total=total)


def _job(data: Any) -> Job:
    return structure(data, Job)


class Jobs(Resource[MOIPaths]):
    """List, inspect and wait for processing jobs; list and retry their files::

    job = await moi.jobs.list(workflow_id=wf.id).first()
    job = await moi.jobs.wait(job.id, max_wait=600)
    if job.status == JobStatus.FAILED:
        await moi.jobs.retry_failed(job.id)
    """

    def list(
        self,
        *,
        workflow_id: str | None = None,
        name_search: str | None = None,
        file_types: Iterable[FileType | int] | None = None,
        order_by: str | None = None,
        descending: bool | None = None,
        **options: Unpack[PageOptions],
    ) -> AsyncPaginator[Job]:
        """Every job (of one workflow with ``workflow_id``), page by page. The service lists
        the newest first unless told otherwise (``descending=False``)."""
        params = {
            "workflow_id": None
            if workflow_id is None
            else checks.require_id("workflow_id", workflow_id),
            "name_search": checks.optional_text("name_search", name_search),
            "file_types": checks.optional_int_list("file_types", file_types),
            "sort_field": order_by_field(order_by),
            "sort_order": sort_order(descending),
        }
        return self._list(self._paths.jobs, _JOBS, style=_PAGES, params=params, options=options)

    async def get(self, job_id: str, **options: Unpack[CallOptions]) -> Job:
        """One job, with its workflow's component graph."""
        return await self._get(self._path(self._paths.job, job_id=job_id), _job, options=options)

    def files(
        self,
        job_id: str,
        *,
        status: Iterable[JobFileStatus | int] | None = None,
        **options: Unpack[PageOptions],
    ) -> AsyncPaginator[JobFile]:
        """The files of a job, page by page, optionally only those in some statuses. For the
        counters (completed, failed...) see :meth:`file_counts`."""
        path = self._path(self._paths.job_files, job_id=job_id)
        params = {"statuses": checks.optional_int_list("status", status)}
        return self._list(path, _files_page, style=_PAGES, params=params, options=options)

    async def file_counts(self, job_id: str, **options: Unpack[CallOptions]) -> JobFileCounts:
        """How many of a job's files are completed, failed, processing, pending or stopped
        (one request: the counters of the first, one-item page of the file listing)."""
        path = self._path(self._paths.job_files, job_id=job_id)
        params = {"page_num": 1, "page_size": 1}
        return await self._get(path, _counts, params=params, options=options)

    async def retry_files(
        self, job_id: str, file_ids: Iterable[str], **options: Unpack[CallOptions]
    ) -> builtins.list[str]:
        """Send failed files of a job (``JobFile.id``) back for processing; returns the ids
        sent. Not retried once sent: a repeated retry could restart files the first one
        already restarted."""
        path = self._path(self._paths.job_files, job_id=job_id)
        ids = checks.id_list("file_ids", file_ids)
        await self._post(path, json={"files": ids}, idempotent=False, options=options)
        return ids

    async def retry_failed(self, job_id: str, **options: Unpack[CallOptions]) -> builtins.list[str]:
        """Retry every failed file of a job; returns their ids (empty: nothing to retry)."""
        checked = call_options(options)
        failed = [
            f.id
            async for f in self.files(job_id, status=[JobFileStatus.FAILED], **checked)
            if f.status == JobFileStatus.FAILED
        ]
        if failed:
            await self.retry_files(job_id, failed, **checked)
        return failed

    async def wait(
        self,
        job_id: str,
        *,
        max_wait: float | None = 600.0,
        interval: float = 1.0,
        max_interval: float = 15.0,
        **options: Unpack[CallOptions],
    ) -> Job:
        """Poll a job until it is completed or failed, and return it.

        Polls every ``interval`` seconds at first, doubling up to ``max_interval``. Raises
        :class:`~asyncsdk.WaitTimeoutError` after ``max_wait`` seconds (``None`` waits for
        ever); its ``last`` holds the job as last seen. Cancelling the waiting task stops the
        polling at once. The call options (``timeout``, ``retry``...) apply to each poll::

            try:
                job = await moi.jobs.wait(job_id, max_wait=300)
            except WaitTimeoutError as exc:
                print("still running:", exc.last.processed_count, "/", exc.last.total_count)
        """
        checks.path_segment("job_id", job_id)
        check_wait(max_wait, interval, max_interval)
        checked = call_options(options)
        return await poll_until(
            lambda: self.get(job_id, **checked),
            lambda job: job.finished,
            max_wait=max_wait,
            interval=interval,
            max_interval=max_interval,
            what=f"job {job_id}",
        )
