from __future__ import annotations

import json
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from asyncsdk import (
    APIConnectionError,
    APIError,
    AsyncSDKError,
    InvalidInputError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from asyncsdk._core.errors import error_class_for_status
from asyncsdk._core.session import Response
from asyncsdk.maxir._envelope import MaxirEnvelope
from asyncsdk.moi._envelope import MOIEnvelope


def test_error_text_names_call_status_code_message_and_request_id() -> None:
    err = ServerError(
        "internal error",
        status=500,
        code="ErrInternal",
        method="GET",
        path="/task/list",
        request_id="req-1",
    )
    assert str(err) == (
        "GET /task/list: HTTP 500, code ErrInternal: internal error (request id req-1)"
    )


def test_rate_limit_error_mentions_retry_after() -> None:
    err = RateLimitError("slow down", status=429, retry_after=90, method="GET", path="/x")
    assert "retry after 90 s" in str(err)
    assert err.retry_after == 90


def test_errors_survive_pickling() -> None:
    err = NotFoundError("gone", status=404, code="ErrNotFound", method="GET", path="/task/get")
    err.resume_token = "tok"
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is NotFoundError
    assert (copy.status, copy.code, copy.path) == (404, "ErrNotFound", "/task/get")
    assert copy.resume_token == "tok"
    assert str(copy) == str(err)


def test_invalid_input_is_also_a_value_error() -> None:
    with pytest.raises(ValueError):
        raise InvalidInputError("page_size must be positive")


def test_transport_errors_say_whether_the_request_was_sent() -> None:
    err = APIConnectionError("connection reset", request_sent=True, method="POST", path="/task")
    assert isinstance(err, AsyncSDKError)
    assert err.request_sent


@pytest.mark.parametrize(
    ("status", "name"),
    [
        (400, "BadRequestError"),
        (401, "AuthenticationError"),
        (403, "PermissionDeniedError"),
        (404, "NotFoundError"),
        (409, "ConflictError"),
        (422, "BadRequestError"),
        (429, "RateLimitError"),
        (500, "ServerError"),
        (503, "ServerError"),
        (418, "BadRequestError"),
        (302, "APIError"),
    ],
)
def test_status_mapping(status: int, name: str) -> None:
    cls = error_class_for_status(status)
    assert cls.__name__ == name
    assert issubclass(cls, APIError)


# -- the envelopes alone: any body, status and headers give data or an asyncsdk error -----------

_scalars = (
    st.none() | st.booleans() | st.integers(-(2**80), 2**80) | st.floats() | st.text(max_size=30)
)
_keys = st.sampled_from(["code", "msg", "message", "detail", "loc", "data", "request_id", "type"])
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_keys | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=30,
)
# Values that once escaped as ValueError or TypeError are drawn often, not left to chance.
_codes = st.sampled_from(["--5", "²", "٣", "1" * 5000, " 300003 ", "ok", 0, 201]) | _values
_details = st.lists(st.fixed_dictionaries({"loc": _values, "msg": _values}), max_size=3) | _values
_bodies = st.one_of(
    _values.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda code, msg, detail: json.dumps({"code": code, "msg": msg, "detail": detail}).encode(),
        _codes,
        _values,
        _details,
    ),
    st.builds(lambda detail: json.dumps({"detail": detail}).encode(), _details),
    st.binary(max_size=40),
)
_headers = st.dictionaries(
    st.sampled_from(["Retry-After", "X-Request-Id", "x-pd-trace-id"]),
    st.text(max_size=40) | st.just("Mon, 01 Jan 99999999999999999999 00:00:00 GMT"),
    max_size=3,
)


@settings(max_examples=400, deadline=None)
@given(body=_bodies, status=st.integers(100, 599), headers=_headers, moi=st.booleans())
def test_an_envelope_raises_only_asyncsdk_errors(
    body: bytes, status: int, headers: dict[str, str], moi: bool
) -> None:
    response = Response("GET", "/x", status, CIMultiDictProxy(CIMultiDict(headers)), body)
    envelope: MOIEnvelope | MaxirEnvelope = MOIEnvelope() if moi else MaxirEnvelope()
    try:
        envelope.unwrap(response)
    except AsyncSDKError as exc:
        assert str(exc).startswith("GET /x: ")  # and rendering it raises nothing either
