"""The documentation holds together: ``help()`` on a client lists every resource it has, every
link ``docs/<page>.md#<anchor>`` the code or the README makes exists, and the docs point at
nothing outside the repository."""

from __future__ import annotations

import pydoc
import re
from pathlib import Path

import pytest

from asyncsdk import MaxirClient, MOIClient

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# A link into the docs as code and README write it: docs/wire/moi.md#d6
DOC_LINK = re.compile(r"docs/([\w/.-]+\.md)#([\w-]+)")
EXPLICIT_ANCHOR = re.compile(r"\{#([\w-]+)\}")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*(\{#[\w-]+\})?\s*$", re.MULTILINE)


def resources(client: object, package: str) -> list[str]:
    """The public attributes of a client that are its service's resource objects."""
    return sorted(
        name
        for name, value in vars(client).items()
        if not name.startswith("_") and type(value).__module__.startswith(package)
    )


async def test_help_lists_every_moi_resource() -> None:
    client = MOIClient("http://127.0.0.1:9", account_name="a", username="u", password="p")
    try:
        names = resources(client, "asyncsdk.moi")
    finally:
        await client.aclose()
    assert {"connectors", "tasks", "workflows", "jobs", "volumes", "metrics"} <= set(names)
    text = pydoc.plain(pydoc.render_doc(MOIClient))
    for name in [*names, "volumes.raw", "volumes.processed"]:
        assert f"``{name}``" in text, name


async def test_help_lists_every_maxir_resource() -> None:
    client = MaxirClient("http://127.0.0.1:9", api_key="k", user_id="tmm-1")
    try:
        names = resources(client, "asyncsdk.maxir")
    finally:
        await client.aclose()
    assert {"datasets", "datasources"} <= set(names)
    text = pydoc.plain(pydoc.render_doc(MaxirClient))
    for name in names:
        assert f"``{name}``" in text, name


def _slug(heading: str) -> str:
    # What the Markdown toc extension makes of a heading without an explicit id.
    text = re.sub(r"[^\w\s-]", "", heading.replace("`", "")).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(page: Path) -> set[str]:
    text = page.read_text(encoding="utf-8")
    found = set(EXPLICIT_ANCHOR.findall(text))
    found.update(_slug(m.group(1)) for m in HEADING.finditer(text) if not m.group(2))
    return found


def _sources() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md"]
    for folder in ("asyncsdk", "tests", "benchmarks"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return files + sorted((ROOT / "benchmarks").rglob("*.md"))


def test_every_docs_link_in_the_code_and_readme_resolves() -> None:
    links = [
        (path.relative_to(ROOT), page, anchor)
        for path in _sources()
        for page, anchor in DOC_LINK.findall(path.read_text(encoding="utf-8"))
    ]
    broken = [
        f"{where}: docs/{page}#{anchor}"
        for where, page, anchor in links
        if not (DOCS / page).is_file() or anchor not in anchors(DOCS / page)
    ]
    assert not broken, broken


@pytest.mark.parametrize("page", sorted(p.relative_to(DOCS) for p in DOCS.rglob("*.md")))
def test_docs_point_at_nothing_outside_the_repository(page: Path) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    assert not re.search(r"MOI-API\.md|MAXIR-API\.md|DESIGN\.md|shared[/]", text)


def test_every_decision_has_its_anchor() -> None:
    assert {f"d{n}" for n in range(1, 28)} <= anchors(DOCS / "wire" / "moi.md")
    assert {f"m{n}" for n in range(1, 25)} <= anchors(DOCS / "wire" / "maxir.md")
