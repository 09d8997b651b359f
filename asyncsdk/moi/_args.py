"""How MOI's listings spell sorting: one pair of arguments, ``order_by`` and ``descending``,
whatever each endpoint calls them on the wire (``order_by``/``is_desc``,
``sort_field``/``sort_order``, ``sorter.sort_by``/``sorter.is_desc``)."""

from __future__ import annotations

from collections.abc import Collection

from .._core import checks

__all__ = ["order_by_field", "sort_order"]


def order_by_field(value: object, allowed: Collection[str] | None = None) -> str | None:
    """``order_by``: a field name (one of ``allowed`` when the service documents them)."""
    if value is None:
        return None
    if allowed is not None:
        return checks.choice("order_by", value, allowed)
    return checks.text("order_by", value)


def sort_order(descending: object) -> str | None:
    """``descending`` as the BYOA listings' ``sort_order``."""
    flag = checks.optional_bool("descending", descending)
    if flag is None:
        return None
    return "descend" if flag else "ascend"
