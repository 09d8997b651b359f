"""Every MOI path, in one table per generation of the API.

The BYOA service renamed ``index_workflow`` / ``index_workflow_job`` to ``workflow_meta`` /
``workflow_job`` in May 2025; a rename is a one-line change here and nowhere else.
"""

from __future__ import annotations

from typing import Literal

from attrs import define, evolve

from .._core.errors import InvalidInputError

__all__ = ["CURRENT_PATHS", "SEED_PATHS", "MOIPaths", "resolve_paths"]


@define(frozen=True)
class MOIPaths:
    """Paths relative to the client's ``base_url``. Templates use ``str.format`` fields; ids
    are put in by the resources, each as exactly one path segment."""

    login: str = "/auth/login"
    refresh: str = "/auth/refresh"

    connectors: str = "/connectors"
    connector: str = "/connectors/{connector_id}"
    connector_validate: str = "/connectors/validate"
    connector_list: str = "/connectors/list"
    connector_files: str = "/connectors/files/list"

    task_create: str = "/task"
    task_list: str = "/task/list"
    task_get: str = "/task/get"
    task_update: str = "/task/update"
    task_delete: str = "/task/delete"
    task_pause: str = "/task/pause"
    task_resume: str = "/task/resume"
    task_retry: str = "/task/retry"
    task_files: str = "/task/files"

    workflows: str = "/byoa/api/v1/index_workflow"
    workflow: str = "/byoa/api/v1/index_workflow/{workflow_id}"
    jobs: str = "/byoa/api/v1/index_workflow_job"
    job: str = "/byoa/api/v1/index_workflow_job/{job_id}"
    job_files: str = "/byoa/api/v1/index_workflow_job/{job_id}/files"

    raw_volume_create: str = "/CreateOriginVolume"
    raw_volume_list: str = "/DescribeOriginVolumes"
    raw_volume_files: str = "/DescribeOriginVolume"
    raw_volume_file_link: str = "/GetOriginVolumeFileLink"
    raw_volume_delete_files: str = "/DeleteOriginVolumeFiles"

    volumes: str = "/byoa/api/v1/explore/volumes"
    volume: str = "/byoa/api/v1/explore/volumes/{volume_id}"
    volume_files: str = "/byoa/api/v1/explore/volumes/{volume_id}/files"
    volume_file: str = "/byoa/api/v1/explore/volumes/{volume_id}/files/{file_id}"
    volume_file_raws: str = "/byoa/api/v1/explore/volumes/{volume_id}/files/{file_id}/raws"
    volume_file_blocks: str = "/byoa/api/v1/explore/volumes/{volume_id}/files/{file_id}/blocks"

    metrics: str = "/metric/observice"


#: The seed-era paths (Feb–May 2025), the default.
SEED_PATHS = MOIPaths()

#: The paths after the May 2025 BYOA rename.
CURRENT_PATHS = evolve(
    SEED_PATHS,
    workflows="/byoa/api/v1/workflow_meta",
    workflow="/byoa/api/v1/workflow_meta/{workflow_id}",
    jobs="/byoa/api/v1/workflow_job",
    job="/byoa/api/v1/workflow_job/{job_id}",
    job_files="/byoa/api/v1/workflow_job/{job_id}/files",
)


def resolve_paths(paths: Literal["seed", "current"] | MOIPaths) -> MOIPaths:
    """The path table ``MOIClient(paths=...)`` names."""
    if isinstance(paths, MOIPaths):
        return paths
    if paths == "seed":
        return SEED_PATHS
    if paths == "current":
        return CURRENT_PATHS
    raise InvalidInputError(f"paths must be 'seed', 'current' or a MOIPaths, got {paths!r}")
