"""Time, row and byte limits, and the paging of capped results.

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

A page is bounded in bytes as well as rows: :func:`shudata.lake.measure.rows_within` measures each row of the
Arrow page (text and binary by their length, other values by a fixed allowance) before any
of it becomes JSON, and says how many rows fit.

>>> import pyarrow as pa
>>> t = pa.table({"s": ["ab", "x" * 100, "c"], "n": [1, 2, 3]})
>>> row_sizes(t).tolist()
[30, 128, 29]
>>> rows_within(t, 200), rows_within(t, 180), rows_within(t, 10)
(3, 2, 0)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp

from shudata.core.config import Settings
from shudata.core.errors import PayloadTooLarge
from shudata.lake.measure import row_sizes, rows_within
from shudata.query.engines.base import Limits

__all__ = ["PageWindow", "bounded_batches", "collect_within", "count_query", "limits_for", "page_query",
           "result_too_large", "row_sizes", "row_too_large", "rows_within"]



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
    select = exp.select("*").from_(sub, copy=False).limit(window.fetch, copy=False)  # one copy of the tree, not three
    return select.offset(window.offset, copy=False) if window.offset else select


def count_query(tree: exp.Expr) -> exp.Select:
    """``SELECT count(*) FROM (<capped query>)``."""
    sub = exp.Subquery(this=tree.copy(), alias=exp.TableAlias(this=exp.to_identifier("_count")))
    return exp.select(exp.Count(this=exp.Star())).from_(sub, copy=False)


def row_too_large(size: int, max_bytes: int, setting: str) -> PayloadTooLarge:
    """One row alone passes the byte limit: nothing can be shown, say why and what to do."""
    env = f"SHUDATA_{setting.upper()}"
    return PayloadTooLarge(
        f"结果的一行约 {size} 字节，超过单次结果上限 {max_bytes} 字节（设置 {env}）；"
        "请少选列或截短长文本（如 left(列, 1000)）",
        f"One row of the result is about {size} bytes, more than the {max_bytes}-byte limit of one answer "
        f"(setting {env}); select fewer columns or shorten long text (e.g. left(col, 1000))",
        code="result_too_large", details={"limit": max_bytes, "found": size, "setting": env})


def result_too_large(max_bytes: int, setting: str) -> PayloadTooLarge:
    env = f"SHUDATA_{setting.upper()}"
    return PayloadTooLarge(
        f"下载结果超过 {max_bytes} 字节的上限（设置 {env}），已停止生成；"
        "请增加筛选条件、少选列或分页获取（offset/limit）",
        f"The download passes the {max_bytes}-byte limit (setting {env}) and was stopped; filter, select fewer "
        "columns or fetch it in pages (offset/limit)",
        code="result_too_large", details={"limit": max_bytes, "setting": env})


def bounded_batches(batches: Iterable[pa.RecordBatch], max_bytes: int, setting: str) -> Iterator[pa.RecordBatch]:
    """Pass ``batches`` through, refusing (413) once their rows add up to more than ``max_bytes``."""
    total = 0
    for batch in batches:
        total += int(row_sizes(batch).sum())
        if total > max_bytes:
            raise result_too_large(max_bytes, setting)
        yield batch


def collect_within(schema: pa.Schema, batches: Iterable[pa.RecordBatch], max_bytes: int, setting: str
                   ) -> tuple[pa.Table, bool]:
    """The leading rows of ``batches`` that fit in ``max_bytes``, and whether rows were left
    out. Batches are measured as they come and reading stops at the first that does not fit,
    so no more than one batch past the limit is ever held. A first row that alone passes the
    limit is refused (413): an answer with no rows and no reason would say nothing.

    >>> b = pa.record_batch({"s": ["a" * 10] * 5})
    >>> table, capped = collect_within(b.schema, [b, b], 50, "result_max_bytes")
    >>> table.num_rows, capped
    (3, True)
    """
    kept: list[pa.RecordBatch] = []
    used = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        fit = rows_within(batch, max_bytes - used)
        if fit < batch.num_rows:
            if fit == 0 and not kept:
                raise row_too_large(int(row_sizes(batch.slice(0, 1))[0]), max_bytes, setting)
            kept.append(batch.slice(0, fit))
            return pa.Table.from_batches(kept, schema=schema), True
        kept.append(batch)
        used += int(row_sizes(batch).sum())
    return pa.Table.from_batches(kept, schema=schema), False
