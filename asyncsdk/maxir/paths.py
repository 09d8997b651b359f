"""Every MAXIR path, in one table.

Paths are relative to the client's ``base_url``: everything before ``/v2/team``
(``https://ai.data.cloud/api`` for Powerdrill, ``https://<your-domain>/app/api`` for a MAXIR
instance). Templates use ``str.format`` fields; ids are put in by the resources, each as exactly one
path segment.
"""

from __future__ import annotations

from attrs import define

__all__ = ["V2_PATHS", "MaxirPaths"]


@define(frozen=True)
class MaxirPaths:
    """The v2 team API's paths; a rename is a one-line change here and nowhere else."""

    datasets: str = "/v2/team/datasets"
    dataset: str = "/v2/team/datasets/{dataset_id}"
    dataset_overview: str = "/v2/team/datasets/{dataset_id}/overview"
    dataset_status: str = "/v2/team/datasets/{dataset_id}/status"

    datasources: str = "/v2/team/datasets/{dataset_id}/datasources"
    datasource: str = "/v2/team/datasets/{dataset_id}/datasources/{datasource_id}"
    datasource_presign: str = "/v2/team/datasets/{dataset_id}/datasources/{datasource_id}/presign"
    #: Create a data source and let the service make a dataset for it (#12).
    datasources_standalone: str = "/v2/team/datasources"

    file_upload: str = "/v2/team/file/upload-datasource"


#: The v2 team API, the only generation so far (named like MOI's ``SEED_PATHS``).
V2_PATHS = MaxirPaths()
