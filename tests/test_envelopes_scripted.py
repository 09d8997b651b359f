"""Malformed answers stay inside the error tree: whatever a server sends in the envelope (codes
that look like numbers but are not, validation details of the wrong shape, JSON nested deeper
than Python recurses, token claims no float can hold), the caller gets an ``AsyncSDKError``
subclass that names the problem, never a bare ``ValueError``, ``TypeError``, ``RecursionError``
or ``OverflowError``."""

from __future__ import annotations

import json

import pytest

from asyncsdk import (
    APIError,
    AsyncSDKError,
    BadRequestError,
    DecodeError,
    MaxirClient,
    MOIClient,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServerError,
)

from ._scripted_envelopes import Answer, Scripted, moi_login, token

NO_RETRY = RetryPolicy.disabled()
JSON = {"Content-Type": "application/json"}
DEEP = b"[" * 100_000 + b"]" * 100_000  # valid JSON, too deep for the stdlib decoder


def moi_client(url: str) -> MOIClient:
    return MOIClient(url, account_name="acct", username="u", password="p", retry=NO_RETRY)


def maxir_client(url: str) -> MaxirClient:
    return MaxirClient(url, api_key="k", user_id="tmm-1", retry=NO_RETRY)


# -- MAXIR: the envelope code -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("--5", "--5"),  # looked numeric to lstrip("-").isdigit(), then int() refused it
        ("²", "²"),  # a digit to str.isdigit(), not to int()
        ("٣", "٣"),  # an Arabic-Indic three: int() would accept it, the wire never means it
        ("1" * 5000, "1" * 117 + "..."),  # beyond int()'s digit limit, and beyond any code
    ],
)
async def test_maxir_codes_that_are_not_numbers_are_kept_as_text(code: str, shown: str) -> None:
    body = json.dumps({"code": code, "msg": "strange"}).encode()
    answers = {"/v2/team/datasets/d-1/status": Answer(200, body, JSON)}
    async with Scripted(answers) as server, maxir_client(server.url) as mx:
        with pytest.raises(APIError) as caught:
            await mx.datasets.status("d-1")
    assert type(caught.value) is APIError  # HTTP 200 with an unknown code: no finer class
    assert caught.value.code == shown
    assert "strange" in str(caught.value)


async def test_maxir_numeric_codes_as_strings_still_classify() -> None:
    body = b'{"code": " 300003 ", "msg": "dataset not found"}'
    answers = {"/v2/team/datasets/d-1/status": Answer(200, body, JSON)}
    async with Scripted(answers) as server, maxir_client(server.url) as mx:
        with pytest.raises(NotFoundError) as caught:
            await mx.datasets.status("d-1")
    assert caught.value.code == 300003


@pytest.mark.parametrize(("status", "error"), [(200, DecodeError), (500, ServerError)])
async def test_maxir_json_nested_too_deep_is_an_sdk_error(
    status: int, error: type[AsyncSDKError]
) -> None:
    answers = {"/v2/team/datasets/d-1/status": Answer(status, DEEP, JSON)}
    async with Scripted(answers) as server, maxir_client(server.url) as mx:
        with pytest.raises(error):
            await mx.datasets.status("d-1")


# -- MOI: FastAPI validation details, codes, nesting, token claims ------------------------------


@pytest.mark.parametrize(
    ("detail", "shown"),
    [
        ([{"loc": 5, "msg": "must be text", "type": "x"}], "5: must be text"),
        ([{"loc": "query", "msg": "missing"}], "query: missing"),
        ([{"loc": None, "msg": "bad"}], "bad"),
        ([{"loc": ["body", "task_id"], "msg": ["a", "list"]}], "task_id: ['a', 'list']"),
        ([5, "text", {"loc": {"a": 1}, "msg": "odd loc"}], "{'a': 1}: odd loc"),
        ({"reason": "an object, not a list"}, "{'reason': 'an object, not a list'}"),
        (7, "7"),
    ],
)
async def test_moi_422_details_of_any_shape_are_a_bad_request(detail: object, shown: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    answers = {"/auth/login": moi_login(), "/task/get": Answer(422, body, JSON)}
    async with Scripted(answers) as server, moi_client(server.url) as moi:
        with pytest.raises(BadRequestError) as caught:
            await moi.tasks.get("1")
    assert caught.value.status == 422
    assert shown in str(caught.value)


@pytest.mark.parametrize(
    ("code", "shown"),
    [([1, 2], "[1, 2]"), ({"x": 1}, "{'x': 1}"), (True, "True"), (1.5, "1.5")],
)
async def test_moi_codes_of_other_json_types_are_api_errors(code: object, shown: str) -> None:
    body = json.dumps({"code": code, "msg": {"text": "no"}, "request_id": 5}).encode()
    answers = {"/auth/login": moi_login(), "/task/get": Answer(200, body, JSON)}
    async with Scripted(answers) as server, moi_client(server.url) as moi:
        with pytest.raises(APIError) as caught:
            await moi.tasks.get("1")
    assert caught.value.code == shown
    assert "{'text': 'no'}" in str(caught.value)


@pytest.mark.parametrize(("status", "error"), [(200, DecodeError), (500, ServerError)])
async def test_moi_json_nested_too_deep_is_an_sdk_error(
    status: int, error: type[AsyncSDKError]
) -> None:
    answers = {"/auth/login": moi_login(), "/task/get": Answer(status, DEEP, JSON)}
    async with Scripted(answers) as server, moi_client(server.url) as moi:
        with pytest.raises(error):
            await moi.tasks.get("1")


@pytest.mark.parametrize("exp", [10**400, -(10**400)])
async def test_token_claims_no_float_can_hold_do_not_escape(exp: int) -> None:
    access = token(iat=10**400, exp=exp, uid="uid-1")
    answers = {
        "/auth/login": moi_login(access),
        "/task/get": Answer(404, b'{"code":"ErrNotFound","msg":"no task"}', JSON),
    }
    async with Scripted(answers) as server:
        try:
            async with moi_client(server.url) as moi:
                await moi.tasks.get("1")
        except NotFoundError:
            pass  # the call went out with the token and was answered
        except AsyncSDKError:
            pass  # refusing the token is fine too, as long as it is an SDK error
    assert ("POST", "/auth/login") in server.requests


@pytest.mark.parametrize(
    "retry_after",
    ["Mon, 01 Jan 99999999999999999999 00:00:00 GMT", "soon", "nan", "-5"],
)
async def test_a_429_with_a_retry_after_no_clock_can_hold_is_a_rate_limit_error(
    retry_after: str,
) -> None:
    headers = {**JSON, "Retry-After": retry_after}
    body = b'{"code": 201, "msg": "Rate limit reached for requests"}'
    answers = {"/v2/team/datasets/d-1/status": Answer(429, body, headers)}
    async with Scripted(answers) as server, maxir_client(server.url) as mx:
        with pytest.raises(RateLimitError) as caught:
            await mx.datasets.status("d-1")
    assert caught.value.retry_after in (None, 0.0)
