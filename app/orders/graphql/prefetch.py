"""Load what a list query's selection will ask for before the tree is walked.

With the data already in the request's DataLoaders, nested fields resolve synchronously
(``loaders.from_tree``): no coroutine, task or future per item. A domain registers which field
names need which loads; asking for more than is used costs a statement, never a wrong answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

Prefetcher = Callable[[Any, list[int]], Awaitable[Any]]  # (context, customer order ids)
PREFETCHERS: list[tuple[frozenset[str], Prefetcher]] = []


def register(fields: Iterable[str], prefetcher: Prefetcher) -> None:
    """``prefetcher`` runs when any of ``fields`` is selected below a list of customer orders."""
    PREFETCHERS.append((frozenset(fields), prefetcher))


def _names(selections: list[Selection], into: set[str]) -> set[str]:
    for s in selections:
        if isinstance(s, SelectedField):
            into.add(s.name)
        if isinstance(s, (SelectedField, FragmentSpread, InlineFragment)):
            _names(s.selections, into)
    return into


async def prefetch(info: Info, order_ids: list[int]) -> None:
    if not order_ids or not PREFETCHERS:
        return
    names = _names(list(info.selected_fields), set())
    for fields, prefetcher in PREFETCHERS:
        # One after the other: each batch reads in its own short session, and in parallel a request would
        # hold several pooled connections at once (8 concurrent dashboards then exhaust the pool and
        # overflow connections are opened and closed per request).
        if fields & names:
            await prefetcher(info.context, order_ids)
