"""What MOI's unpaged listings share: reading ``data[key]`` where null means "none"."""

from __future__ import annotations

from typing import Any


def listing(data: Any, key: str) -> list[Any]:
    """``data[key]`` of a list answer, where null or a missing key means "none"."""
    if not isinstance(data, dict):
        raise TypeError(f"expected an object with {key!r}, got {type(data).__name__}")
    items = data.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise TypeError(f"{key!r} must be a list, got {type(items).__name__}")
    return items
