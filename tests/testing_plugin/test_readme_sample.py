import pytest

from asyncsdk import DataSourceStatus, FileType, MaxirClient, MOIClient
from asyncsdk.emulator import Emulator, Fault

pytestmark = pytest.mark.asyncio  # not needed with asyncio_mode = "auto"


async def count_pdfs(moi: MOIClient, connector_id: str) -> int:
    """Your code: the function under test."""
    return len(await moi.connectors.files(connector_id, file_types=[FileType.PDF]).collect())


async def test_counts_the_pdfs(moi_client: MOIClient) -> None:
    connector = await moi_client.connectors.list().first()
    assert connector is not None
    everything = await moi_client.connectors.files(connector.id).collect()
    expected = sum(1 for f in everything if f.type is FileType.PDF)
    assert await count_pdfs(moi_client, connector.id) == expected > 0


@pytest.mark.asyncsdk_emulator(files_per_connector=2000, faults=[Fault("503", rate=0.3)])
async def test_counts_the_pdfs_of_a_flaky_service(
    moi_client: MOIClient, moi_emulator: Emulator
) -> None:
    connector = await moi_client.connectors.list().first()
    assert connector is not None
    assert await count_pdfs(moi_client, connector.id) > 0
    assert moi_emulator.faults_injected["503"] > 0  # the SDK retried them
    assert moi_client.stats.retries >= moi_emulator.faults_injected["503"]


async def test_publishes_a_report(maxir_client: MaxirClient) -> None:
    dataset_id = (await maxir_client.datasets.create("reports")).id
    source = await maxir_client.datasources.create(
        dataset_id, "q3.csv", url="https://files.example.com/q3.csv"
    )
    source = await maxir_client.datasources.wait(dataset_id, source.id, interval=0.05, max_wait=10)
    assert source.status is DataSourceStatus.SYNCHED
