"""Data that moves: rows created and deleted at random positions while clients list them.

A listing that pages by number is only exact if it notices rows moving under it, so the
emulator can move them: with churn on, each request the emulator receives first makes, with
probability ``rate``, one change to the listed data: a new row at a random position of the
listing's order, or a random row deleted. MOI load tasks (ordered by creation time: the new
task gets a creation time between the oldest and the newest) and MAXIR data sources (newest
first: the new one is placed at a random position of its dataset) are moved.

The changes are driven by the request count and a generator seeded with ``seed``, never by the
clock, so a run that sends the same requests sees the same changes::

    async with Emulator(tasks=5000) as emu:
        churn = emu.churn(rate=0.3, seed=7)
        ...
        churn.created, churn.deleted  # the ids, in order

From a shell: ``asyncsdk emulator --churn 0.3`` (seeded by ``--seed``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from attrs import define, field

from ._state import EmulatorState

__all__ = ["TARGETS", "Churn"]

#: What churn can move: MOI load tasks, MAXIR data sources.
TARGETS = ("tasks", "datasources")


def _check_rate(_: object, __: object, value: float) -> None:
    if not 0 <= value <= 1:
        raise ValueError(f"churn rate must be within [0, 1] (changes per request), got {value!r}")


@define
class Churn:
    """The churn of one emulator: its settings, and what it changed so far."""

    #: Probability that a request is preceded by one change (at most one per request).
    rate: float = field(validator=_check_rate)
    seed: int = 0
    #: Which of :data:`TARGETS` move.
    targets: tuple[str, ...] = TARGETS
    #: Ids of the rows created and deleted so far, in order.
    created: list[str] = field(factory=list)
    deleted: list[str] = field(factory=list)
    rng: random.Random = field(init=False)

    def __attrs_post_init__(self) -> None:
        unknown = set(self.targets) - set(TARGETS)
        if unknown:
            raise ValueError(f"churn targets must be among {', '.join(TARGETS)}: {unknown}")
        self.rng = random.Random(self.seed)

    @property
    def changes(self) -> int:
        return len(self.created) + len(self.deleted)


def install(state: EmulatorState, churn: Churn) -> None:
    """Make ``churn`` act before every request ``state``'s emulator receives."""

    def tick() -> None:
        if churn.rate and churn.rng.random() < churn.rate:
            change(state, churn)

    state.tickers.append(tick)


def change(state: EmulatorState, churn: Churn) -> str | None:
    """Make one change now (a row created or deleted), recorded in ``churn``; its id."""
    rng = churn.rng
    tables = _tables(state, churn.targets)
    if not tables:
        return None
    table = tables[rng.randrange(len(tables))]
    create = rng.random() < 0.5
    if table == "tasks":
        changed = _create_task(state, rng) if create else _delete_task(state, rng)
    elif create:
        changed = _create_source(state, rng, table)
    else:
        changed = _delete_source(state, rng, table)
    if changed is not None:
        (churn.created if create else churn.deleted).append(changed)
    return changed


def _tables(state: EmulatorState, targets: Sequence[str]) -> list[str]:
    """The tables that can move: "tasks", and each dataset id (its data sources)."""
    tables = []
    if "tasks" in targets and state.moi_tasks is not None and state.moi_tasks.tasks:
        tables.append("tasks")
    if "datasources" in targets and state.maxir is not None:
        tables += sorted(state.maxir.sources)
    return tables


def _create_task(state: EmulatorState, rng: random.Random) -> str | None:
    store = state.moi_tasks
    assert store is not None
    connectors = store.connectors.connectors
    volumes = state.raw_volumes.volumes
    if not connectors or not volumes:
        return None
    times = [t["created_at"] for t in store.tasks.values()]
    created = rng.randint(min(times), max(times))
    connector = list(connectors.values())[rng.randrange(len(connectors))]
    volume = list(volumes.values())[rng.randrange(len(volumes))]
    task = store._new_task(connector, volume, 4, 0, ["data/"], name=f"churn-{created}")
    # A finished task with no files, created at a time among the others': a random position
    # of the listing's creation-time order.
    task.update(status=4, created_at=created, updated_at=created, start_at=created)
    task["end_at"] = created + 1
    store.version += 1
    return str(task["id"])


def _delete_task(state: EmulatorState, rng: random.Random) -> str | None:
    store = state.moi_tasks
    assert store is not None
    if not store.tasks:
        return None
    task_id = list(store.tasks)[rng.randrange(len(store.tasks))]
    del store.tasks[task_id]
    store.files.pop(task_id, None)
    store.schedule.pop(task_id, None)
    store.active.discard(task_id)
    store.paused_at.pop(task_id, None)
    store.version += 1
    return task_id


def _create_source(state: EmulatorState, rng: random.Random, dataset_id: str) -> str | None:
    store = state.maxir
    assert store is not None
    source = store.add_source(
        dataset_id, f"churn-{store._serial:08d}.csv", size=1024, fixed_status="synched"
    )
    # Sources list newest first (insertion order reversed): move the new one to a random place.
    sources = store.sources[dataset_id]
    rows: list[tuple[str, Any]] = list(sources.items())
    rows.insert(rng.randrange(len(rows)), rows.pop())
    sources.clear()
    sources.update(rows)
    return str(source["id"])


def _delete_source(state: EmulatorState, rng: random.Random, dataset_id: str) -> str | None:
    store = state.maxir
    assert store is not None
    sources = store.sources[dataset_id]
    if not sources:
        return None
    source_id = list(sources)[rng.randrange(len(sources))]
    store.remove_source(dataset_id, source_id)
    return source_id
