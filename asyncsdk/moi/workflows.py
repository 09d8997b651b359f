"""``moi.workflows``: processing workflows on the BYOA service.

A workflow reads the files of one or more raw volumes, runs them through a component graph, and
writes the results into a processed volume; the service starts its jobs (``moi.jobs``) itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, Unpack, overload

from .._core import checks
from .._core.checks import require_id
from .._core.convert import structurer
from .._core.errors import InvalidInputError, NotFoundError
from .._core.options import CallOptions, PageOptions, call_options
from .._core.paging import AsyncPaginator, NumberedPaging
from .._core.resource import Resource, page_reader
from ._args import order_by_field, sort_order
from .models import FileType, ProcessMode, Workflow, WorkflowConfig, WorkflowStatus
from .paths import MOIPaths

__all__ = ["Workflows"]

_OFFSETS = NumberedPaging(page_param="offset", size_param="limit", offset=True)
_WORKFLOWS = page_reader(Workflow, "workflows")

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


_workflow = structurer(Workflow)


class Workflows(Resource[MOIPaths]):
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

    def _workflow_path(self, workflow_id: object) -> str:
        return self._path(self._paths.workflow, workflow_id=workflow_id)

    @overload
    async def create(
        self,
        name: str,
        *,
        source_volume_ids: Sequence[str | int],
        source_volume_names: Sequence[str],
        file_types: Iterable[FileType | int],
        workflow: WorkflowConfig | Mapping[str, Any],
        target_volume_id: str | None = ...,
        target_volume_name: str = ...,
        create_target_volume_name: str | None = ...,
        process_mode: ProcessMode | None = ...,
        priority: int | None = ...,
        resolve: Literal[False] = ...,
        **options: Unpack[CallOptions],
    ) -> None: ...

    @overload
    async def create(
        self,
        name: str,
        *,
        source_volume_ids: Sequence[str | int],
        source_volume_names: Sequence[str],
        file_types: Iterable[FileType | int],
        workflow: WorkflowConfig | Mapping[str, Any],
        target_volume_id: str | None = ...,
        target_volume_name: str = ...,
        create_target_volume_name: str | None = ...,
        process_mode: ProcessMode | None = ...,
        priority: int | None = ...,
        resolve: Literal[True],
        **options: Unpack[CallOptions],
    ) -> Workflow: ...

    @overload
    async def create(
        self,
        name: str,
        *,
        source_volume_ids: Sequence[str | int],
        source_volume_names: Sequence[str],
        file_types: Iterable[FileType | int],
        workflow: WorkflowConfig | Mapping[str, Any],
        target_volume_id: str | None = ...,
        target_volume_name: str = ...,
        create_target_volume_name: str | None = ...,
        process_mode: ProcessMode | None = ...,
        priority: int | None = ...,
        resolve: bool,
        **options: Unpack[CallOptions],
    ) -> Workflow | None: ...

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
        **options: Unpack[CallOptions],
    ) -> Workflow | None:
        """Create a workflow over raw volumes (ids and names, in the same order).

        The output goes to an existing processed volume (``target_volume_id``, with its
        ``target_volume_name``) or to a new one the service creates
        (``create_target_volume_name``): pass exactly one of the two. ``process_mode`` defaults
        to "once" (interval 0: one job right away). ``workflow`` is the component graph,
        passed through as given.

        The seed-era service answers no id: the call returns None, or with ``resolve=True``
        the workflow (by the id newer services answer, else the newest of that exact name,
        looked up afterwards: racy if others create workflows with the same name concurrently;
        :class:`~asyncsdk.NotFoundError` if it is not listed). Not retried once sent: after a
        ``TransportError(request_sent=True)``, look for the workflow before creating it again.
        """
        checked = call_options(options)
        checks.boolean("resolve", resolve)
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
        data = await self._post(self._paths.workflows, json=body, idempotent=False, options=checked)
        if not resolve:
            return None
        # Newer services answer with the new row: use its id when there is one.
        if isinstance(data, dict) and data.get("id") not in (None, ""):
            return await self.get(data["id"], **checked)
        found = await self.find(name, **checked)
        if found is None:
            raise NotFoundError(
                f"workflow {name!r} was created, but is not listed",
                status=404,
                method="GET",
                path=self._paths.workflows,
            )
        return found

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

    async def find(self, name: str, **options: Unpack[CallOptions]) -> Workflow | None:
        """The newest workflow named exactly ``name``, or None."""
        checks.text("name", name)
        best: Workflow | None = None
        async for workflow in self.list(name_search=name, **options):
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
        order_by: str | None = None,
        descending: bool | None = None,
        **options: Unpack[PageOptions],
    ) -> AsyncPaginator[Workflow]:
        """Every workflow, page by page (``offset``/``limit``).

        ``name_search`` matches part of the name; sorted by ``order_by`` (the service's
        default: ``created_at``, newest first unless ``descending=False``).
        """
        params = {
            "name_search": checks.optional_text("name_search", name_search),
            "status": checks.optional_int_list("status", status),
            "file_types": checks.optional_int_list("file_types", file_types),
            "process_modes": checks.optional_int_list("process_modes", process_modes),
            "creator": checks.optional_text("creator", creator),
            "sort_field": order_by_field(order_by),
            "sort_order": sort_order(descending),
        }
        return self._list(
            self._paths.workflows, _WORKFLOWS, style=_OFFSETS, params=params, options=options
        )

    async def get(self, workflow_id: str, **options: Unpack[CallOptions]) -> Workflow:
        """One workflow, with its component graph (``workflow``)."""
        return await self._get(self._workflow_path(workflow_id), _workflow, options=options)

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
        **options: Unpack[CallOptions],
    ) -> None:
        """Change a workflow. The service replaces the whole definition (the body is the create
        body, sent with PUT), so the fields you leave out are first read from the current
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
        path = self._workflow_path(workflow_id)
        checked = call_options(options)
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
        current = await self._get(path, _as_object, options=checked)
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
        await self._put(path, json=body, options=checked)

    async def delete(
        self,
        workflow_id: str,
        *,
        delete_data: bool = False,
        **options: Unpack[CallOptions],
    ) -> None:
        """Delete a workflow; with ``delete_data=True`` also the data it produced (the files
        its jobs wrote into the target volume)."""
        params = {"delete_data": True} if checks.boolean("delete_data", delete_data) else None
        await self._delete(self._workflow_path(workflow_id), params=params, options=options)


def _as_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError(f"expected a workflow object, got {type(data).__name__}")
    return data


def _created(workflow: Workflow) -> float:
    return workflow.created_at.timestamp() if workflow.created_at is not None else 0.0
