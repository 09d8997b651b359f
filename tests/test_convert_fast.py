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
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
import cattrs
import pytest
from cattrs.gen import make_dict_structure_fn, override
from multidict import CIMultiDict, CIMultiDictProxy

from asyncsdk import DecodeError, ServerError
from asyncsdk._core import convert
from asyncsdk._core.convert import converter, loads, parse_timestamp, structure
from asyncsdk._core.session import Response
from asyncsdk.maxir._envelope import MaxirEnvelope
from asyncsdk.maxir.models import DataSource
from asyncsdk.moi._envelope import MOIEnvelope
from asyncsdk.moi.models import (
    CommonFileTaskConfig,
    Connector,
    ConnectorFile,
    Job,
    LoadModeConfig,
    Task,
    TaskFile,
    TaskSourceConfig,
)

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


# -- generated functions against cattrs' own, whole documents ------------------------------
#
# A reference converter is cattrs' own class with the same scalar hooks: every attrs class,
# nested ones included, gets cattrs' function there, so the comparison covers what the
# generated functions build inside themselves (nested models, string tuples, timestamps that
# repeat an object's first one, defaults read as raw values, the slot-filling subclass).

TIME_VALUES: list[Any] = [
    None,
    0,
    -1,
    1,
    1739261057,
    1739261117,
    99_999_999_999,
    100_000_000_000,
    100_000_000_001,
    -100_000_000_001,
    -62_135_596_800,  # 0001-01-01
    -62_135_596_801,  # before year 1
    1739331516123,
    10**20,
    1739261057.5,
    True,
    "0",
    "",
    "1739261057",
    "2025-02-12T17:20:15Z",
    "2025-02-12T17:20:15.000000+0000",
    [],
    {},
]


def _old_task_hook(plain: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Task's hook as it was before its renames moved into the generated function."""
    from asyncsdk.moi.models import SourceType, TaskStatus, _by_name

    def structure_task(value: Any, cls: type) -> Any:
        if type(value) is dict:
            if "id" not in value and type(value.get("task")) is dict:
                value = value["task"]
            status, kind = value.get("status"), value.get("source_connector_type")
            if (
                type(status) is str
                or type(kind) is str
                or value.get("start_at") == "0"
                or value.get("end_at") == "0"
            ):
                value = dict(value)
                if type(status) is str:
                    value["status"] = _by_name(status, TaskStatus)
                if type(kind) is str:
                    value["source_connector_type"] = _by_name(kind, SourceType)
                for key in ("start_at", "end_at"):
                    if value.get(key) == "0":
                        value[key] = None
        return plain(value, cls)

    return structure_task


@pytest.fixture(scope="module")
def reference() -> cattrs.Converter:
    conv = convert._make_converter(cattrs.Converter)
    conv.register_structure_hook(
        Task, _old_task_hook(cattrs.Converter.gen_structure_attrs_fromdict(conv, Task))
    )
    return conv


def _strict_outcome(structure_fn: Callable[[Any, Any], Any], doc: Any, cls: type) -> Any:
    """The outcome, with the exact class and the repr (time zones, enum members) of a value."""
    try:
        value = structure_fn(doc, cls)
    except Exception:
        return ("error", None)
    return ("ok", type(value), repr(value), value)


TASK_BASE: dict[str, Any] = {
    "id": "1888896244014280705",
    "name": "load",
    "status": 2,
    "source_connector_type": 5,
    "source_config": {
        "common_file_task_config": {
            "load_mode_config": {"load_interval_type": 1, "interval": 60},
            "uris": ["data/a/", "data/b/"],
        }
    },
}

#: Not objects where a nested model belongs: cattrs' function reads a list or a string as an
#: object with no keys, the generated functions refuse them (wrong types are errors).
NOT_OBJECTS: list[Any] = [
    [],
    "x",
    {"common_file_task_config": []},
    {"common_file_task_config": "x"},
]

NESTED_VALUES: list[Any] = [
    None,
    {},
    {"common_file_task_config": None},
    {"common_file_task_config": {"uris": None}},
    {"common_file_task_config": {"uris": ["a", 1]}},
    {"common_file_task_config": {"uris": ("a", "b")}},
    {"common_file_task_config": {"uris": "ab"}},
    {"common_file_task_config": {"uris": []}},
    {"common_file_task_config": {"load_mode_config": None}},
    {"common_file_task_config": {"load_mode_config": {"load_interval_type": "2"}}},
    {"common_file_task_config": {"load_mode_config": {"load_interval_type": True}}},
    {"common_file_task_config": {"load_mode_config": {"load_interval_type": 77}}},
    {"common_file_task_config": {"load_mode_config": {"interval": "5"}}},
    {"common_file_task_config": {"file_filter_config": {"suffix": [".pdf"]}}},
    {"common_file_task_config": {"file_filter_config": []}},
]


def _task_documents() -> list[Any]:
    import random

    stamps = ("start_at", "end_at", "created_at", "updated_at")
    docs: list[Any] = []
    # Every pair of timestamp values in the first field and each later one: the later
    # field equal to the first, or not, and either of them outside the shortcut.
    for first in TIME_VALUES:
        for later in TIME_VALUES:
            for key in stamps[1:]:
                docs.append({**TASK_BASE, "start_at": first, key: later})
    rng = random.Random(15)
    for _ in range(400):
        doc = dict(TASK_BASE)
        for key in stamps:
            choice = rng.choice([*TIME_VALUES, "absent"])
            if choice != "absent":
                doc[key] = choice
        docs.append(doc)
    for nested in NESTED_VALUES:
        docs.append({**TASK_BASE, "source_config": nested})
    for status in [*ODD_VALUES, "running", "RUNNING", " finished ", "no-such", "7", "-1"]:
        docs.append({**TASK_BASE, "status": status})
        docs.append({**TASK_BASE, "source_connector_type": status})
    absent = {key: value for key, value in TASK_BASE.items() if key not in ("name", "status")}
    docs.extend([absent, {"id": 5}, {"task": TASK_BASE}, {"task": TASK_BASE, "id": None}])
    docs.extend([{"task": {"name": "no id"}}, {"task": "x"}, {}, [], None, "id"])
    docs.append({**TASK_BASE, "volume_path": {"id_list": ["1", 2], "name_list": None}})
    docs.append({**TASK_BASE, "load_results": [{"lines": 3, "reason": ""}], "volume_path": {}})
    return docs


def test_tasks_decode_as_cattrs_and_the_old_hook_decode_them(reference: cattrs.Converter) -> None:
    documents = _task_documents()
    assert len(documents) > 1500
    kinds = set()
    for doc in documents:
        fast = _strict_outcome(structure, doc, Task)
        slow = _strict_outcome(reference.structure, doc, Task)
        assert fast == slow, doc
        kinds.add(fast[0])
    assert kinds == {"ok", "error"}
    for nested in NOT_OBJECTS:
        with pytest.raises(DecodeError, match="expected an object for"):
            structure({**TASK_BASE, "source_config": nested}, Task)


@pytest.mark.parametrize(
    ("cls", "doc"),
    [
        (ConnectorFile, {"uri": "a", "size": 5, "type": 2}),
        (Job, {"id": "j", "status": 2, "file_types": [2, 4], "source_volume_ids": ["1"]}),
        (TaskFile, {"id": "f", "status": 1}),
        (Connector, {"id": "c", "source_type": 1, "config": {"oss": {"bucket": "b"}}}),
    ],
)
def test_other_models_decode_as_cattrs_decodes_them(
    reference: cattrs.Converter, cls: type, doc: dict[str, Any]
) -> None:
    stamps = [f.name for f in attrs.fields(cls) if "datetime" in str(f.type)]
    assert len(stamps) >= 2
    for first in TIME_VALUES:
        for later in TIME_VALUES:
            for key in stamps[1:]:
                case = {**doc, stamps[0]: first, key: later}
                assert _strict_outcome(structure, case, cls) == _strict_outcome(
                    reference.structure, case, cls
                ), case


def test_equal_timestamps_share_the_first_ones_datetime_and_others_do_not() -> None:
    task = structure(
        {"id": "1", "start_at": 1739261057, "created_at": 1739261057, "updated_at": 1739261058},
        Task,
    )
    assert task.start_at is not None
    assert task.created_at is task.start_at  # the shortcut: one datetime for one second
    assert task.updated_at == task.start_at + timedelta(seconds=1)


def test_models_come_out_of_their_own_class_and_stay_frozen() -> None:
    task = structure(TASK_BASE, Task)
    config = task.source_config.common_file_task_config
    for value, cls in [
        (task, Task),
        (task.source_config, TaskSourceConfig),
        (config, CommonFileTaskConfig),
        (config.load_mode_config, LoadModeConfig),
    ]:
        assert type(value) is cls
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            value.name = "changed"  # type: ignore[attr-defined]
    assert config.uris == ("data/a/", "data/b/") and type(config.uris) is tuple
    assert attrs.evolve(task, name="other").name == "other"


class _Registry(type):
    pass


@attrs.define(frozen=True)
class _WithMeta(metaclass=_Registry):
    name: str = ""
    size: int = 0


@attrs.define(frozen=True)
class _Counting:
    made: ClassVar[list[type]] = []
    name: str = ""

    def __init_subclass__(cls) -> None:
        _Counting.made.append(cls)


def test_classes_a_subclass_would_disturb_are_filled_through_their_slots() -> None:
    assert structure({"name": "a", "size": "3"}, _WithMeta) == _WithMeta("a", 3)
    assert structure({"name": "b"}, _Counting) == _Counting("b")
    assert _Counting.made == []  # no subclass was made behind its back


def test_structure_fn_agrees_with_cattrs_overrides(reference: cattrs.Converter) -> None:
    # Replacing hooks rewrite odd forms only; a value of the field's type is left alone.
    def joined(value: Any, cls: Any) -> Any:
        if isinstance(value, list) and all(type(item) is str for item in value):
            value = "; ".join(value)
        return converter.get_structure_hook(str)(value, cls)

    def zero_as_none(value: Any, cls: Any) -> Any:
        hook = converter.get_structure_hook(datetime | None)
        return None if value == "0" else hook(value, cls)

    fast = convert.structure_fn(TaskFile, reason=joined, end_time=zero_as_none)
    slow = make_dict_structure_fn(
        TaskFile,
        converter,
        reason=override(struct_hook=joined),
        end_time=override(struct_hook=zero_as_none),
    )
    assert fast.__code__.co_filename.startswith("<asyncsdk structure")
    for value in [*ODD_VALUES, "0", "why", 5]:
        for key in ("reason", "end_time", "start_time"):
            doc = {"id": "1", "start_time": 1739261057, key: value}
            assert _outcome(fast, doc, TaskFile) == _outcome(slow, doc, TaskFile), (key, value)
    with pytest.raises(TypeError, match="no field"):
        convert.structure_fn(TaskFile, no_such_field=joined)


def test_a_page_decodes_alike_with_either_json_backend(
    backend: str, reference: cattrs.Converter
) -> None:
    # The generated functions look fields up with orjson's own key strings; dicts from the
    # standard library (other string objects, other dict layouts) must give the same models.
    items = [doc for doc in _task_documents() if isinstance(doc, dict) and "id" in doc][:300]
    body = json.dumps({"code": "OK", "data": {"tasks": items}}).encode()
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/json"}))
    data = MOIEnvelope().unwrap(Response("GET", "/x", 200, headers, body))
    for doc, decoded in zip(json.loads(body)["data"]["tasks"], data["tasks"], strict=True):
        fast = _strict_outcome(structure, decoded, Task)
        assert fast == _strict_outcome(reference.structure, doc, Task), doc


def test_epoch_seconds_read_from_their_hour_are_what_fromtimestamp_gives() -> None:
    import random

    convert._HOURS.clear()  # the generated functions share this dict; start with none known
    rng = random.Random(1970)
    values = [1, 3599, 3600, 3601, 86399, 86400, 1739261057, 99_999_999_999]
    values += [rng.randrange(1, 100_000_000_000) for _ in range(3000)]
    values += [rng.randrange(1739260000, 1739270000) for _ in range(3000)]  # shared hours
    for value in values * 2:  # the second pass reads from remembered hours
        expected = datetime.fromtimestamp(value, UTC)
        task = structure({"id": "1", "start_at": 7, "updated_at": value}, Task)
        assert repr(task.updated_at) == repr(expected), value
        assert task.updated_at == expected and task.updated_at.tzinfo is UTC
    assert 0 < len(convert._HOURS) <= convert._HOURS_KEPT
    for value in (0, -1, -3600, -3601, -62_135_596_800):
        assert repr(convert._epoch_second(value)) == repr(datetime.fromtimestamp(value, UTC))
        assert value // 3600 not in convert._HOURS or value == 0
