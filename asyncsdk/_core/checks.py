"""Checks of caller input shared by every resource: each raises :class:`InvalidInputError`,
naming the argument, before anything is sent."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote

from .errors import InvalidInputError

__all__ = [
    "id_list",
    "int_list",
    "integer",
    "name_list",
    "optional_int_list",
    "path_id",
    "require_id",
    "text",
]


def require_id(name: str, value: object) -> str:
    """An id argument as the wire wants it (a string), rejecting empty or mistyped values."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        kind = type(value).__name__
        raise InvalidInputError(f"{name} must be a string or an integer, got {kind}")
    text = str(value).strip()
    if not text:
        raise InvalidInputError(f"{name} must not be empty")
    return text


def path_id(name: str, value: object) -> str:
    """An id for a URL path segment: checked, then percent-encoded so that no id can change
    which path is called (a ``/`` in an id must not reach another endpoint)."""
    return quote(require_id(name, value), safe="")


def text(name: str, value: object, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(f"{name} must be a string, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise InvalidInputError(f"{name} must not be empty")
    return value


def id_list(name: str, values: object, *, allow_empty: bool = False) -> list[str]:
    """A list of ids (strings on the wire, D11). A lone string is refused: iterating it would
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
