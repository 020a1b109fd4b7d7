"""One page of a list, and counting that stops early: shared by every read-side query.

A list page of 100,000+ matches would cost more to count exactly than to show, so lists
count up to :data:`COUNT_CAP` and say "1,000+" beyond it (``Page.more``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")

#: Lists count at most this many matches (an exact count of 100,000+ rows on every page
#: view costs more than the page itself); beyond it the total is shown as "1,000+".
#: Read as ``paging.COUNT_CAP`` at call time, so a test can lower it for every list.
COUNT_CAP = 1_000


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
    more: bool = False   # total is a lower bound: counting stopped at COUNT_CAP

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size), self.page + 1 if self.more else 1)


def capped_count(session: Session, stmt: Select, cap: int | None = None) -> tuple[int, bool]:
    """(matches, more): the rows of ``stmt`` counted up to ``cap`` (default COUNT_CAP)."""
    cap = COUNT_CAP if cap is None else cap
    n = session.execute(select(func.count()).select_from(stmt.limit(cap + 1).subquery())).scalar() or 0
    return min(int(n), cap), n > cap
