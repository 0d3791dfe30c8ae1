"""Independent per-function work (packaging, uploads) run concurrently with anyio.

The first failure is re-raised as itself rather than inside an ExceptionGroup, so the stage
that called us reports it like any other error."""

from collections.abc import Callable
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
