"""The one cattrs converter, the JSON codec, and the timestamp parser.

Rules (DESIGN.md, "Models"):

- unknown fields are ignored, unknown enum values are kept (see :mod:`._core.enums`);
- ids are ``str`` whether the service sent a JSON number or a string (MOI sends the same
  snowflake id both ways, and above 2**53, so it must never pass through a float);
- timestamps become timezone-aware ``datetime`` objects from any of the forms the services use:
  epoch seconds, epoch milliseconds, RFC 3339 with nanoseconds, ``+0000`` offsets, naive ISO
  strings (taken as UTC);
- wrong types are errors, not silent coercions: a dict where a string belongs must not become the
  string ``"{...}"``. :func:`structure` turns every such failure into :class:`DecodeError`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum, IntEnum
from typing import Any, TypeVar, get_args, get_origin

import cattrs

from .enums import OpenIntEnum, OpenStrEnum
from .errors import DecodeError

__all__ = ["converter", "dumps", "loads", "parse_timestamp", "structure"]

T = TypeVar("T")

# Epoch values above this are milliseconds: 1e11 seconds is the year 5138, and MOI's BYOA
# service sends workflow timestamps in milliseconds while its Go service sends seconds.
_MILLISECONDS_THRESHOLD = 1e11

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def _parse_offset(text: str | None) -> timezone:
    if text is None or text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_timestamp(value: Any) -> datetime:
    """Parse any of the services' timestamp forms into an aware ``datetime``.

    Numbers (and numeric strings) are epoch seconds, or milliseconds when above 1e11.
    Raises ``ValueError`` or ``TypeError`` for anything else.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, bool):
        raise TypeError("expected a timestamp, got a boolean")
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return parse_timestamp(float(text) if "." in text else int(text))
        match = _ISO.match(text)
        if match is None:
            raise ValueError(f"unrecognised timestamp {value!r}")
        year, month, day, hour, minute, second, fraction, offset = match.groups()
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=_parse_offset(offset),
        )
    if isinstance(value, (int, float)):
        seconds = value / 1000 if abs(value) > _MILLISECONDS_THRESHOLD else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    raise TypeError(f"expected a timestamp, got {type(value).__name__}")


def _structure_str(value: Any, _: type) -> str:
    if type(value) is str:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_optional_str(value: Any, _: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    return _structure_str(value, str)


def _structure_optional_int(value: Any, _: Any) -> int | None:
    if value is None or type(value) is int:
        return value
    return _structure_int(value, int)


def _structure_int(value: Any, _: type) -> int:
    if type(value) is int:
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        return float(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TypeError(f"expected a boolean, got {value!r}")


def _structure_datetime(value: Any, _: type) -> datetime:
    if type(value) is int and value < _MILLISECONDS_THRESHOLD:
        return datetime.fromtimestamp(value, tz=UTC)  # the common case, fast
    return parse_timestamp(value)


def _structure_optional_datetime(value: Any, _: type) -> datetime | None:
    if type(value) is int and 0 < value < _MILLISECONDS_THRESHOLD:
        return datetime.fromtimestamp(value, tz=UTC)  # the common case, fast
    # Unfinished runs carry end_time 0 (MOI task files) or "" rather than null.
    if value is None or value == 0 or value == "":
        return None
    return parse_timestamp(value)


def _structure_enum(value: Any, cls: type[Enum]) -> Enum:
    if type(value) is bool:  # True == 1: without this check it would pass as a member
        raise TypeError(f"expected a {cls.__name__} value, got a boolean")
    try:
        member = cls._value2member_map_.get(value)  # known values: one dict lookup
    except TypeError:  # unhashable: a list or a dict
        member = None
    if member is not None:
        return member
    if isinstance(value, (dict, list)) or value is None:
        raise TypeError(f"expected a {cls.__name__} value, got {type(value).__name__}")
    return cls(value)


def _structure_any(value: Any, _: type) -> Any:
    return value


def _is_tuple(cls: Any) -> bool:
    return get_origin(cls) is tuple


def _tuple_hook_factory(cls: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    # Models hold sequences as tuples (they are frozen); the services send JSON arrays, and
    # sometimes null for "none" (MOI's related_task_ids), which we read as empty.
    args = get_args(cls)
    item_type = args[0] if args else Any
    item_hook = conv.get_structure_hook(item_type)

    def structure_tuple(value: Any, _: Any) -> tuple[Any, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        return tuple(item_hook(item, item_type) for item in value)

    return structure_tuple


def _is_dict(cls: Any) -> bool:
    return cls is dict or get_origin(cls) is dict


def _structure_dict(value: Any, _: Any) -> dict[str, Any]:
    # Free-form objects (a workflow's component graph, a connector's config) stay plain dicts.
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=False)
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(bool, _structure_bool)
    conv.register_structure_hook(datetime, _structure_datetime)
    # These hooks dispatch on subclasses too, and an IntEnum is an int: register the enum
    # bases explicitly so enums come back as enum members, not bare ints or strings.
    for enum_base in (OpenIntEnum, OpenStrEnum, IntEnum, Enum):
        conv.register_structure_hook(enum_base, _structure_enum)
    conv.register_structure_hook_func(
        lambda t: t == (datetime | None), _structure_optional_datetime
    )
    # Optional scalars are common in hot models: skip cattrs' generic union dispatch.
    conv.register_structure_hook_func(lambda t: t == (str | None), _structure_optional_str)
    conv.register_structure_hook_func(lambda t: t == (int | None), _structure_optional_int)
    conv.register_structure_hook_func(lambda t: t is Any, _structure_any)
    conv.register_structure_hook_factory(_is_tuple, _tuple_hook_factory)
    conv.register_structure_hook_func(_is_dict, _structure_dict)
    conv.register_unstructure_hook(datetime, lambda d: d.isoformat())
    conv.register_unstructure_hook(date, lambda d: d.isoformat())
    return conv


converter = _make_converter()


def structure(value: Any, cls: type[T]) -> T:
    """Structure ``value`` into ``cls``; any mismatch becomes :class:`DecodeError`."""
    try:
        return converter.structure(value, cls)
    except Exception as exc:  # cattrs raises many kinds; all mean "not the documented shape"
        name = getattr(cls, "__name__", str(cls))
        raise DecodeError(f"response does not match {name}: {_short(exc)}") from exc


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 200 else text[:197] + "..."


def loads(body: bytes | str) -> Any:
    """Decode JSON; big integers stay exact (the stdlib never routes them through float)."""
    return json.loads(body)


def dumps(value: Any) -> bytes:
    """Encode JSON compactly, as the services do."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
