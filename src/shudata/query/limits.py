"""Time and row limits, and the paging of capped results.

The sandbox caps a query at ``cap + 1`` rows so that one extra row tells whether the
cap cut the result. A page is fetched with one extra row too, to know whether another
page follows.

>>> w = PageWindow.of(offset=0, limit=10, cap=25, page_size_max=100)
>>> w.fetch
11
>>> w.settle(fetched=11, counted=None)
(10, None, True, False)
>>> PageWindow.of(offset=20, limit=10, cap=25, page_size_max=100).settle(fetched=6, counted=None)
(5, 25, False, True)
>>> PageWindow.of(offset=0, limit=10, cap=25, page_size_max=100).settle(fetched=3, counted=None)
(3, 3, False, False)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from shudata.core.config import Settings
from shudata.query.engines.base import Limits


def limits_for(settings: Settings, max_rows: int | None = None) -> Limits:
    """The statement time limit from the settings, with an optional row cap."""
    return Limits(timeout_s=settings.query_timeout_s, max_rows=max_rows)


@dataclass(frozen=True)
class PageWindow:
    """Which rows of a capped result one page shows."""

    offset: int
    limit: int
    cap: int

    @classmethod
    def of(cls, *, offset: int, limit: int | None, cap: int, page_size_max: int) -> PageWindow:
        """Clamp the request: ``limit`` to ``1..page_size_max``, ``offset`` to ``0..cap``."""
        size = max(1, min(limit or page_size_max, page_size_max))
        return cls(offset=max(0, min(offset, cap)), limit=size, cap=cap)

    @property
    def fetch(self) -> int:
        """Rows to fetch from ``offset``: the page plus one (capped result has ``cap + 1``)."""
        return self.limit + 1

    def settle(self, *, fetched: int, counted: int | None) -> tuple[int, int | None, bool, bool]:
        """From the rows fetched (and a full count when one was made) work out
        ``(rows to show, total, has_more, truncated)``.

        ``counted`` is the row count of the capped result (at most ``cap + 1``).
        """
        within_cap = max(0, min(fetched, self.cap - self.offset))
        shown = min(within_cap, self.limit)
        past_cap = fetched > within_cap  # a row at index >= cap exists
        has_more = within_cap > self.limit
        if counted is not None:
            return shown, min(counted, self.cap), has_more, counted > self.cap
        if past_cap:
            return shown, self.cap, has_more, True
        if has_more or (fetched == 0 and self.offset > 0):
            return shown, None, has_more, False
        return shown, self.offset + shown, False, False


def page_query(tree: exp.Expr, window: PageWindow) -> exp.Select:
    """``SELECT * FROM (<capped query>) LIMIT fetch OFFSET offset``.

    >>> from sqlglot import parse_one
    >>> page_query(parse_one("SELECT 1 LIMIT 26"), PageWindow(offset=10, limit=5, cap=25)).sql()
    'SELECT * FROM (SELECT 1 LIMIT 26) AS _page LIMIT 6 OFFSET 10'
    """
    sub = exp.Subquery(this=tree.copy(), alias=exp.TableAlias(this=exp.to_identifier("_page")))
    select = exp.select("*").from_(sub).limit(window.fetch)
    return select.offset(window.offset) if window.offset else select


def count_query(tree: exp.Expr) -> exp.Select:
    """``SELECT count(*) FROM (<capped query>)``."""
    sub = exp.Subquery(this=tree.copy(), alias=exp.TableAlias(this=exp.to_identifier("_count")))
    return exp.select(exp.Count(this=exp.Star())).from_(sub)
