"""``moi.workflows``: processing workflows on the BYOA service (MOI-API.md §7).

A workflow reads the files of one or more raw volumes, runs them through a component graph, and
writes the results into a processed volume; the service starts its jobs (``moi.jobs``) itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._core import checks
from .._core.checks import require_id
from .._core.convert import structure
from .._core.errors import InvalidInputError
from .._core.paging import AsyncPaginator, NumberedPaging, PageResult
from .._core.resource import Resource
from .._core.retry import RetryPolicy
from .._core.session import Session
from . import _args
from .models import FileType, ProcessMode, Workflow, WorkflowConfig, WorkflowStatus
from .paths import MOIPaths

__all__ = ["Workflows"]

# The fields of a create (and update) body, in the order the docs list them.
_BODY_FIELDS = (
    "name",
    "source_volume_names",
    "source_volume_ids",
    "target_volume_name",
    "target_volume_id",
    "create_target_volume_name",
    "process_mode",
    "file_types",
    "workflow",
    "priority",
)


def _process_mode(value: object) -> dict[str, int]:
    if not isinstance(value, ProcessMode):
        raise InvalidInputError(f"process_mode must be a ProcessMode, got {type(value).__name__}")
    return {
        "interval": checks.integer("process_mode.interval", value.interval),
        "offset": checks.integer("process_mode.offset", value.offset),
    }


def _workflow_graph(value: object) -> dict[str, Any]:
    if isinstance(value, WorkflowConfig):
        return value.to_dict()
    if isinstance(value, Mapping):
        return dict(value)
    raise InvalidInputError(
        "workflow must be a WorkflowConfig or a mapping (the component graph), "
        f"got {type(value).__name__}"
    )


def _sources(ids: object, names: object) -> tuple[list[str], list[str]]:
    source_ids = checks.id_list("source_volume_ids", ids)
    source_names = checks.name_list("source_volume_names", names)
    if len(source_ids) != len(source_names):
        raise InvalidInputError(
            f"source_volume_ids and source_volume_names must pair up: got {len(source_ids)} "
            f"ids and {len(source_names)} names"
        )
    return source_ids, source_names


def _file_types(values: object) -> list[int]:
    types = checks.int_list("file_types", values)
    if not types:
        raise InvalidInputError("file_types must name at least one FileType")
    return types


def _priority(value: object) -> int:
    return checks.integer("priority", value)


class Workflows(Resource):
    """Create, list, get, update and delete processing workflows::

    await moi.workflows.create(
        "contracts",
        source_volume_ids=[raw.id], source_volume_names=[raw.name],
        target_volume_id=out.id, target_volume_name=out.name,
        file_types=[FileType.PDF], workflow=pipeline,
    )
    async for wf in moi.workflows.list(name_search="contracts"):
        ...
    """

    def __init__(self, session: Session, paths: MOIPaths) -> None:
        super().__init__(session)
        self._paths = paths

    def _path(self, workflow_id: object) -> str:
        return self._paths.workflow.format(workflow_id=checks.path_id("workflow_id", workflow_id))

    async def create(
        self,
        name: str,
        *,
        source_volume_ids: Sequence[str | int],
        source_volume_names: Sequence[str],
        file_types: Iterable[FileType | int],
        workflow: WorkflowConfig | Mapping[str, Any],
        target_volume_id: str | None = None,
        target_volume_name: str = "",
        create_target_volume_name: str | None = None,
        process_mode: ProcessMode | None = None,
        priority: int | None = None,
        resolve: bool = False,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Workflow | None:
        """Create a workflow over raw volumes (ids and names, in the same order).

        The output goes to an existing processed volume (``target_volume_id``, with its
        ``target_volume_name``) or to a new one the service creates
        (``create_target_volume_name``): pass exactly one of the two. ``process_mode`` defaults
        to "once" (interval 0: one job right away). ``workflow`` is the component graph,
        passed through as given.

        The seed-era service returns no id (D6): the call returns None, or with
        ``resolve=True`` the newest workflow of that exact name, looked up afterwards (racy if
        others create workflows with the same name concurrently). Not retried once sent (D23):
        after a ``TransportError(request_sent=True)``, look for the workflow before creating it
        again.
        """
        body = self._body(
            name=name,
            source_volume_ids=source_volume_ids,
            source_volume_names=source_volume_names,
            file_types=file_types,
            workflow=workflow,
            target_volume_id=target_volume_id,
            target_volume_name=target_volume_name,
            create_target_volume_name=create_target_volume_name,
            process_mode=process_mode if process_mode is not None else ProcessMode(),
            priority=priority,
        )
        data: Any = await self._session.request(
            "POST",
            self._paths.workflows,
            json=body,
            idempotent=False,
            timeout=timeout,
            retry=retry,
        )
        if not resolve:
            return None
        # Newer services answer with the new row (D6): use its id when there is one.
        if isinstance(data, dict) and data.get("id") not in (None, ""):
            return await self.get(data["id"], timeout=timeout, retry=retry)
        return await self.find(name, timeout=timeout, retry=retry)

    @staticmethod
    def _body(
        *,
        name: object,
        source_volume_ids: object,
        source_volume_names: object,
        file_types: object,
        workflow: object,
        target_volume_id: object,
        target_volume_name: object,
        create_target_volume_name: object,
        process_mode: object,
        priority: object,
    ) -> dict[str, Any]:
        name = checks.text("name", name)
        source_ids, source_names = _sources(source_volume_ids, source_volume_names)
        new_target = (
            None
            if create_target_volume_name is None
            else checks.text("create_target_volume_name", create_target_volume_name)
        )
        target_id = (
            None if target_volume_id is None else require_id("target_volume_id", target_volume_id)
        )
        if (target_id is None) == (new_target is None):
            raise InvalidInputError(
                "pass exactly one of target_volume_id (an existing processed volume) or "
                "create_target_volume_name (a new one)"
            )
        body: dict[str, Any] = {
            "name": name,
            "source_volume_names": source_names,
            "source_volume_ids": source_ids,
            "target_volume_name": checks.text(
                "target_volume_name", target_volume_name, allow_empty=True
            ),
            "target_volume_id": target_id or "",
            "create_target_volume_name": new_target or "",
            "process_mode": _process_mode(process_mode),
            "file_types": _file_types(file_types),
            "workflow": _workflow_graph(workflow),
        }
        if priority is not None:
            body["priority"] = _priority(priority)
        return body

    async def find(
        self, name: str, *, timeout: float | None = None, retry: RetryPolicy | None = None
    ) -> Workflow | None:
        """The newest workflow named exactly ``name``, or None."""
        checks.text("name", name)
        best: Workflow | None = None
        async for workflow in self.list(name_search=name, timeout=timeout, retry=retry):
            if workflow.name == name and (best is None or _created(workflow) > _created(best)):
                best = workflow
        return best

    def list(
        self,
        *,
        name_search: str | None = None,
        status: Iterable[WorkflowStatus | int] | None = None,
        file_types: Iterable[FileType | int] | None = None,
        process_modes: Iterable[int] | None = None,
        creator: str | None = None,
        sort_field: str | None = None,
        sort_order: str | None = None,
        page_size: int = 100,
        max_items: int | None = None,
        prefetch: int = 0,
        concurrency: int = 1,
        resume_from: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncPaginator[Workflow]:
        """Every workflow, page by page (``offset``/``limit``, D7).

        ``name_search`` matches part of the name; ``sort_order`` is ``"ascend"`` or
        ``"descend"`` (the service's default, by ``created_at``).
        """
        if sort_order is not None and sort_order not in ("ascend", "descend"):
            raise InvalidInputError(f"sort_order must be 'ascend' or 'descend', got {sort_order!r}")
        return self._paginate(
            "GET",
            self._paths.workflows,
            style=NumberedPaging(page_param="offset", size_param="limit", offset=True),
            params={
                "name_search": name_search,
                "status": checks.optional_int_list("status", status),
                "file_types": checks.optional_int_list("file_types", file_types),
                "process_modes": checks.optional_int_list("process_modes", process_modes),
                "creator": creator,
                "sort_field": sort_field,
                "sort_order": sort_order,
            },
            parse_page=lambda data: PageResult(
                structure(_args.listing(data, "workflows"), list[Workflow]),
                total=data.get("total"),
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
        self,
        workflow_id: str,
        *,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> Workflow:
        """One workflow, with its component graph (``workflow``)."""
        return await self._session.request(
            "GET",
            self._path(workflow_id),
            idempotent=True,
            parse=lambda data: structure(data, Workflow),
            timeout=timeout,
            retry=retry,
        )

    async def update(
        self,
        workflow_id: str,
        *,
        name: str | None = None,
        source_volume_ids: Sequence[str | int] | None = None,
        source_volume_names: Sequence[str] | None = None,
        file_types: Iterable[FileType | int] | None = None,
        workflow: WorkflowConfig | Mapping[str, Any] | None = None,
        target_volume_id: str | None = None,
        target_volume_name: str | None = None,
        process_mode: ProcessMode | None = None,
        priority: int | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Change a workflow. The service replaces the whole definition (the body is the create
        body, D18: sent with PUT), so the fields you leave out are first read from the current
        workflow (one ``GET`` more) and sent back unchanged. When moving the output to another
        volume, pass its ``target_volume_name`` along with ``target_volume_id``.

            await moi.workflows.update(wf.id, process_mode=ProcessMode(ProcessInterval.HOUR_1))
        """
        changes: dict[str, Any] = {
            key: value
            for key, value in {
                "name": name,
                "source_volume_ids": source_volume_ids,
                "source_volume_names": source_volume_names,
                "file_types": file_types,
                "workflow": workflow,
                "target_volume_id": target_volume_id,
                "target_volume_name": target_volume_name,
                "process_mode": process_mode,
                "priority": priority,
            }.items()
            if value is not None
        }
        if not changes:
            raise InvalidInputError("pass at least one field to change")
        if ("source_volume_ids" in changes) != ("source_volume_names" in changes):
            raise InvalidInputError(
                "source_volume_ids and source_volume_names change together (they pair up)"
            )
        path = self._path(workflow_id)
        # Check what we can before the extra GET.
        if name is not None:
            checks.text("name", name)
        if "source_volume_ids" in changes:
            _sources(source_volume_ids, source_volume_names)
        if file_types is not None:
            changes["file_types"] = _file_types(file_types)
        if workflow is not None:
            changes["workflow"] = _workflow_graph(workflow)
        if process_mode is not None:
            changes["process_mode"] = _process_mode(process_mode)
        if priority is not None:
            _priority(priority)
        # The current definition as the service wrote it, so unknown keys (newer services add
        # some) survive the round trip.
        current: dict[str, Any] = await self._session.request(
            "GET",
            path,
            idempotent=True,
            parse=_as_object,
            timeout=timeout,
            retry=retry,
        )
        body = {key: current[key] for key in _BODY_FIELDS if key in current}
        body["create_target_volume_name"] = ""
        body.update(changes)
        if "source_volume_ids" in changes:
            body["source_volume_ids"], body["source_volume_names"] = _sources(
                source_volume_ids, source_volume_names
            )
        else:
            body["source_volume_ids"] = [str(v) for v in body.get("source_volume_ids") or []]
        if target_volume_id is not None:
            body["target_volume_id"] = require_id("target_volume_id", target_volume_id)
        if target_volume_name is not None:
            checks.text("target_volume_name", target_volume_name, allow_empty=True)
        await self._session.request(
            "PUT",
            path,
            json=body,
            idempotent=True,
            timeout=timeout,
            retry=retry,
        )

    async def delete(
        self,
        workflow_id: str,
        *,
        delete_data: bool = False,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Delete a workflow; with ``delete_data=True`` also the data it produced (the files
        its jobs wrote into the target volume)."""
        if not isinstance(delete_data, bool):
            raise InvalidInputError("delete_data must be True or False")
        await self._session.request(
            "DELETE",
            self._path(workflow_id),
            params={"delete_data": True} if delete_data else None,
            idempotent=True,
            absent_ok_on_retry=True,
            timeout=timeout,
            retry=retry,
        )


def _as_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError(f"expected a workflow object, got {type(data).__name__}")
    return data


def _created(workflow: Workflow) -> float:
    return workflow.created_at.timestamp() if workflow.created_at is not None else 0.0
