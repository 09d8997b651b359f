"""The converter's fast paths give the answers of the slow ones.

- JSON: the same bodies decode to the same values with orjson and with the standard library
  (the backend is swapped by patching ``convert._fast_loads``); big integers stay exact.
- Models: the generated structuring functions agree with cattrs' own, value for value and
  error for error, on every field of the hot models fed good and bad values.
- Timestamps: ``fromisoformat`` reads what the regular expression read, and nothing more.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
import cattrs
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from asyncsdk import DecodeError, ServerError
from asyncsdk._core import convert
from asyncsdk._core.convert import converter, loads, parse_timestamp, structure
from asyncsdk._core.session import Response
from asyncsdk.maxir._envelope import MaxirEnvelope
from asyncsdk.maxir.models import DataSource
from asyncsdk.moi._envelope import MOIEnvelope
from asyncsdk.moi.models import Connector, ConnectorFile, Job, Task, TaskFile

try:
    import orjson
except ImportError:  # pragma: no cover - the dev extra installs it
    orjson = None  # type: ignore[assignment]

BACKENDS = [
    "stdlib",
    pytest.param("orjson", marks=pytest.mark.skipif(orjson is None, reason="needs orjson")),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    fast = None if request.param == "stdlib" else orjson.loads
    monkeypatch.setattr(convert, "_fast_loads", fast)
    return str(request.param)


DEEP = b"[" * 100_000 + b"]" * 100_000

BODIES = [
    b'{"code":"OK","data":{"tasks":[{"id":"1888896244014280705","status":2}],"total":1}}',
    b'{"id":1888896244014280705,"ids":[1889223922712281088,-9223372036854775808]}',
    # beyond 64 bits: orjson would make these floats
    b'{"id":18446744073709551616,"n":-9223372036854775809,"max":18446744073709551615}',
    b'{"a": [1,\n   123456789012345678901234567890]}',
    b"18446744073709551616",
    b'{"name":"caf\xc3\xa9 \\u00e9","x":1.5,"y":1e2,"z":-0,"t":true,"n":null}',
    b'{"a":1,"a":2}',
    b"\xef\xbb\xbf[1]",  # a UTF-8 byte order mark
    "[1, 2]".encode("utf-16"),
]


@pytest.mark.parametrize("body", BODIES)
def test_both_backends_decode_what_the_stdlib_decodes(backend: str, body: bytes) -> None:
    decoded = loads(body)
    assert decoded == json.loads(body)
    assert json.dumps(decoded) == json.dumps(json.loads(body))  # same types: ints stay ints


def test_nan_and_overflowing_floats_read_as_the_stdlib_reads_them(backend: str) -> None:
    nan, infinity, overflow = loads(b"[NaN, Infinity, 1e400]")
    assert math.isnan(nan) and infinity == overflow == math.inf


@pytest.mark.parametrize("body", [b'{"a":', b"\xff\xfe\xfd", b"", b"{'a': 1}", b"[1,]"])
def test_both_backends_refuse_what_is_not_json(backend: str, body: bytes) -> None:
    with pytest.raises(ValueError):
        loads(body)


def test_deeply_nested_json_is_a_decode_error_not_a_recursion_error(backend: str) -> None:
    with pytest.raises(DecodeError, match="nested too deeply") as caught:
        loads(DEEP)
    assert isinstance(caught.value, ValueError)  # the envelopes judge it like any bad body


@pytest.mark.parametrize("envelope", [MOIEnvelope(), MaxirEnvelope()])
def test_a_deeply_nested_answer_is_judged_by_its_status(backend: str, envelope: Any) -> None:
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
    body = b'{"code":0,"data":' + DEEP + b"}"
    with pytest.raises(DecodeError):
        envelope.unwrap(Response("GET", "/x", 200, headers, body))
    with pytest.raises(ServerError):  # a 503 stays a (retryable) server error
        envelope.unwrap(Response("GET", "/x", 503, headers, body))


def test_only_bodies_without_big_integers_go_to_the_fast_decoder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bytes] = []

    def spy(body: bytes) -> Any:
        seen.append(body)
        return json.loads(body)

    monkeypatch.setattr(convert, "_fast_loads", spy)
    small = b'{"id":1888896244014280705,"name":"12345678901234567890"}'
    assert loads(small)["id"] == 1888896244014280705
    for big in (
        b'{"id":18446744073709551616}',
        b"[1, -9223372036854775809]",
        b"12345678901234567890",
    ):
        assert isinstance(loads(big), (dict, list, int))
    assert seen == [small]


# -- generated model hooks -----------------------------------------------------------------

ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    2,
    -1,
    99,
    10**20,
    1.0,
    1.5,
    "",
    "x",
    "12",
    "running",
    "synched",
    "2025-02-12T17:20:15.000000+0000",
    "1739261057",
    1739261057,
    1739331516123,
    [],
    ["a", "b"],
    ["a", 1],
    [1, 2],
    {},
    {"components": None},
]


def _outcome(hook: Callable[[Any, Any], Any], value: Any, cls: type) -> Any:
    try:
        return ("ok", hook(value, cls))
    except Exception:  # the exact kind may differ; an error must stay an error
        return ("error", None)


def _reference(cls: type) -> Callable[[Any, Any], Any]:
    # cattrs' own generated function, with the same converter's hooks for the fields.
    return cattrs.Converter.gen_structure_attrs_fromdict(converter, cls)


@pytest.mark.parametrize("cls", [Task, Job, ConnectorFile, DataSource, TaskFile, Connector])
def test_generated_hooks_agree_with_cattrs_on_every_field(cls: type) -> None:
    fast: Callable[[Any, Any], Any] = converter.gen_structure_attrs_fromdict(cls)
    slow = _reference(cls)
    assert fast.__code__.co_filename.startswith("<asyncsdk structure")  # ours, not cattrs'
    # Connector's hook lifts config keys and Task's unwraps or renames fields, then each calls
    # the generated one.
    if cls not in (Connector, Task):
        in_use = converter.get_structure_hook(cls)
        assert in_use.__code__.co_filename == fast.__code__.co_filename
    required = "uri" if cls is ConnectorFile else "id"
    for field in attrs.fields(cls):
        for value in ODD_VALUES:
            doc = {required: "k1", field.name: value}
            assert _outcome(fast, doc, cls) == _outcome(slow, doc, cls), (field.name, value)
    not_documents: list[Any] = [{}, [], "id", None, 5, {"name": "no id"}]
    for bad in not_documents:
        assert _outcome(fast, bad, cls) == _outcome(slow, bad, cls) == ("error", None)


def test_generated_hooks_build_the_same_frozen_models() -> None:
    doc = {
        "id": 1888896244014280705,
        "status": 2,
        "source_config": {"common_file_task_config": {"uris": ["a/", "b/"]}},
        "start_at": 1739261057,
        "end_at": 0,
        "created_at": "2025-02-12T17:20:15.000000+0000",
    }
    task = structure(doc, Task)
    assert task == _reference(Task)(doc, Task)
    assert hash(task) == hash(_reference(Task)(doc, Task))
    assert task.source_config.common_file_task_config.uris == ("a/", "b/")
    assert task.end_at is None and task.start_at == datetime(2025, 2, 11, 8, 4, 17, tzinfo=UTC)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        task.name = "changed"  # type: ignore[misc]
    # Factories make a fresh default per instance, as attrs' __init__ does.
    assert structure({"id": 1}, Task).source_config is not structure({"id": 2}, Task).source_config


@attrs.define(frozen=True)
class _Checked:
    count: int = attrs.field(validator=attrs.validators.ge(0))


@attrs.define(frozen=True)
class _Initialised:
    name: str

    def __attrs_post_init__(self) -> None:
        if not self.name:
            raise ValueError("empty name")


def test_classes_the_shortcut_would_get_wrong_keep_cattrs_hooks() -> None:
    with pytest.raises(DecodeError):
        structure({"count": -1}, _Checked)  # the validator still runs
    with pytest.raises(DecodeError):
        structure({"name": ""}, _Initialised)  # and so does __attrs_post_init__
    assert structure({"count": 3}, _Checked) == _Checked(3)


# -- timestamps ----------------------------------------------------------------------------

TIMESTAMPS = [
    "2025-02-12T03:38:36.566638078Z",
    "2025-02-12T17:20:15.000000+0000",
    "2025-02-13T11:44:36",
    "2025-02-10T03:08:24+08:00",
    "2025-02-10T03:08:24-0530",
    "2025-02-10T03:08:24+08",
    "2024-11-13T14:15:22.123Z",
    "2024-11-13 14:15:22",
    "2024-11-13T14:15",
    "2024-11-13",
    "  2024-11-13T14:15:22Z  ",
    "2024-11-13T14:15:22z",
    "2024-11-13T14:15:22 +01:00",
    "2024-11-13T14:15:22,5Z",
    "1739261057",
    "1739331516123",
    "-5",
    "12.5",
    # refused before, so refused now
    "2025-02-30T00:00:00",
    "2025-02-12T25:00:00",
    "2025-02-12T17",
    "2025-W07-3",
    "20250212T172015",
    "2025-02-12X17:20:15",
    "2025-02-12T17:20:15+05:30:10",
    "2025-02-12T17:20:15garbage",
    "yesterday",
]


def _parse(text: str) -> Any:
    try:
        return ("ok", parse_timestamp(text))
    except (ValueError, TypeError, OverflowError):
        return ("error", None)


def test_fromisoformat_reads_exactly_what_the_regular_expression_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast = [_parse(text) for text in TIMESTAMPS]
    monkeypatch.setattr(convert, "_from_iso", lambda _text: None)
    slow = [_parse(text) for text in TIMESTAMPS]
    for text, got, expected in zip(TIMESTAMPS, fast, slow, strict=True):
        assert got == expected, text
        if got[0] == "ok":
            assert got[1].utcoffset() == expected[1].utcoffset(), text
    assert ("error", None) in fast and fast.count(("error", None)) >= 9
