"""Enums that keep values they do not know.

A service adds an enum value long before an SDK release knows it (MOI's file types grew from 11
to 35 values in a year). Failing to parse a whole page because one item carries a new value is
the worst outcome for a bulk job, so unknown values become pseudo-members named ``UNKNOWN_<v>``
that compare equal to the raw value.
"""

from __future__ import annotations

from enum import Enum, IntEnum
from typing import Any, TypeVar

__all__ = ["OpenIntEnum", "OpenStrEnum"]

_E = TypeVar("_E", bound=Enum)


def _remember(cls: type[_E], member: _E, value: Any) -> _E:
    # Cache the pseudo-member so identity comparisons (``is``) hold for repeated values.
    cls._value2member_map_[value] = member
    return member


class OpenIntEnum(IntEnum):
    """An ``IntEnum`` that accepts values it does not list (and numeric strings)."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return cls(int(value))
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        member = int.__new__(cls, value)
        member._name_ = f"UNKNOWN_{value}"
        member._value_ = value
        return _remember(cls, member, value)


class OpenStrEnum(str, Enum):
    """A string enum that accepts values it does not list; matching is case-insensitive."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        lowered = value.lower()
        for member in cls:
            if member.value.lower() == lowered:
                return member
        member = str.__new__(cls, value)
        member._name_ = f"UNKNOWN_{value}"
        member._value_ = value
        return _remember(cls, member, value)

    def __str__(self) -> str:
        return str(self.value)
