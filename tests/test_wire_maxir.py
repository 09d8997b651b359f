"""The exact wire shape of every MAXIR call, and how answers become data or errors (aioresponses).

Pinned per endpoint: method, path, query (``user_id`` on GETs), JSON body (``user_id`` in it on
POST and DELETE), and the headers ``x-pd-api-key`` and ``x-pd-external-trace-id``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import FormData
from yarl import URL

from asyncsdk import (
    APIError,
    AuthenticationError,
    BadRequestError,
    Dataset,
    DataSource,
    DataSourceStatus,
    DecodeError,
    InvalidInputError,
    MaxirClient,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)

from ._mock_http import MockHTTP
from .wire import sent

BASE = "http://maxir.test/api"
API = f"{BASE}/v2/team"
KEY = "pd-wire-secret-key-0123456789"
USER = "tmm-wire-user-1"
OTHER = "tmm-wire-user-2"
TRACE = {"x-pd-trace-id": "srv-trace-1"}
SOURCE = {
    "id": "ds-1",
    "dataset_id": "dset-1",
    "name": "q3.csv",
    "type": "FILE",
    "status": "synching",
    "size": None,
}
NO_RETRY = RetryPolicy.disabled()
FAST_RETRY = RetryPolicy(backoff_base=0.0)  # retries without waiting


def ok(data: Any = None) -> dict[str, Any]:
    return {"code": 0, "data": data}


def client(**options: Any) -> MaxirClient:
    return MaxirClient(BASE + "/", api_key=KEY, user_id=USER, **options)


def only(mock: Any, method: str, url: str) -> dict[str, Any]:
    [call] = sent(mock, method, url)
    return call


def assert_auth_headers(call: dict[str, Any], trace_id: str | None = None) -> None:
    headers = call["headers"]
    assert headers["x-pd-api-key"] == KEY
    if trace_id is None:
        assert "x-pd-external-trace-id" not in headers
    else:
        assert headers["x-pd-external-trace-id"] == trace_id


# -- datasets -----------------------------------------------------------------------------------


async def test_dataset_create_sends_name_description_and_user_id_in_the_body() -> None:
    with MockHTTP() as mock:
        mock.post(f"{API}/datasets", payload=ok({"id": "dset-new"}), headers=TRACE)
        async with client() as mx:
            assert await mx.datasets.create("Q3", description="sales", trace_id="t-1") == Dataset(
                "dset-new", "Q3", "sales"
            )
        call = only(mock, "POST", f"{API}/datasets")
    assert call["json"] == {"name": "Q3", "description": "sales", "user_id": USER}
    assert call["params"] == []
    assert call["headers"]["Content-Type"] == "application/json"
    assert_auth_headers(call, "t-1")


async def test_dataset_list_pages_by_page_number_with_search_and_trace_on_every_page() -> None:
    page1 = f"{API}/datasets?page_number=1&page_size=2&search=sal&user_id={USER}"
    page2 = f"{API}/datasets?page_number=2&page_size=2&search=sal&user_id={USER}"
    records = [{"id": f"dset-{n}", "name": f"sales {n}", "description": None} for n in range(3)]
    with MockHTTP() as mock:
        mock.get(
            page1,
            payload=ok(
                {"total_items": 3, "page_size": 2, "page_number": 1, "records": records[:2]}
            ),
        )
        mock.get(
            page2,
            payload=ok(
                {"total_items": 3, "page_size": 2, "page_number": 2, "records": records[2:]}
            ),
        )
        async with client() as mx:
            found = await mx.datasets.list(search="sal", page_size=2, trace_id="job-7").collect()
        first, second = only(mock, "GET", page1), only(mock, "GET", page2)
    assert [d.id for d in found] == ["dset-0", "dset-1", "dset-2"]
    assert found[0].description is None
    assert first["params"] == [
        ("search", "sal"),
        ("user_id", USER),
        ("page_number", "1"),
        ("page_size", "2"),
    ]
    assert first["json"] is None
    assert_auth_headers(first, "job-7")
    assert_auth_headers(second, "job-7")


async def test_dataset_get_reads_the_overview_and_tolerates_documented_quirks() -> None:
    url = f"{API}/datasets/dset-1/overview?user_id={USER}"
    overview = {
        "id": "dset-1",
        "name": "Q3",
        "description": "d",
        "summary": "s",
        "exploration_questions": ["why?"],
        "keywords": "sales",
        "extra": 1,
    }
    with MockHTTP() as mock:
        # The overview page documents a nested code ({"code": {"code": 0}}): tolerated.
        mock.get(url, payload={"code": {"code": 0}, "data": overview})
        async with client() as mx:
            got = await mx.datasets.get("dset-1")
        call = only(mock, "GET", url)
    assert (got.id, got.summary, got.exploration_questions) == ("dset-1", "s", ("why?",))
    assert got.keywords == ("sales",)  # typed "string" in the tables, a list in examples
    assert call["params"] == [("user_id", USER)]
    assert_auth_headers(call)


async def test_dataset_status_summary() -> None:
    url = f"{API}/datasets/dset-1/status?user_id={USER}"
    with MockHTTP() as mock:
        mock.get(url, payload=ok({"synched_count": 3, "invalid_count": 1, "synching_count": 0}))
        async with client() as mx:
            status = await mx.datasets.status("dset-1", trace_id="s-1")
        assert_auth_headers(only(mock, "GET", url), "s-1")
    assert (status.total, status.settled, status.ready) == (4, True, False)


async def test_dataset_update_posts_to_the_resource_path() -> None:
    url = f"{API}/datasets/dset-1"
    with MockHTTP() as mock:
        mock.post(url, payload=ok({}))
        async with client() as mx:
            await mx.datasets.update("dset-1", description="new")
        call = only(mock, "POST", url)
    assert call["json"] == {"description": "new", "user_id": USER}


async def test_dataset_delete_carries_user_id_in_a_json_body() -> None:
    url = f"{API}/datasets/dset-1"
    with MockHTTP() as mock:
        mock.delete(url, payload=ok(None))
        async with client() as mx:
            await mx.datasets.delete("dset-1", user_id=OTHER, trace_id="d-1")
        call = only(mock, "DELETE", url)
    assert call["json"] == {"user_id": OTHER}
    assert call["params"] == []
    assert call["headers"]["Content-Type"] == "application/json"
    assert_auth_headers(call, "d-1")


# -- data sources -------------------------------------------------------------------------------


async def test_datasource_create_from_a_url() -> None:
    url = f"{API}/datasets/dset-1/datasources"
    with MockHTTP() as mock:
        mock.post(url, payload=ok(SOURCE))
        async with client() as mx:
            source = await mx.datasources.create(
                "dset-1", "q3.csv", url="https://files.example/q3.csv", trace_id="c-1"
            )
        call = only(mock, "POST", url)
    assert source == DataSource(
        id="ds-1", dataset_id="dset-1", name="q3.csv", status=DataSourceStatus.SYNCHING
    )
    assert call["json"] == {
        "name": "q3.csv",
        "type": "FILE",
        "url": "https://files.example/q3.csv",
        "user_id": USER,
    }
    assert_auth_headers(call, "c-1")


async def test_datasource_create_from_an_upload_key_for_another_user() -> None:
    url = f"{API}/datasets/dset-1/datasources"
    with MockHTTP() as mock:
        mock.post(url, payload=ok({**SOURCE, "size": 42, "status": "pending"}))
        async with client() as mx:
            source = await mx.datasources.create(
                "dset-1", "Q3.PDF", file_object_key="temp/user/u/k.pdf", user_id=OTHER
            )
        call = only(mock, "POST", url)
    assert call["json"] == {
        "name": "Q3.PDF",
        "type": "FILE",
        "file_object_key": "temp/user/u/k.pdf",
        "user_id": OTHER,
    }
    # v1's "pending" is kept, not an error; size is an int when sent.
    assert source.status == "pending" and source.status is not None
    assert source.status.name == "UNKNOWN_pending"
    assert source.size == 42


async def test_datasource_create_without_dataset_returns_the_new_dataset_id() -> None:
    url = f"{API}/datasources"
    with MockHTTP() as mock:
        mock.post(url, payload=ok({**SOURCE, "dataset_id": "dset-auto"}))
        async with client() as mx:
            source = await mx.datasources.create_without_dataset(
                "q3.csv", url="https://files.example/q3.csv"
            )
        call = only(mock, "POST", url)
    assert source.dataset_id == "dset-auto"
    assert call["json"] == {
        "name": "q3.csv",
        "type": "FILE",
        "url": "https://files.example/q3.csv",
        "user_id": USER,
    }


async def test_datasource_list_sends_the_status_filter_comma_separated() -> None:
    base = f"{API}/datasets/dset-1/datasources"
    page1 = f"{base}?page_number=1&page_size=2&status=synching,invalid&user_id={USER}"
    page2 = f"{base}?page_number=2&page_size=2&status=synching,invalid&user_id={USER}"
    records = [{**SOURCE, "id": f"ds-{n}"} for n in range(4)]
    with MockHTTP() as mock:
        mock.get(
            page1,
            payload=ok(
                {"total_items": 4, "page_size": 2, "page_number": 1, "records": records[:2]}
            ),
        )
        mock.get(
            page2,
            payload=ok(
                {"total_items": 4, "page_size": 2, "page_number": 2, "records": records[2:]}
            ),
        )
        async with client() as mx:
            listing = mx.datasources.list(
                "dset-1",
                status=["synching", DataSourceStatus.INVALID],
                page_size=2,
                trace_id="l-1",
            )
            found = await listing.collect()
        first = only(mock, "GET", page1)
        assert_auth_headers(only(mock, "GET", page2), "l-1")
    assert [s.id for s in found] == ["ds-0", "ds-1", "ds-2", "ds-3"]
    assert first["params"] == [
        ("status", "synching,invalid"),
        ("user_id", USER),
        ("page_number", "1"),
        ("page_size", "2"),
    ]
    assert_auth_headers(first, "l-1")


async def test_datasource_list_follows_a_page_size_the_service_caps() -> None:
    base = f"{API}/datasets/dset-1/datasources"
    records = [{**SOURCE, "id": f"ds-{n}"} for n in range(100)]
    with MockHTTP() as mock:
        # Asked for 100, served 50 of a total of 100: the pages are numbered in the service's
        # size, so page 2 holds records 50-99 (as for every numbered listing).
        for number in (1, 2):
            mock.get(
                f"{base}?page_number={number}&page_size=100&user_id={USER}",
                payload=ok(
                    {
                        "total_items": 100,
                        "page_size": 50,
                        "page_number": number,
                        "records": records[(number - 1) * 50 : number * 50],
                    }
                ),
            )
        async with client() as mx:
            got = await mx.datasources.list("dset-1").collect()
    assert [source.id for source in got] == [record["id"] for record in records]


@pytest.mark.parametrize("total", ["100", 1.5, -1, True, {"n": 1}])
async def test_datasource_list_refuses_a_total_of_the_wrong_type(total: object) -> None:
    url = f"{API}/datasets/dset-1/datasources?page_number=1&page_size=100&user_id={USER}"
    with MockHTTP() as mock:
        mock.get(
            url,
            payload=ok(
                {"total_items": total, "page_size": 100, "page_number": 1, "records": [SOURCE]}
            ),
        )
        async with client() as mx:
            with pytest.raises(PaginationError, match="total must be a non-negative integer"):
                await mx.datasources.list("dset-1").collect()


async def test_datasource_get_and_delete() -> None:
    one = f"{API}/datasets/dset-1/datasources/ds-1"
    with MockHTTP() as mock:
        mock.get(f"{one}?user_id={USER}", payload=ok({**SOURCE, "status": "synched"}))
        mock.delete(one, payload=ok({}))
        async with client() as mx:
            source = await mx.datasources.get("dset-1", "ds-1", trace_id="g-1")
            await mx.datasources.delete("dset-1", "ds-1", trace_id="x-1")
        get = only(mock, "GET", f"{one}?user_id={USER}")
        delete = only(mock, "DELETE", one)
    assert source.status is DataSourceStatus.SYNCHED
    assert get["params"] == [("user_id", USER)] and get["json"] is None
    assert_auth_headers(get, "g-1")
    assert delete["json"] == {"user_id": USER} and delete["params"] == []
    assert_auth_headers(delete, "x-1")


async def test_presign_sends_expires_in_and_hides_the_signature_in_its_repr() -> None:
    url = f"{API}/datasets/dset-1/datasources/ds-1/presign"
    link = "https://bucket.s3.example/q3.csv?X-Amz-Signature=abcdef0123&X-Amz-Expires=120"
    with MockHTTP() as mock:
        mock.post(
            url, payload=ok({"presigned_url": link, "expires_at": "2024-11-13T14:15:22.123Z"})
        )
        async with client() as mx:
            presigned = await mx.datasources.presign("dset-1", "ds-1", expires_in=120)
        call = only(mock, "POST", url)
    assert call["json"] == {"expires_in": 120, "user_id": USER}
    assert_auth_headers(call)
    assert presigned.url == link
    assert presigned.expires_at == datetime(2024, 11, 13, 14, 15, 22, 123000, UTC)
    assert "abcdef0123" not in repr(presigned)
    assert "bucket.s3.example/q3.csv" in repr(presigned)


async def test_upload_sends_a_multipart_form_with_file_and_user_id() -> None:
    url = f"{API}/file/upload-datasource"
    with MockHTTP() as mock:
        mock.post(url, payload=ok({"file_object_key": "temp/user/u/1.csv"}), headers=TRACE)
        async with client() as mx:
            key = await mx.datasources.upload_file(b"a,b\n1,2\n", filename="q3.csv", trace_id="u-1")
        [call] = mock.requests[("POST", URL(url))]
    assert key == "temp/user/u/1.csv"
    form = call.kwargs["data"]
    assert isinstance(form, FormData)
    fields = {
        options["name"]: (options.get("filename"), value)
        for options, _headers, value in form._fields
    }
    assert fields == {"file": ("q3.csv", b"a,b\n1,2\n"), "user_id": (None, USER)}
    headers = call.kwargs["headers"]
    assert headers["x-pd-api-key"] == KEY
    assert headers["x-pd-external-trace-id"] == "u-1"
    assert "Content-Type" not in headers  # the form sets its own multipart boundary


# -- base URL, ids, client settings -------------------------------------------------------------


@pytest.mark.parametrize("base", [BASE, BASE + "/", BASE + "/v2/team", BASE + "/v2/team/"])
async def test_base_url_is_everything_before_v2_team(base: str) -> None:
    url = f"{API}/datasets/dset-1/status?user_id={USER}"
    with MockHTTP() as mock:
        mock.get(url, payload=ok({"synched_count": 0, "invalid_count": 0, "synching_count": 0}))
        async with MaxirClient(base, api_key=KEY, user_id=USER) as mx:
            await mx.datasets.status("dset-1")
        assert len(sent(mock, "GET", url)) == 1


async def test_ids_are_quoted_into_the_path() -> None:
    url = f"{API}/datasets/a%2Fb%3Fc/datasources/ds%201?user_id={USER}"
    with MockHTTP() as mock:
        mock.get(url, payload=ok(SOURCE))
        async with client() as mx:
            await mx.datasources.get("a/b?c", "ds 1")
        assert len(sent(mock, "GET", url)) == 1


async def test_with_options_acts_for_another_user_on_the_same_connections() -> None:
    url = f"{API}/datasets/dset-1/status?user_id={OTHER}"
    with MockHTTP() as mock:
        mock.get(url, payload=ok({}))
        async with client() as mx:
            other = mx.with_options(user_id=OTHER, timeout=5)
            await other.datasets.status("dset-1")
            assert other.user_id == OTHER and mx.user_id == USER
            assert other.stats.calls == mx.stats.calls == 1
        assert len(sent(mock, "GET", url)) == 1


def test_from_env_reads_asyncsdk_maxir_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASYNCSDK_MAXIR_BASE_URL", BASE)
    monkeypatch.setenv("ASYNCSDK_MAXIR_API_KEY", KEY)
    monkeypatch.delenv("ASYNCSDK_MAXIR_USER_ID", raising=False)
    mx = MaxirClient.from_env()
    assert mx.user_id is None
    assert MaxirClient.from_env(user_id=OTHER).user_id == OTHER
    monkeypatch.delenv("ASYNCSDK_MAXIR_API_KEY")
    with pytest.raises(InvalidInputError, match="ASYNCSDK_MAXIR_API_KEY"):
        MaxirClient.from_env()


def test_repr_never_shows_the_api_key() -> None:
    mx = client()
    assert repr(mx) == f"MaxirClient(base_url={BASE!r}, user_id={USER!r})"
    assert KEY not in repr(mx._session.auth)
    assert KEY not in repr(mx.__dict__)


# -- errors -------------------------------------------------------------------------------------

ERRORS: list[tuple[int, Any, type[APIError], int | None, str]] = [
    # Business errors arrive with HTTP 200 and a non-zero code.
    (
        200,
        {"code": 300003, "msg": "datasource not found"},
        NotFoundError,
        300003,
        "datasource not found",
    ),
    (
        200,
        {"code": 300002, "msg": "No permissions"},
        PermissionDeniedError,
        300002,
        "No permissions",
    ),
    (
        200,
        {"code": 300004, "message": "Invalid file extension"},
        BadRequestError,
        300004,
        "Invalid file extension",
    ),  # ``message`` when there is no ``msg``
    (200, {"code": 300005, "msg": "Empty file"}, BadRequestError, 300005, "Empty file"),
    (
        400,
        {"code": 300001, "msg": "Invalid parameters user_id"},
        BadRequestError,
        300001,
        "Invalid parameters user_id",
    ),
    (
        200,
        {"code": 300006, "msg": "Insufficient storage space"},
        APIError,
        300006,
        "Insufficient storage space",
    ),
    (
        400,
        {"code": 210021, "msg": "Job quota exceeded"},
        BadRequestError,
        210021,
        "Job quota exceeded",
    ),
    # The API key: 100x codes are authentication failures, whatever the status.
    (
        403,
        {"code": 1003, "msg": "insufficient.authentication"},
        AuthenticationError,
        1003,
        "insufficient.authentication",
    ),
    (403, {"code": 1004, "msg": "Bad credentials"}, AuthenticationError, 1004, "Bad credentials"),
    (
        200,
        {"code": 1002, "msg": "Expired credentials"},
        AuthenticationError,
        1002,
        "Expired credentials",
    ),
    (401, {"detail": "no"}, AuthenticationError, None, "no"),
    (403, "<html>Forbidden</html>", PermissionDeniedError, None, "non-JSON error body"),
    (
        429,
        {"code": 201, "msg": "Rate limit reached for requests"},
        RateLimitError,
        201,
        "Rate limit reached",
    ),
    (
        500,
        {"code": 9999, "msg": "Internal server error"},
        ServerError,
        9999,
        "Internal server error",
    ),
    (
        200,
        {"code": 9999, "msg": "Internal server error"},
        ServerError,
        9999,
        "Internal server error",
    ),
    (502, "", ServerError, None, "empty error body"),
]


@pytest.mark.parametrize(("status", "body", "cls", "code", "message"), ERRORS)
async def test_errors_are_classified_by_code_and_keep_the_trace_id(
    status: int, body: Any, cls: type[APIError], code: int | None, message: str
) -> None:
    url = f"{API}/datasets/dset-1/datasources/ds-1?user_id={USER}"
    with MockHTTP() as mock:
        headers = {**TRACE, "Retry-After": "1"}
        if isinstance(body, str):
            mock.get(url, status=status, body=body, headers=headers)
        else:
            mock.get(url, status=status, payload=body, headers=headers)
        async with client(retry=NO_RETRY) as mx:
            with pytest.raises(APIError) as info:
                await mx.datasources.get("dset-1", "ds-1")
    error = info.value
    assert type(error) is cls
    assert (error.status, error.code, error.request_id) == (status, code, "srv-trace-1")
    assert message in error.message
    text = str(error)
    assert "GET /v2/team/datasets/dset-1/datasources/ds-1" in text
    assert "srv-trace-1" in text and KEY not in text
    if cls is RateLimitError:
        assert isinstance(error, RateLimitError) and error.retry_after == 1.0


@pytest.mark.parametrize(
    "body", [b'{"data": {"id": "ds-1"}}', b"not json", b"[1, 2]", b'{"code": null}']
)
async def test_a_success_status_without_an_envelope_is_a_decode_error(body: bytes) -> None:
    url = f"{API}/datasets/dset-1/datasources/ds-1?user_id={USER}"
    with MockHTTP() as mock:
        mock.get(url, status=200, body=body, headers=TRACE)
        async with client(retry=NO_RETRY) as mx:
            with pytest.raises((DecodeError, APIError)) as info:
                await mx.datasources.get("dset-1", "ds-1")
    assert info.value.request_id == "srv-trace-1"
    if body == b'{"code": null}':
        assert type(info.value) is APIError  # an envelope, but not a success
    else:
        assert isinstance(info.value, DecodeError)


async def test_a_delete_retried_after_a_lost_answer_succeeds_when_the_source_is_gone() -> None:
    url = f"{API}/datasets/dset-1/datasources/ds-1"
    with MockHTTP() as mock:
        mock.delete(url, status=503, body="")
        # The first attempt did delete it: the retry hears "not found" (HTTP 200, 300003).
        mock.delete(url, payload={"code": 300003, "msg": "datasource not found"})
        async with client(retry=FAST_RETRY) as mx:
            await mx.datasources.delete("dset-1", "ds-1")
        assert len(sent(mock, "DELETE", url)) == 2


async def test_a_create_is_not_repeated_after_a_server_error() -> None:
    url = f"{API}/datasets/dset-1/datasources"
    with MockHTTP() as mock:
        mock.post(url, status=500, payload={"code": 9999, "msg": "Internal server error"})
        mock.post(url, payload=ok(SOURCE))
        async with client(retry=FAST_RETRY) as mx:
            with pytest.raises(ServerError):
                await mx.datasources.create("dset-1", "q3.csv", url="https://e.example/q3.csv")
        assert len(sent(mock, "POST", url)) == 1


async def test_reads_are_retried_after_a_server_error() -> None:
    url = f"{API}/datasets/dset-1/datasources/ds-1?user_id={USER}"
    with MockHTTP() as mock:
        mock.get(url, status=500, payload={"code": 9999, "msg": "Internal server error"})
        mock.get(url, payload=ok(SOURCE))
        async with client(retry=FAST_RETRY) as mx:
            assert (await mx.datasources.get("dset-1", "ds-1")).id == "ds-1"
        assert len(sent(mock, "GET", url)) == 2


# -- validation before sending ------------------------------------------------------------------

LONG = "x" * 125 + ".csv"  # 129 characters


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda mx: mx.datasources.create("d", "q3.csv"), "exactly one of url"),
        (
            lambda mx: mx.datasources.create("d", "q3.csv", url="https://e/x", file_object_key="k"),
            "exactly one of url",
        ),
        (lambda mx: mx.datasources.create("d", LONG, url="https://e/x"), "129 characters"),
        (lambda mx: mx.datasources.create("d", "q3.exe", url="https://e/x"), "extensions"),
        (lambda mx: mx.datasources.create("d", "csv", url="https://e/x"), "extensions"),
        (lambda mx: mx.datasources.create("d", ".csv", url="https://e/x"), "extensions"),
        (lambda mx: mx.datasources.create("d", "", url="https://e/x"), "name"),
        (lambda mx: mx.datasources.create("d", "q.csv", url="ftp://e/x"), "http"),
        (lambda mx: mx.datasources.create("", "q.csv", url="https://e/x"), "dataset_id"),
        (lambda mx: mx.datasources.create_without_dataset("q3.csv"), "exactly one of url"),
        (lambda mx: mx.datasources.get("d", "  "), "datasource_id"),
        (lambda mx: mx.datasources.delete("", "s"), "dataset_id"),
        (lambda mx: mx.datasources.presign("d", "s", expires_in=59), "at least 60"),
        (lambda mx: mx.datasources.presign("d", "s", expires_in=True), "expires_in"),
        (lambda mx: mx.datasources.presign("d", "s", expires_in=90.5), "whole number"),
        (lambda mx: mx.datasources.presign("d", "s", expires_in=float("inf")), "seconds"),
        (lambda mx: mx.datasources.get("d", "s", trace_id="t" * 129), "129 characters"),
        (lambda mx: mx.datasources.get("d", "s", trace_id="a\nb"), "printable ASCII"),
        (lambda mx: mx.datasources.get("d", "s", trace_id="spür"), "printable ASCII"),
        (lambda mx: mx.datasources.get("d", "s", trace_id=""), "trace_id"),
        (lambda mx: mx.datasources.get("d", "s", user_id=" "), "user_id"),
        (lambda mx: mx.datasources.upload_file(b"x", filename=None), "filename"),
        (lambda mx: mx.datasources.upload_file(b"", filename="e.csv"), "empty"),
        (lambda mx: mx.datasources.upload_file(b"x", filename="e.exe"), "extensions"),
        (lambda mx: mx.datasources.upload_file("/nonexistent/q3.csv"), "cannot read"),
        (lambda mx: mx.datasources.wait("d", "s", invalid_grace=-1), "grace"),
        (lambda mx: mx.datasets.create(""), "name"),
        (lambda mx: mx.datasets.update("d"), "pass name, description"),
        (lambda mx: mx.datasets.get("d", trace_id="t" * 200), "200 characters"),
    ],
)
async def test_bad_arguments_are_rejected_before_anything_is_sent(call: Any, problem: str) -> None:
    with MockHTTP() as mock:
        async with client() as mx:
            with pytest.raises(InvalidInputError, match=problem):
                await call(mx)
        assert mock.requests == {}


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda mx: mx.datasources.list("d", page_size=0), "page_size"),
        (lambda mx: mx.datasources.list("d", status=[]), "at least one status"),
        (lambda mx: mx.datasources.list("d", status="synched,invalid"), "status values"),
        (lambda mx: mx.datasources.list("", status="synched"), "dataset_id"),
        (lambda mx: mx.datasources.list("d", trace_id="t" * 129), "129 characters"),
        (lambda mx: mx.datasets.list(search="s" * 129), "129 characters"),
        (lambda mx: mx.datasources.download("d", "s", expires_in=10), "at least 60"),
        (lambda mx: mx.datasources.download("d", ""), "datasource_id"),
    ],
)
async def test_listings_and_downloads_reject_bad_arguments_when_called(
    call: Any, problem: str
) -> None:
    with MockHTTP() as mock:
        async with client() as mx:
            with pytest.raises(InvalidInputError, match=problem):
                call(mx)  # no await: the mistake shows at the call, not at iteration
        assert mock.requests == {}


async def test_a_rejected_url_is_not_echoed_it_may_carry_a_secret() -> None:
    async with client() as mx:
        with pytest.raises(InvalidInputError, match="'s3'") as info:
            await mx.datasources.create("d", "q.csv", url="s3://AKIA:tok3n@bucket/q.csv")
    assert "tok3n" not in str(info.value)


async def test_a_client_without_user_id_needs_one_per_call() -> None:
    url = f"{API}/datasets/dset-1/status?user_id={OTHER}"
    with MockHTTP() as mock:
        mock.get(url, payload=ok({}))
        async with MaxirClient(BASE, api_key=KEY) as mx:
            with pytest.raises(InvalidInputError, match="user_id is required"):
                await mx.datasets.status("dset-1")
            await mx.datasets.status("dset-1", user_id=OTHER)
        assert len(sent(mock, "GET", url)) == 1


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"base_url": "ftp://maxir.test", "api_key": KEY}, "http"),
        ({"base_url": "", "api_key": KEY}, "base_url"),
        ({"base_url": BASE, "api_key": ""}, "api_key is required"),
        ({"base_url": BASE, "api_key": KEY + "\n"}, "printable ASCII"),
        ({"base_url": BASE, "api_key": KEY, "user_id": ""}, "user_id"),
    ],
)
def test_bad_client_settings_are_named_without_echoing_the_key(
    kwargs: dict[str, Any], problem: str
) -> None:
    base_url = kwargs.pop("base_url")
    with pytest.raises(InvalidInputError, match=problem) as info:
        MaxirClient(base_url, **kwargs)
    assert KEY not in str(info.value)


async def test_debug_logs_never_carry_the_key(caplog: pytest.LogCaptureFixture) -> None:
    url = f"{API}/datasets/dset-1/datasources/ds-1?user_id={USER}"
    caplog.set_level(logging.DEBUG, logger="asyncsdk")
    with MockHTTP() as mock:
        mock.get(url, status=503, payload={"code": 9999, "msg": "down"}, headers=TRACE)
        mock.get(url, payload={"code": 1004, "msg": "Bad credentials"}, headers=TRACE)
        async with client(retry=FAST_RETRY) as mx:
            with pytest.raises(AuthenticationError) as info:
                await mx.datasources.get("dset-1", "ds-1")
    assert "retry 1" in caplog.text  # the retry was logged...
    assert KEY not in caplog.text  # ...without the key
    assert KEY not in str(info.value) and KEY not in repr(info.value)


async def test_download_fetches_the_presigned_link_without_the_key_even_on_the_api_host() -> None:
    # A private deployment may serve links from its own domain: the link is the credential,
    # so the key stays off it whatever the origin.
    presign = f"{API}/datasets/dset-1/datasources/ds-1/presign"
    link = f"{BASE}/files/q3.csv?Expires=9999999999&Signature=s3cr3t"
    with MockHTTP() as mock:
        mock.post(
            presign, payload=ok({"presigned_url": link, "expires_at": "2030-01-01T00:00:00.000Z"})
        )
        mock.get(link, body=b"a,b\n1,2\n", content_type="text/csv")
        async with client() as mx:
            body = b"".join(
                [c async for c in mx.datasources.download("dset-1", "ds-1", expires_in=60)]
            )
        assert only(mock, "POST", presign)["json"] == {"expires_in": 60, "user_id": USER}
        fetch = only(mock, "GET", link)
    assert body == b"a,b\n1,2\n"
    assert "x-pd-api-key" not in fetch["headers"]
