"""The argument checks every resource shares, alone: what each accepts and what it refuses."""

from __future__ import annotations

import pytest

from asyncsdk import InvalidInputError, TaskStatus
from asyncsdk._core import checks
from asyncsdk._core.polling import check_wait


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("abc", "abc"),
        (42, "42"),
        ("a/b", "a%2Fb"),
        ("a b", "a%20b"),
        ("...", "..."),
        ("..a", "..a"),
        ("%2e%2e", "%252e%252e"),
        ("é", "%C3%A9"),
        (" x ", "x"),
    ],
)
def test_path_segment_encodes_an_id_as_one_segment(value: object, segment: str) -> None:
    assert checks.path_segment("job_id", value) == segment


@pytest.mark.parametrize(
    "value", ["", " ", ".", "..", " .. ", "a\nb", "a\x7fb", "\u2028", None, True, 1.5, b"id"]
)
def test_path_segment_refuses_what_would_leave_or_blur_the_segment(value: object) -> None:
    with pytest.raises(InvalidInputError, match="job_id"):
        checks.path_segment("job_id", value)


@pytest.mark.parametrize(("value", "number"), [("100004", 100004), (7, 7), (" 12 ", 12)])
def test_numeric_id_reads_ascii_digits(value: object, number: int) -> None:
    assert checks.numeric_id("connector_id", value) == number


@pytest.mark.parametrize("value", ["²", "١٢", "12a", "-1", "1.0", "", True])
def test_numeric_id_refuses_anything_else(value: object) -> None:
    with pytest.raises(InvalidInputError, match="connector_id"):
        checks.numeric_id("connector_id", value)


def test_members_takes_a_collection_of_members_only() -> None:
    assert checks.members("until", (TaskStatus.PAUSED,), TaskStatus) == {TaskStatus.PAUSED}
    for bad in ("FINISHED", TaskStatus.PAUSED, [], [3], None):
        with pytest.raises(InvalidInputError, match="until"):
            checks.members("until", bad, TaskStatus)


@pytest.mark.parametrize(
    ("max_wait", "interval", "max_interval", "named"),
    [
        (float("inf"), 1, 2, "max_wait"),
        (0, 1, 2, "max_wait"),
        ("5", 1, 2, "max_wait"),
        (None, 0, 2, "interval"),
        (None, float("nan"), 2, "interval"),
        (None, 3, 2, "max_interval"),
        (None, 1, True, "max_interval"),
    ],
)
def test_a_wait_refuses_its_arguments_by_name(
    max_wait: object, interval: object, max_interval: object, named: str
) -> None:
    with pytest.raises(InvalidInputError, match=named):
        check_wait(max_wait, interval, max_interval)


def test_booleans_and_choices_do_not_read_truthy_values() -> None:
    for bad in ("false", 0, None):
        with pytest.raises(InvalidInputError, match="descending"):
            checks.boolean("descending", bad)
    assert checks.optional_bool("descending", None) is None
    with pytest.raises(InvalidInputError, match="order_by"):
        checks.choice("order_by", "name", ("created_at",))
