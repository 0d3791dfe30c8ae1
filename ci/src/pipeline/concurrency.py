"""Independent work run concurrently with anyio: per-function work (packaging, uploads) and the
promotion's stage graph.

The first failure is re-raised as itself rather than inside an ExceptionGroup, so the stage
that called us reports it like any other error."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import anyio

T = TypeVar("T")


def _first_leaf(group: BaseExceptionGroup) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def map_threads(func: Callable[..., T], items: list[tuple]) -> list[T]:
    """func(*item) for every item, in worker threads; results in the items' order."""
    results: dict[int, T] = {}

    async def one(index: int, item: tuple) -> None:
        results[index] = await anyio.to_thread.run_sync(func, *item)

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for index, item in enumerate(items):
                group.start_soon(one, index, item)

    try:
        anyio.run(main)
    except BaseExceptionGroup as group:
        raise _first_leaf(group) from None
    return [results[index] for index in range(len(items))]


@dataclass(frozen=True)
class Step:
    """One node of a graph: what it runs and the steps that must have passed before it starts."""

    name: str
    run: Callable[[], object]
    needs: tuple[str, ...] = ()


def run_graph(steps: Sequence[Step]) -> None:
    """Run every step as soon as all it needs has passed, independent steps on their own threads.

    After the first failure no step starts; the ones already running finish (a thread cannot be
    stopped mid-call, and a half-made upload or plan is worse than a finished one), and that
    first failure is raised. A step may only need steps listed before it, so there is no cycle."""
    seen: set[str] = set()
    for step in steps:
        unknown = [need for need in step.needs if need not in seen]
        if unknown or step.name in seen:
            raise ValueError(f"step {step.name!r} needs {unknown} before they are listed")
        seen.add(step.name)
    ended = {step.name: anyio.Event() for step in steps}
    passed: set[str] = set()
    failures: list[BaseException] = []

    async def one(step: Step) -> None:
        try:
            for need in step.needs:
                await ended[need].wait()
            if failures or not passed.issuperset(step.needs):
                return
            try:
                await anyio.to_thread.run_sync(step.run)
            except Exception as exc:
                failures.append(exc)
                return
            passed.add(step.name)
        finally:
            ended[step.name].set()

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for step in steps:
                group.start_soon(one, step)

    anyio.run(main)
    if failures:
        raise failures[0]
