"""Checks of caller input shared by every resource: each raises :class:`InvalidInputError`,
naming the argument, before anything is sent."""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from typing import TypeVar
from urllib.parse import quote

from .errors import InvalidInputError

__all__ = [
    "boolean",
    "choice",
    "id_list",
    "int_list",
    "integer",
    "members",
    "name_list",
    "numeric_id",
    "optional_bool",
    "optional_int_list",
    "optional_text",
    "path_segment",
    "require_id",
    "seconds",
    "text",
]

E = TypeVar("E")


def require_id(name: str, value: object) -> str:
    """An id argument as the wire wants it (a string), rejecting empty or mistyped values."""
    if type(value) is str:  # the usual case, checked first
        text = value.strip()
    elif isinstance(value, bool) or not isinstance(value, (str, int)):
        kind = type(value).__name__
        raise InvalidInputError(f"{name} must be a string or an integer, got {kind}")
    else:
        text = str(value).strip()
    if not text:
        raise InvalidInputError(f"{name} must not be empty")
    return text


def path_segment(name: str, value: object) -> str:
    """An id as exactly one URL path segment: checked, then percent-encoded.

    A ``/`` is encoded, so no id can reach another endpoint; ``.`` and ``..`` are refused,
    because clients and proxies resolve them (``volumes/v/files/..`` is ``volumes/v/``);
    control characters are refused, because no service issues ids with them and they would
    be sent as given.
    """
    segment = require_id(name, value)
    if segment in (".", ".."):
        raise InvalidInputError(f"{name} must not be {segment!r} (it would change the path)")
    if not segment.isprintable():
        raise InvalidInputError(f"{name} must not contain control characters, got {segment!r}")
    return quote(segment, safe="")


def numeric_id(name: str, value: object) -> int:
    """An id the wire wants as an integer. Only ASCII digits count: ``"²"`` and ``"١٢"`` are
    digits to :meth:`str.isdigit`, but no service issued them."""
    digits = require_id(name, value)
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidInputError(f"{name} must be a number (ASCII digits), got {digits!r}")
    return int(digits)


def text(name: str, value: object, *, allow_empty: bool = False) -> str:
    """A string argument; empty (or only spaces) is refused unless ``allow_empty``."""
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise InvalidInputError(f"{name} must not be empty")
    return value


def id_list(name: str, values: object, *, allow_empty: bool = False) -> list[str]:
    """A list of ids (strings on the wire). A lone string is refused: iterating it would
    send one id per character."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInputError(f"{name} must be a list of ids, got {type(values).__name__}")
    ids = [require_id(f"{name} item", value) for value in values]
    if not ids and not allow_empty:
        raise InvalidInputError(f"{name} must not be empty")
    return ids


def name_list(name: str, values: object) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInputError(f"{name} must be a list of strings, got {type(values).__name__}")
    return [text(f"{name} item", value) for value in values]


def int_list(name: str, values: object) -> list[int]:
    """Enum values (file types, statuses) as plain ints."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInputError(f"{name} must be a list of integers, got {type(values).__name__}")
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInputError(f"{name} must hold integers (enum values), got {value!r}")
        out.append(int(value))
    return out


def optional_int_list(name: str, values: object) -> list[int] | None:
    return None if values is None else int_list(name, values)


def integer(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{name} must be an integer, got {value!r}")
    return int(value)


def optional_text(name: str, value: object) -> str | None:
    return None if value is None else text(name, value)


def boolean(name: str, value: object) -> bool:
    """``True`` or ``False``: a truthy string such as ``"false"`` is refused, not read."""
    if not isinstance(value, bool):
        raise InvalidInputError(f"{name} must be True or False, got {value!r}")
    return value


def optional_bool(name: str, value: object) -> bool | None:
    return None if value is None else boolean(name, value)


def choice(name: str, value: object, allowed: Collection[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InvalidInputError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def members(name: str, values: object, enum: type[E]) -> set[E]:
    """A non-empty collection of ``enum`` members. A lone member (or a string, which would be
    read letter by letter) is refused, so ``until="FINISHED"`` fails at once."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidInputError(
            f"{name} must be a collection of {enum.__name__} values, got {values!r}"
        )
    out: set[E] = set()
    for value in values:
        if not isinstance(value, enum):
            raise InvalidInputError(f"{name} must hold {enum.__name__} values, got {value!r}")
        out.add(value)
    if not out:
        raise InvalidInputError(f"{name} must name at least one {enum.__name__}")
    return out


def seconds(
    name: str, value: object, *, allow_none: bool = False, minimum: float = 0.0
) -> float | None:
    """A finite number of seconds greater than ``minimum`` (or None when ``allow_none``)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError(f"{name} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value <= minimum:
        raise InvalidInputError(
            f"{name} must be a finite number of seconds > {minimum:g}, got {value!r}"
        )
    return float(value)
