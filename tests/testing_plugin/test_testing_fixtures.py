"""``asyncsdk.testing``: the fixtures, their configuration (fixture override, markers), the
README's way of enabling them (in a separate pytest run, strict asyncio mode), and the README's
sample test being the very file that runs here."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from asyncsdk import MaxirClient, MOIClient
from asyncsdk.emulator import Emulator, EmulatorConfig

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = Path(__file__).with_name("test_readme_sample.py")

# Module-wide, under the nearer markers below: markers stack, the nearest wins per field.
pytestmark = pytest.mark.asyncsdk_emulator(raw_volumes=3, connectors=2)


async def test_one_emulator_serves_both_services(
    moi_emulator: Emulator, maxir_emulator: Emulator
) -> None:
    assert moi_emulator is maxir_emulator
    # The default configuration: quick state changes, the emulator's seeded data.
    assert moi_emulator.config.task_file_seconds == 0.05
    assert moi_emulator.config.maxir_sync_seconds == 0.1


async def test_the_clients_talk_to_the_emulator(
    moi_client: MOIClient, maxir_client: MaxirClient, moi_emulator: Emulator
) -> None:
    assert moi_client.stats.logins == moi_emulator.stats.logins == 1
    assert len(await moi_client.connectors.list().collect()) == 2  # the module's marker
    assert len(await moi_client.volumes.raw.list().collect()) == 3
    dataset = await maxir_client.datasets.list().first()
    assert dataset is not None
    assert any(r.path.startswith("/v2/team/datasets") for r in moi_emulator.requests)


@pytest.mark.asyncsdk_emulator(connectors=4)
async def test_the_nearest_marker_wins(moi_client: MOIClient, moi_emulator: Emulator) -> None:
    assert len(await moi_client.connectors.list().collect()) == 4
    assert moi_emulator.config.raw_volumes == 3  # still the module's


async def test_markers_leave_the_config_fixture_alone(
    asyncsdk_emulator_config: EmulatorConfig, moi_emulator: Emulator
) -> None:
    assert moi_emulator.config is not asyncsdk_emulator_config
    assert asyncsdk_emulator_config.connectors == EmulatorConfig().connectors
    assert moi_emulator.config.connectors == 2


class TestOverridingTheConfigFixture:
    @pytest.fixture
    def asyncsdk_emulator_config(self) -> EmulatorConfig:
        return EmulatorConfig(connectors=5, maxir_datasets=1, maxir_datasources_per_dataset=3)

    @pytest.mark.asyncsdk_emulator(connectors=6)
    async def test_markers_apply_on_top_of_it(
        self, moi_client: MOIClient, maxir_client: MaxirClient
    ) -> None:
        assert len(await moi_client.connectors.list().collect()) == 6
        [dataset] = await maxir_client.datasets.list().collect()
        assert len(await maxir_client.datasources.list(dataset.id).collect()) == 3


def test_the_readme_shows_the_sample_test_verbatim() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- sample: (\S+) -->\n```\w+\n(.*?)```", readme, re.DOTALL)
    files = {name: text for name, text in blocks}
    assert files, "the README's sample test is marked with <!-- sample: ... -->"
    assert files["tests/test_ingest.py"] == SAMPLE.read_text(encoding="utf-8")
    assert files["tests/conftest.py"] == 'pytest_plugins = ["asyncsdk.testing"]\n'


def test_the_readme_way_in_strict_mode(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project laid out as the README says: the plugin named in conftest.py, the sample
    test as written, pytest-asyncio in strict mode, warnings as errors."""
    pytester.makeini(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
    )
    pytester.makeconftest('pytest_plugins = ["asyncsdk.testing"]\n')
    pytester.makepyfile(test_ingest=SAMPLE.read_text(encoding="utf-8"))
    pytester.makepyfile(
        test_mistakes="""
import pytest

pytestmark = pytest.mark.asyncio

@pytest.mark.asyncsdk_emulator(acess_token_ttl=2)
async def test_misspelt(moi_emulator):
    pass

@pytest.mark.asyncsdk_emulator(2)
async def test_positional(moi_emulator):
    pass
"""
    )
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*TypeError: @pytest.mark.asyncsdk_emulator: unknown EmulatorConfig field(s) "
            "acess_token_ttl*",
            "*TypeError: @pytest.mark.asyncsdk_emulator takes keyword arguments only*",
        ],
        consecutive=False,
    )


def test_the_readme_samples_make_a_new_project_that_passes_under_w_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file the README shows for "Testing your code", and nothing else, in a fresh
    directory: ``pytest -W error`` passes (no INTERNALERROR from pytest-asyncio's warnings)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    files = re.findall(r"<!-- sample: (\S+) -->\n```\w+\n(.*?)```", readme, re.DOTALL)
    assert {name for name, _ in files} >= {"pyproject.toml", "tests/conftest.py"}
    for name, text in files:
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = pytester.runpytest_subprocess("-W", "error", "-p", "no:cacheprovider")
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=3)
