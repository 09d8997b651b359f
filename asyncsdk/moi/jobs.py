"""``moi.jobs``: runs of processing workflows and their files (MOI-API.md §8).

The service starts jobs itself (once for a run-once workflow, then on its schedule); this
resource lists and inspects them, waits for one to finish, and sends failed files back for
another try.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from attrs import define

from .._core import checks
from .._core.checks import require_id
from .._core.convert import structure
from .._core.paging import AsyncPaginator, NumberedPaging, PageRequest, PageResult
from .._core.polling import poll_until
from .._core.resource import Resource
from .._core.retry import RetryPolicy
from .._core.session import Session
from . import _args
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


def _counts(data: Any) -> JobFileCounts:
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    return structure({key: data[key] for key in _COUNTERS if key in data}, JobFileCounts)


def _files_page(data: Any) -> PageResult[JobFile]:
    files = structure(_args.listing(data, "files"), list[JobFile])
    # file_total counts the files matching the status filter; older services only send
    # total (every file of the job), which is still a safe upper bound for the pager.
    total = data.get("file_total")
    if total is None:
        total = data.get("total")
    return PageResult(files, total=total)


class Jobs(Resource):
    """List, inspect and wait for processing jobs; list and retry their files::

    job = await moi.jobs.list(workflow_id=wf.id).first()
    job = await moi.jobs.wait(job.id, timeout=600)
    if job.status == JobStatus.FAILED:
        await moi.jobs.retry_failed(job.id)
    """

    def __init__(self, session: Session, paths: MOIPaths) -> None:
        super().__init__(session)
        self._paths = paths

    def list(
        self,
        *,
        workflow_id: str | None = None,
        name_search: str | None = None,
        file_types: Iterable[FileType | int] | None = None,
        sort_field: str | None = None,
        sort_order: str | None = None,
        status: JobStatus | int | None = None,
        source_file_id: str | None = None,
        page_size: int = 100,
        max_items: int | None = None,
        prefetch: int = 0,
        concurrency: int = 1,
        resume_from: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPaginator[Job]:
        """Every job (of one workflow with ``workflow_id``), page by page. The service lists the
        newest first unless told otherwise.

        ``status`` and ``source_file_id`` (the jobs that processed that raw file) are filters
        of the current service only (``paths="current"``)."""
        return self._paginate(
            "GET",
            self._paths.jobs,
            style=_JOB_PAGING,
            params={
                "status": _job_status(status),
                "source_file_id": None
                if source_file_id is None
                else require_id("source_file_id", source_file_id),
                "workflow_id": None
                if workflow_id is None
                else require_id("workflow_id", workflow_id),
                "name_search": name_search,
                "file_types": checks.optional_int_list("file_types", file_types),
                "sort_field": sort_field,
                "sort_order": sort_order,
            },
            parse_page=lambda data: PageResult(
                structure(_args.listing(data, "jobs"), list[Job]), total=data.get("total")
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
        self, job_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> Job:
        """One job, with its workflow's component graph."""
        path = self._paths.job.format(job_id=checks.path_id("job_id", job_id))
        return await self._session.request(
            "GET",
            path,
            idempotent=True,
            parse=lambda data: structure(data, Job),
            timeout=timeout,
            retry=retry,
        )

    def files(
        self,
        job_id: str,
        *,
        statuses: Iterable[JobFileStatus | int] | None = None,
        page_size: int = 100,
        max_items: int | None = None,
        prefetch: int = 0,
        concurrency: int = 1,
        resume_from: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPaginator[JobFile]:
        """The files of a job, page by page (``page_num``/``page_size``), optionally only
        those in ``statuses``. For the counters (completed, failed...) see
        :meth:`file_counts`."""
        path = self._paths.job_files.format(job_id=checks.path_id("job_id", job_id))
        return self._paginate(
            "GET",
            path,
            style=NumberedPaging(page_param="page_num"),
            params={"statuses": checks.optional_int_list("statuses", statuses)},
            parse_page=_files_page,
            page_size=page_size,
            max_items=max_items,
            prefetch=prefetch,
            concurrency=concurrency,
            resume_from=resume_from,
            timeout=timeout,
            retry=retry,
        )

    async def file_counts(
        self, job_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> JobFileCounts:
        """How many of a job's files are completed, failed, processing, pending or stopped
        (one request: the counters of the first, one-item page of the file listing)."""
        path = self._paths.job_files.format(job_id=checks.path_id("job_id", job_id))
        return await self._session.request(
            "GET",
            path,
            params={"page_num": 1, "page_size": 1},
            idempotent=True,
            parse=_counts,
            timeout=timeout,
            retry=retry,
        )

    async def retry_files(
        self,
        job_id: str,
        file_ids: Iterable[str],
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Send failed files of a job (``JobFile.id``) back for processing (body
        ``{"files": [...]}``, D19). Not retried once sent (D23): a repeated retry could
        restart files the first one already restarted."""
        path = self._paths.job_files.format(job_id=checks.path_id("job_id", job_id))
        await self._session.request(
            "POST",
            path,
            json={"files": checks.id_list("file_ids", file_ids)},
            idempotent=False,
            timeout=timeout,
            retry=retry,
        )

    async def retry_failed(
        self, job_id: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> builtins.list[str]:
        """Retry every failed file of a job; returns their ids (empty: nothing to retry)."""
        failed = [
            f.id
            async for f in self.files(
                job_id, statuses=[JobFileStatus.FAILED], timeout=timeout, retry=retry
            )
            if f.file_status == JobFileStatus.FAILED
        ]
        if failed:
            await self.retry_files(job_id, failed, timeout=timeout, retry=retry)
        return failed

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = 600.0,
        interval: float = 1.0,
        max_interval: float = 15.0,
        request_timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Job:
        """Poll a job until it is completed or failed, and return it.

        Polls every ``interval`` seconds at first, doubling up to ``max_interval``. Raises
        :class:`~asyncsdk.WaitTimeoutError` after ``timeout`` seconds (``None`` waits for
        ever); its ``last`` holds the job as last seen. Cancelling the waiting task stops the
        polling at once. ``request_timeout`` and ``retry`` apply to each poll::

            try:
                job = await moi.jobs.wait(job_id, timeout=300)
            except WaitTimeoutError as exc:
                print("still running:", exc.last.processed_count, "/", exc.last.total_count)
        """
        wanted = require_id("job_id", job_id)

        async def fetch() -> Job:
            return await self.get(wanted, timeout=request_timeout, retry=retry)

        return await poll_until(
            fetch,
            lambda job: job.finished,
            timeout=timeout,
            interval=interval,
            max_interval=max_interval,
            what=f"job {wanted}",
        )
