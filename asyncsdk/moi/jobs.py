"""``moi.jobs``: runs of processing workflows and their files.

The service starts jobs itself (once for a run-once workflow, then on its schedule); this
resource lists and inspects them, waits for one to finish, and sends failed files back for
another try.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any, Unpack

from attrs import define

from .._core import checks
from .._core.convert import structure, structurer
from .._core.options import CallOptions, PageOptions, call_options
from .._core.paging import AsyncPaginator, NumberedPaging, PageRequest, PageResult
from .._core.polling import check_wait, poll_until
from .._core.resource import PageReader, Resource, items, page_reader
from ._args import order_by_field, sort_order
from .models import FileType, Job, JobFile, JobFileCounts, JobFileStatus, JobStatus
from .paths import MOIPaths

__all__ = ["Jobs"]


@define(frozen=True)
class _PageAndPageNum(NumberedPaging):
    """Sends the page number as both ``page`` and ``page_num``.

    The sources disagree on the name:

    - ``page_num``: the BYOA service's own OpenAPI spec, for ``GET /byoa/api/v1/workflow_job``
      (yangj1211/moc-docs, ``docs/MatrixOne-Intelligence/API/workflow.openapi.json`` at 78d26d8);
    - ``page``: the vendor's own clients (matrixorigin/moi-go-sdk ``genai.go`` at b28c3bb,
      ``ListWorkflowJobs``; matrixorigin/moi-python-sdk ``moi/client.py`` at 37a7381,
      ``list_workflow_jobs``).

    The service is a FastAPI app, which ignores a query parameter it does not declare, so the
    same number under both names is read right whichever one a deployment declares.
    """

    def params(self, request: PageRequest) -> dict[str, Any]:
        out = super().params(request)
        out["page_num"] = out[self.page_param]
        return out


_JOB_PAGING = _PageAndPageNum(page_param="page")


def _job_status(status: JobStatus | int | None) -> str | None:
    # The current service's filter is a string naming the status ("running"), as the vendor's
    # clients send it; a number it has no name for goes as its digits.
    if status is None:
        return None
    value = checks.optional_int_list("status", [status])
    assert value is not None
    member = JobStatus(value[0])
    return member.name.lower() if not member.name.startswith("UNKNOWN_") else str(int(member))


_COUNTERS = ("total", "completed", "failed", "processing", "pending", "stopped", "file_total")
_PAGES = NumberedPaging(page_param="page_num")
_JOBS = page_reader(Job, "jobs")


def _counts(data: Any) -> JobFileCounts:
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    return structure({key: data[key] for key in _COUNTERS if key in data}, JobFileCounts)


def _locate_files(data: Any) -> PageResult[Any]:
    # file_total counts the files matching the status filter; older services only send
    # total (every file of the job), which is still a safe upper bound for the pager.
    total = data.get("file_total")
    if total is None:
        total = data.get("total")
    return PageResult(items(data, "files"), total=total)


_FILES = PageReader(JobFile, _locate_files)


_job = structurer(Job)


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
        status: JobStatus | int | None = None,
        source_file_id: str | None = None,
        **options: Unpack[PageOptions],
    ) -> AsyncPaginator[Job]:
        """Every job (of one workflow with ``workflow_id``), page by page. The service lists
        the newest first unless told otherwise (``descending=False``).

        ``status`` and ``source_file_id`` (the jobs that processed that raw file) are filters
        of the current service only (``paths="current"``)."""
        params = {
            "status": _job_status(status),
            "source_file_id": None
            if source_file_id is None
            else checks.require_id("source_file_id", source_file_id),
            "workflow_id": None
            if workflow_id is None
            else checks.require_id("workflow_id", workflow_id),
            "name_search": checks.optional_text("name_search", name_search),
            "file_types": checks.optional_int_list("file_types", file_types),
            "sort_field": order_by_field(order_by),
            "sort_order": sort_order(descending),
        }
        return self._list(
            self._paths.jobs, _JOBS, style=_JOB_PAGING, params=params, options=options
        )

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
        return self._list(path, _FILES, style=_PAGES, params=params, options=options)

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
