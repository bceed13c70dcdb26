"""Relay-style connections (edges, cursors, pageInfo) over a domain ``Page``."""

from __future__ import annotations

from typing import Generic, TypeVar

import strawberry
from strawberry.types import Info

from app.pagination import Page

NodeT = TypeVar("NodeT")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    _page: strawberry.Private[Page[NodeT]]

    @strawberry.field(description="Rows matching the filter, over all pages (costs one COUNT query).")
    async def total_count(self, info: Info) -> int:
        if self._page.count_query is None:
            return len(self.edges)
        async with info.context.db.read() as session:
            return int((await session.execute(self._page.count_query)).scalar_one())

    @classmethod
    def of(cls, page: Page[NodeT]) -> Connection[NodeT]:
        return cls(
            edges=[Edge(cursor=c, node=n) for c, n in zip(page.cursors, page.items)],
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=page.start_cursor,
                end_cursor=page.end_cursor,
            ),
            _page=page,
        )
