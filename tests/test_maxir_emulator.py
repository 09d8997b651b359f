"""MAXIR against the emulator, over real sockets: paging, filters, sync progression, presigned
downloads, trace ids, errors, and the API key staying where it belongs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from asyncsdk import (
    AuthenticationError,
    DataSource,
    DataSourceStatus,
    DataSourceSyncError,
    InvalidInputError,
    MaxirClient,
    NotFoundError,
    PermissionDeniedError,
    WaitTimeoutError,
)
from asyncsdk.emulator import Emulator, EmulatorConfig
from asyncsdk.emulator._blobs import pattern

FAST_POLL: dict[str, Any] = {"interval": 0.02, "max_interval": 0.05, "max_wait": 10}


@pytest.fixture
def asyncsdk_emulator_config() -> EmulatorConfig:
    """The shipped fixtures' emulator (asyncsdk.testing), for this module."""
    return EmulatorConfig(
        maxir_datasets=2, maxir_datasources_per_dataset=120, maxir_sync_seconds=0.2
    )


@pytest.fixture
def emu(maxir_emulator: Emulator) -> Emulator:
    return maxir_emulator


@pytest.fixture
def mx(maxir_client: MaxirClient) -> MaxirClient:
    return maxir_client


async def first_dataset(mx: MaxirClient) -> str:
    dataset = await mx.datasets.list(page_size=1).first()
    assert dataset is not None
    return dataset.id


def api_calls(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.path.startswith("/v2/team"))


# -- paging -------------------------------------------------------------------------------------


@pytest.mark.parametrize("concurrency", [1, 8])
async def test_paging_5000_data_sources_yields_each_exactly_once(concurrency: int) -> None:
    async with (
        Emulator(maxir_datasets=1, maxir_datasources_per_dataset=5000) as emu,
        MaxirClient(emu.url, **emu.maxir_credentials) as mx,
    ):
        dataset_id = await first_dataset(mx)
        ids = [
            s.id
            async for s in mx.datasources.list(dataset_id, page_size=100, concurrency=concurrency)
        ]
        stored = list(emu.maxir.sources[dataset_id])
    assert len(ids) == 5000
    assert set(ids) == set(stored)
    assert ids == stored[::-1]  # newest first, in order even when pages arrive out of order
    pages = emu.stats.by_route["GET /v2/team/datasets/{dataset_id}/datasources"]
    assert pages == 50  # nothing fetched twice, nothing past the end


async def test_status_filter_returns_exactly_the_sources_in_those_states(
    emu: Emulator, mx: MaxirClient
) -> None:
    dataset_id = await first_dataset(mx)
    everything = await mx.datasources.list(dataset_id, page_size=7).collect()
    wanted = {DataSourceStatus.SYNCHING, DataSourceStatus.INVALID}
    filtered = await mx.datasources.list(
        dataset_id, status=["synching", DataSourceStatus.INVALID], page_size=7
    ).collect()
    assert filtered == [s for s in everything if s.status in wanted]
    assert {s.status for s in filtered} == wanted  # the seed has both
    synched = await mx.datasources.list(dataset_id, status="synched").collect()
    assert len(synched) + len(filtered) == len(everything) == 120
    summary = await mx.datasets.status(dataset_id)
    assert (summary.synched_count, summary.total) == (len(synched), 120)


async def test_an_undocumented_page_size_cap_is_followed_not_silently_skipped() -> None:
    async with (
        Emulator(
            maxir_datasets=1, maxir_datasources_per_dataset=120, maxir_max_page_size=50
        ) as emu,
        MaxirClient(emu.url, **emu.maxir_credentials) as mx,
    ):
        dataset_id = await first_dataset(mx)
        expected = [s.id for s in await mx.datasources.list(dataset_id, page_size=50).collect()]
        before = api_calls(emu)
        # Asked for 100 a page, served 50: the pass goes on in the service's page size.
        got = [s.id for s in await mx.datasources.list(dataset_id, page_size=100).collect()]
        assert got == expected and len(set(got)) == 120
        assert api_calls(emu) - before == 3


# -- validation ---------------------------------------------------------------------------------


async def test_bad_arguments_never_reach_the_emulator(emu: Emulator, mx: MaxirClient) -> None:
    dataset_id = await first_dataset(mx)
    before = api_calls(emu)
    bad_calls = [
        mx.datasources.create(dataset_id, "report.exe", url="https://e.example/r.exe"),
        mx.datasources.create(dataset_id, "report.csv"),
        mx.datasources.create(dataset_id, "r" * 200 + ".csv", url="https://e.example/r.csv"),
        mx.datasources.presign(dataset_id, "ds-x", expires_in=30),
        mx.datasources.get(dataset_id, "ds-x", trace_id="t" * 129),
        mx.datasets.update(dataset_id),
    ]
    for call in bad_calls:
        with pytest.raises(InvalidInputError):
            await call
    with pytest.raises(InvalidInputError):
        mx.datasources.list(dataset_id, page_size=0)
    assert api_calls(emu) == before


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        # user_id is required everywhere (query on GET, JSON body otherwise).
        ("GET", "/datasets", {"user": False}, 400, 300001),
        ("DELETE", "/datasets/{dataset_id}", {"user": False, "json": {}}, 400, 300001),
        ("GET", "/datasets", {"params": {"page_size": "0"}}, 400, 300001),
        ("GET", "/datasets", {"params": {"page_number": "x"}}, 400, 300001),
        ("GET", "/datasets", {"params": {"search": "s" * 129}}, 400, 300001),
        ("GET", "/datasets/{dataset_id}/datasources", {"params": {"status": "done"}}, 400, 300001),
        ("GET", "/datasets", {"headers": {"x-pd-external-trace-id": "t" * 129}}, 400, 300001),
        (
            "POST",
            "/datasets/{dataset_id}/datasources",
            {"json": {"name": "a.csv", "type": "FILE"}},
            400,
            300001,
        ),
        (
            "POST",
            "/datasets/{dataset_id}/datasources",
            {
                "json": {
                    "name": "a.csv",
                    "type": "FILE",
                    "url": "https://e/a.csv",
                    "file_object_key": "k",
                }
            },
            400,
            300001,
        ),
        (
            "POST",
            "/datasets/{dataset_id}/datasources/nope/presign",
            {"json": {"expires_in": 30}},
            400,
            300001,
        ),
        (
            "POST",
            "/datasets/{dataset_id}/datasources",
            {"json": {"name": "a.exe", "type": "FILE", "url": "https://e/a.exe"}},
            200,
            300004,
        ),
        (
            "POST",
            "/datasets/{dataset_id}/datasources/nope/presign",
            {"json": {"expires_in": 60}},
            200,
            300003,
        ),
        ("GET", "/datasets/dset-nope/overview", {}, 200, 300003),
        ("GET", "/datasets", {"user": "tmm-stranger"}, 200, 300002),
        ("GET", "/datasets", {"headers": {"x-pd-api-key": ""}}, 403, 1003),
        ("GET", "/datasets", {"headers": {"x-pd-api-key": "wrong"}}, 403, 1004),
    ],
)
async def test_the_emulator_answers_documented_codes_and_statuses(
    emu: Emulator,
    mx: MaxirClient,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: int,
) -> None:
    dataset_id = await first_dataset(mx)
    creds = emu.maxir_credentials
    user = kwargs.get("user", creds["user_id"])
    params = dict(kwargs.get("params", {}))
    body = dict(kwargs["json"]) if "json" in kwargs else None
    if user:
        if method == "GET":
            params["user_id"] = user
        else:
            body = {**(body or {}), "user_id": user}
    headers = {"x-pd-api-key": creds["api_key"], **kwargs.get("headers", {})}
    url = emu.url + "/v2/team" + path.format(dataset_id=dataset_id)
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, url, params=params, json=body, headers=headers) as response,
    ):
        answer = await response.json()
        assert response.headers["x-pd-trace-id"]
    assert (response.status, answer["code"]) == (status, code)
    assert isinstance(answer["msg"], str) and answer["msg"]
    assert "data" not in answer


async def test_upload_rejects_what_the_service_rejects(emu: Emulator) -> None:
    creds = emu.maxir_credentials

    async def upload(name: str, content: bytes, user: str | None) -> tuple[int, int]:
        form = aiohttp.FormData()
        form.add_field("file", content, filename=name)
        if user is not None:
            form.add_field("user_id", user)
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                f"{emu.url}/v2/team/file/upload-datasource",
                data=form,
                headers={"x-pd-api-key": creds["api_key"]},
            ) as response,
        ):
            return response.status, (await response.json())["code"]

    assert await upload("a.csv", b"a,b", None) == (400, 300001)
    assert await upload("a.exe", b"a,b", creds["user_id"]) == (200, 300004)
    assert await upload("a.csv", b"", creds["user_id"]) == (200, 300005)
    assert await upload("a.csv", b"a,b", "tmm-stranger") == (200, 300002)
    assert await upload("a.csv", b"a,b", creds["user_id"]) == (200, 0)


# -- trace ids ----------------------------------------------------------------------------------


async def test_trace_ids_round_trip(emu: Emulator, mx: MaxirClient) -> None:
    dataset_id = await first_dataset(mx)
    await mx.datasets.status(dataset_id, trace_id="order-4711")
    served = emu.maxir.traces[-1]
    assert (served.external_trace_id, served.code) == ("order-4711", 0)
    assert served.path == f"/v2/team/datasets/{dataset_id}/status"

    with pytest.raises(NotFoundError) as info:
        await mx.datasources.get(dataset_id, "ds-missing", trace_id="order-4712")
    error = info.value
    served = emu.maxir.traces[-1]
    # The error names the server's trace id for the request that carried ours.
    assert error.request_id == served.trace_id
    assert (served.external_trace_id, served.code) == ("order-4712", 300003)
    assert (error.status, error.code) == (200, 300003)
    assert served.trace_id in str(error)

    await mx.datasets.status(dataset_id)
    assert emu.maxir.traces[-1].external_trace_id is None


# -- sync progression ---------------------------------------------------------------------------


async def test_a_new_source_syncs_and_the_dataset_settles(emu: Emulator, mx: MaxirClient) -> None:
    dataset_id = (await mx.datasets.create("fresh")).id
    source = await mx.datasources.create(dataset_id, "q3.csv", url="https://files.example/q3.csv")
    assert source.status is DataSourceStatus.SYNCHING  # as the documented example
    assert source.size is None  # a URL's size is known once fetched
    assert (await mx.datasets.status(dataset_id)).synching_count == 1
    done = await mx.datasources.wait(dataset_id, source.id, **FAST_POLL)
    assert done.status is DataSourceStatus.SYNCHED
    assert isinstance(done.size, int) and done.size > 0
    settled = await mx.datasets.wait(dataset_id, **FAST_POLL)
    assert (settled.synched_count, settled.ready) == (1, True)


async def test_a_source_ending_invalid_raises_sync_error() -> None:
    async with (
        Emulator(
            maxir_datasets=1,
            maxir_datasources_per_dataset=0,
            maxir_sync_seconds=0.1,
            maxir_invalid_share=1.0,
        ) as emu,
        MaxirClient(emu.url, **emu.maxir_credentials) as mx,
    ):
        dataset_id = await first_dataset(mx)
        source = await mx.datasources.create(dataset_id, "scan.pdf", url="https://e.example/s.pdf")
        with pytest.raises(DataSourceSyncError) as info:
            await mx.datasources.wait(dataset_id, source.id, **FAST_POLL)
        assert isinstance(info.value.datasource, DataSource)
        assert info.value.datasource.status is DataSourceStatus.INVALID
        assert source.id in str(info.value)
        settled = await mx.datasets.wait(dataset_id, **FAST_POLL)
        assert (settled.invalid_count, settled.ready) == (1, False)


async def test_invalid_as_awaiting_processing_needs_a_grace_period() -> None:
    # The enum text's reading: a queued source reports "invalid" before "synching".
    async with (
        Emulator(
            maxir_datasets=1, maxir_datasources_per_dataset=0, maxir_waiting_seconds=60
        ) as emu,
        MaxirClient(emu.url, **emu.maxir_credentials) as mx,
    ):
        dataset_id = await first_dataset(mx)
        source = await mx.datasources.create(dataset_id, "a.md", url="https://e.example/a.md")
        assert source.status is DataSourceStatus.INVALID
        with pytest.raises(DataSourceSyncError):  # the reference's reading: a failure
            await mx.datasources.wait(dataset_id, source.id, **FAST_POLL)
        with pytest.raises(WaitTimeoutError) as info:  # with grace: still waiting
            await mx.datasources.wait(
                dataset_id, source.id, invalid_grace=30, interval=0.02, max_wait=0.1
            )
        assert info.value.last.status is DataSourceStatus.INVALID  # type: ignore[attr-defined]

    async with (
        Emulator(
            maxir_datasets=1,
            maxir_datasources_per_dataset=0,
            maxir_waiting_seconds=0.1,
            maxir_sync_seconds=0.1,
        ) as emu,
        MaxirClient(emu.url, **emu.maxir_credentials) as mx,
    ):
        dataset_id = await first_dataset(mx)
        source = await mx.datasources.create(dataset_id, "a.md", url="https://e.example/a.md")
        done = await mx.datasources.wait(dataset_id, source.id, invalid_grace=30, **FAST_POLL)
        assert done.status is DataSourceStatus.SYNCHED


# -- presigned downloads, uploads ---------------------------------------------------------------


async def test_presigned_download_never_sends_the_api_key(
    emu: Emulator, mx: MaxirClient, tmp_path: Path
) -> None:
    dataset_id = await first_dataset(mx)
    source = await mx.datasources.list(dataset_id, status="synched").first()
    assert source is not None and source.size
    presigned = await mx.datasources.presign(dataset_id, source.id, expires_in=60)
    assert presigned.url.startswith(emu.blob_origin + "/")
    assert not presigned.url.startswith(emu.url + "/")  # another origin than the API

    saved = await mx.datasources.download(dataset_id, source.id).save(tmp_path / source.name)
    blob_key = emu.maxir.sources[dataset_id][source.id]["blob_key"]
    expected = (pattern(blob_key) * (source.size // len(pattern(blob_key)) + 1))[: source.size]
    assert saved == source.size
    assert (tmp_path / source.name).read_bytes() == expected

    assert len(emu.state.blobs.requests) == 1
    api_key = emu.maxir_credentials["api_key"]
    for headers in emu.state.blobs.requests:
        assert "x-pd-api-key" not in headers
        assert api_key not in " ".join(headers.values())


async def test_upload_create_and_download_return_the_same_bytes(
    emu: Emulator, mx: MaxirClient, tmp_path: Path
) -> None:
    content = b"region,revenue\n" + b"north,1\n" * 10_000
    path = tmp_path / "q3.csv"
    path.write_bytes(content)
    key = await mx.datasources.upload_file(path, trace_id="upload-1")
    assert key.startswith(f"temp/user/{mx.user_id}/") and key.endswith(".csv")
    source = await mx.datasources.create_without_dataset("q3.csv", file_object_key=key)
    assert source.size == len(content) and source.dataset_id
    overview = await mx.datasets.get(source.dataset_id)
    assert overview.id == source.dataset_id
    downloaded = b"".join([c async for c in mx.datasources.download(source.dataset_id, source.id)])
    assert downloaded == content
    assert all("x-pd-api-key" not in headers for headers in emu.state.blobs.requests)


# -- datasets, users, errors --------------------------------------------------------------------


async def test_dataset_life_cycle(emu: Emulator, mx: MaxirClient) -> None:
    dataset_id = (await mx.datasets.create("Quarterly", description="CRM exports")).id
    found = await mx.datasets.list(search="crm").collect()
    assert [d.id for d in found] == [dataset_id]
    await mx.datasets.update(dataset_id, name="Quarterly v2")
    assert (await mx.datasets.get(dataset_id)).name == "Quarterly v2"
    source = await mx.datasources.create(dataset_id, "a.txt", url="https://e.example/a.txt")
    await mx.datasources.delete(dataset_id, source.id)
    with pytest.raises(NotFoundError):
        await mx.datasources.get(dataset_id, source.id)
    await mx.datasets.delete(dataset_id)
    with pytest.raises(NotFoundError):
        await mx.datasets.get(dataset_id)
    assert dataset_id not in emu.maxir.datasets


async def test_only_a_datasets_creator_may_change_it(emu: Emulator, mx: MaxirClient) -> None:
    other = emu.config.maxir_other_user_ids[0]
    theirs = (await mx.datasets.create("theirs", user_id=other)).id
    with pytest.raises(PermissionDeniedError) as info:
        await mx.datasets.delete(theirs)
    assert (info.value.status, info.value.code) == (200, 300002)
    with pytest.raises(PermissionDeniedError):
        await mx.datasources.create(theirs, "a.csv", url="https://e.example/a.csv")
    as_other = mx.with_options(user_id=other)
    await as_other.datasources.create(theirs, "a.csv", url="https://e.example/a.csv")
    await as_other.datasets.delete(theirs)
    assert theirs not in emu.maxir.datasets


async def test_a_wrong_api_key_is_an_authentication_error_with_a_trace_id(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncsdk")
    wrong = "pd-wrong-key-5f3a9c"
    async with MaxirClient(emu.url, api_key=wrong, user_id="tmm-x") as mx:
        with pytest.raises(AuthenticationError) as info:
            await mx.datasets.list().collect()
        assert mx.stats.attempts == 1  # a rejected key is not retried
    error = info.value
    assert (error.status, error.code, error.message) == (403, 1004, "Bad credentials")
    assert error.request_id == emu.maxir.traces[-1].trace_id
    for text in (str(error), repr(error), repr(mx), caplog.text):
        assert wrong not in text


async def test_the_api_key_appears_in_no_repr_log_or_error(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = emu.maxir_credentials["api_key"]
    async with MaxirClient(emu.url, **emu.maxir_credentials) as mx:
        dataset_id = await first_dataset(mx)
        texts = [repr(mx), repr(mx.datasources), repr(mx.with_options(timeout=3))]
        texts.append(
            repr(
                await mx.datasources.presign(
                    dataset_id,
                    (await mx.datasources.list(dataset_id).first()).id,  # type: ignore[union-attr]
                )
            )
        )
        for failing in (
            mx.datasets.get("dset-missing"),
            mx.datasets.delete(dataset_id, user_id="tmm-stranger"),
        ):
            with pytest.raises(Exception) as info:
                await failing
            texts += [str(info.value), repr(info.value)]
    texts.append(caplog.text)
    texts += [repr(record) for record in emu.requests]
    assert "GET /v2/team/datasets" in caplog.text  # the calls were logged
    for text in texts:
        assert key not in text


# -- find by name -------------------------------------------------------------------------------


async def test_datasets_find_by_exact_name_through_the_search_filter(
    emu: Emulator, mx: MaxirClient
) -> None:
    wanted = await mx.datasets.create(name="alpha")
    await mx.datasets.create(name="alpha report")  # contains the name: searched, not matched
    await mx.datasets.create(name="beta", description="about alpha")
    listed = mx.datasets.list
    asked: list[object] = []

    def spy(**kwargs: Any) -> Any:
        asked.append(kwargs.get("search"))
        return listed(**kwargs)

    before = api_calls(emu)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mx.datasets, "list", spy)
        found = await mx.datasets.find("alpha")
    assert found is not None and found.id == wanted.id and found.name == "alpha"
    assert asked == ["alpha"]  # the service's filter, not a scan of every dataset
    assert api_calls(emu) - before == 1
    assert await mx.datasets.find("alph") is None
    with pytest.raises(InvalidInputError, match="name"):
        await mx.datasets.find("")


async def test_datasources_find_scans_the_dataset_until_the_name(
    emu: Emulator, mx: MaxirClient
) -> None:
    dataset_id = await first_dataset(mx)
    sources = await mx.datasources.list(dataset_id).collect()
    assert len(sources) == 120
    last = sources[-1]
    before = api_calls(emu)
    found = await mx.datasources.find(dataset_id, last.name)
    assert found is not None and found.id == last.id
    assert api_calls(emu) - before == 2  # the listing's two pages of 100
    assert await mx.datasources.find(dataset_id, "no-such-file.csv") is None
    with pytest.raises(InvalidInputError, match="name"):
        await mx.datasources.find(dataset_id, "")
