from __future__ import annotations

import pickle

import pytest

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
