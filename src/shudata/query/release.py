"""Release rules for data usable but not visible (数据可用不可见): what an aggregate query may publish.

Shared by the exchange's hosted jobs (:mod:`shudata.market.delivery.hosted`) and the indicators of the
analysis package that are published beyond their owner department (:mod:`shudata.analysis.store`):

1. :func:`analyse` — one read-only SELECT whose every output column is an aggregate or a GROUP BY
   key (sqlglot); aggregates that copy a row's value (MIN, MAX, ANY_VALUE, LIST, STRING_AGG, MEDIAN,
   MODE, quantiles …) and window functions are refused, so are ``*`` and set operations at the top;
2. :func:`group_counted` — ``COUNT(*)`` per group computed alongside (column :data:`GROUP_COUNT`);
3. :func:`check_groups` — every group has at least ``k`` rows.

The detectors' check of the released keys (personal data) is the caller's: it lives in the privacy
package, beside this layer. A refusal is :class:`ReleaseRefused` (422) or the caller's subclass,
with the rule in ``details["rule"]``.

>>> analyse('SELECT "市州", COUNT(*) AS n, AVG("收入") FROM t GROUP BY "市州"').group_keys
('"市州"',)
>>> analyse("SELECT '510000' AS region_code, SUM(x) AS value FROM t", constants=True).outputs
('region_code', 'value')
>>> analyse('SELECT "姓名" FROM t')
Traceback (most recent call last):
...
shudata.query.release.ReleaseRefused: 托管计算只能发布聚合结果：输出列“"姓名"”既不是聚合也不是分组键
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from shudata.core.errors import InvalidInput
from shudata.query.rules.parse import parse_one_statement

GROUP_COUNT = "__group_rows"
# Aggregates whose value is one row's value (or a list of them): refused even with k.
REVEALING = (exp.Min, exp.Max, exp.AnyValue, exp.ArrayAgg, exp.GroupConcat, exp.First, exp.Last, exp.ArgMax,
             exp.ArgMin, exp.Median, exp.Quantile, exp.PercentileCont, exp.PercentileDisc, exp.ApproxQuantile)
REVEALING_NAMES = {"MODE", "LIST", "STRING_AGG", "ARRAY_AGG", "ARBITRARY", "FIRST", "LAST", "HISTOGRAM",
                   "MIN_BY", "MAX_BY", "ARG_MIN", "ARG_MAX", "QUANTILE_CONT", "QUANTILE_DISC", "QUANTILE",
                   "APPROX_QUANTILE", "RESERVOIR_QUANTILE", "ENTROPY", "BITSTRING_AGG", "LISTAGG"}


class ReleaseRefused(InvalidInput):
    """An SQL statement or its result does not pass the release rules (nothing is released)."""

    default_code = "release_refused"

    def __init__(self, zh: str, en: str, *, rule: str, **details: Any) -> None:
        super().__init__(zh, en, code=self.default_code, details={"rule": rule, **details})


@dataclass(frozen=True)
class Analysis:
    tree: exp.Select
    group_keys: tuple[str, ...]  # as SQL text, for messages
    outputs: tuple[str, ...]
    key_exprs: tuple[exp.Expr, ...] = ()  # the same keys as trees (compared structurally)

    def is_key(self, projection: exp.Expr) -> bool:
        """Whether an output column (alias stripped) is one of the GROUP BY keys."""
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        return any(inner == k for k in self.key_exprs)


def _is_revealing(agg: exp.Expr) -> bool:
    if isinstance(agg, REVEALING):
        return True
    name = agg.name.upper() if isinstance(agg, exp.Anonymous) else type(agg).__name__.upper()
    return name in REVEALING_NAMES or (isinstance(agg, exp.Anonymous) and name in REVEALING_NAMES)


def _aggregates(node: exp.Expr) -> list[exp.Expr]:
    return [a for a in node.find_all(exp.AggFunc)] + [a for a in node.find_all(exp.Anonymous)
                                                      if a.name.upper() in REVEALING_NAMES]


def _bare_columns(node: exp.Expr) -> list[exp.Column]:
    """Columns of ``node`` not inside an aggregate (or a subquery)."""
    out = []
    for col in node.find_all(exp.Column):
        parent: exp.Expr | None = col.parent
        while parent is not None:
            if isinstance(parent, exp.AggFunc | exp.Subquery):
                break
            if parent is node:
                parent = None
                break
            parent = parent.parent
        if parent is None:
            out.append(col)
    return out


def _group_keys(tree: exp.Select) -> tuple[exp.Expr, ...]:
    """The GROUP BY expressions, positions (``GROUP BY 1``) resolved to the projection."""
    group = tree.args.get("group")
    if not group:
        return ()
    keys = []
    for e in group.expressions:
        key = e
        if isinstance(e, exp.Literal) and e.is_int and 0 < int(e.this) <= len(tree.expressions):
            proj = tree.expressions[int(e.this) - 1]
            key = proj.this if isinstance(proj, exp.Alias) else proj
        keys.append(key)
    return tuple(keys)


def _constant(node: exp.Expr) -> bool:
    """A value that reads no column, no subquery and no function of the data (a literal, ``'a' || 'b'``)."""
    return not any(isinstance(n, exp.Column | exp.Subquery | exp.Select | exp.Star | exp.Func)
                   for n in node.walk())


def analyse(sql: str, *, constants: bool = False, refused: type[ReleaseRefused] = ReleaseRefused) -> Analysis:
    """Check that ``sql`` releases aggregates only (see the module docstring). ``constants``: an output
    column that reads nothing (a literal such as ``'510000' AS region_code``) is allowed too."""
    tree = parse_one_statement(sql, "duckdb")
    if not isinstance(tree, exp.Select):
        raise refused("托管计算只接受一条 SELECT 聚合查询（不支持 UNION 等集合运算，请分别提交）",
                      "A hosted job is one aggregate SELECT (no UNION or other set operations; submit them one by one)",
                      rule="single_select")
    if tree.find(exp.Window):
        raise refused("托管计算不能使用窗口函数（OVER …）：窗口函数会逐行输出", "Window functions release rows",
                      rule="no_window")
    keys = _group_keys(tree)
    outputs = []
    for proj in tree.expressions:
        label = proj.alias_or_name or proj.sql("duckdb")
        outputs.append(label)
        if isinstance(proj, exp.Star) or (proj.find(exp.Star) and not proj.find(exp.Count)):
            raise refused("托管计算不能输出 *，请列出聚合与分组键", "SELECT * releases rows; list aggregates and keys",
                          rule="no_star")
        inner = proj.this if isinstance(proj, exp.Alias) else proj
        aggs = _aggregates(inner)
        for agg in aggs:
            if _is_revealing(agg):
                raise refused(f"聚合“{agg.sql('duckdb')}”会原样输出某一行的值，托管计算不允许（可用 COUNT、SUM、AVG、"
                              "STDDEV 等）", f"{agg.sql('duckdb')} releases one row's value; use COUNT, SUM, AVG, "
                              "STDDEV …", rule="revealing_aggregate", expression=agg.sql("duckdb"))
        if any(inner == k for k in keys) or (constants and _constant(inner)):
            continue
        bare = _bare_columns(inner)
        if not aggs or any(all(c != k for k in keys) for c in bare):
            label = proj.sql("duckdb")
            raise refused(f"托管计算只能发布聚合结果：输出列“{label}”既不是聚合也不是分组键",
                          f"Hosted jobs release aggregates only: output {label!r} is neither an aggregate nor a "
                          "GROUP BY key", rule="aggregates_only", column=label)
    return Analysis(tree=tree, group_keys=tuple(k.sql("duckdb") for k in keys), outputs=tuple(outputs),
                    key_exprs=keys)


def group_counted(analysis: Analysis) -> exp.Select:
    """The analysed query with ``COUNT(*)`` per group alongside, as :data:`GROUP_COUNT`."""
    return analysis.tree.copy().select(exp.alias_(exp.Count(this=exp.Star()), GROUP_COUNT, quoted=True), copy=False)


def check_groups(result: pa.Table, k: int, *, refused: type[ReleaseRefused] = ReleaseRefused) -> None:
    """Refuse when a group of ``result`` (with its :data:`GROUP_COUNT` column) has fewer than ``k`` rows."""
    counts = result.column(GROUP_COUNT)
    small = int(pc.sum(pc.less(counts, k)).as_py() or 0)
    if small:
        raise refused(f"有 {small} 个分组少于最小分组规模 {k} 条记录，结果不予发布；"
                      "请合并分组（更粗的分组键）或放宽条件",
                      f"{small} group(s) have fewer than {k} rows; nothing is released (group more coarsely)",
                      rule="min_group_size", groups=small, k=k)
