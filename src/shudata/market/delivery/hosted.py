"""Hosted jobs (托管 / 数据可用不可见): the buyer's SQL runs inside the platform; only a result that
passes the seller's release rules leaves.

The pipeline, over the product's delivered (masked) view and the SQL sandbox (steps 1, 2 and the
group-size check are :mod:`shudata.query.release`, shared with the analysis package's published indicators):

1. :func:`analyse` — one read-only SELECT whose every output column is an aggregate or a
   GROUP BY key (sqlglot); aggregates that copy a row's value (MIN, MAX, ANY_VALUE, LIST,
   STRING_AGG, MEDIAN, MODE, quantiles …) and window functions are refused, so are ``*``
   and set operations at the top;
2. :func:`with_group_count` — ``COUNT(*)`` per group is computed alongside;
3. the SQL sandbox (:func:`shudata.query.sandbox.compile_sandboxed`) checks and rewrites
   the statement against the product's table, and the engine runs it;
4. release checks: every group has at least ``k`` rows; no released group key is flagged
   personal by the detectors (:func:`shudata.privacy.detect.classify.scan_table`);
5. optional differential privacy: Laplace noise on counts (sensitivity 1) and on sums of
   columns the seller bounded (values clamped in SQL; sensitivity ``max(|lo|, |hi|)``),
   the ε charged to the buyer's budget by the caller.

A refusal is :class:`HostedRefused` (422, code ``hosted_refused``) with the reason in Chinese
and nothing released.

>>> analyse('SELECT "市州", COUNT(*) AS n, AVG("收入") FROM t GROUP BY "市州"').group_keys
('"市州"',)
>>> analyse('SELECT "姓名" FROM t')
Traceback (most recent call last):
...
shudata.market.delivery.hosted.HostedRefused: 托管计算只能发布聚合结果：输出列“"姓名"”既不是聚合也不是分组键
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field
from sqlglot import exp

from shudata.core.errors import InvalidInput
from shudata.privacy.detect.classify import scan_table
from shudata.privacy.dp import default_rng, laplace
from shudata.query import release
from shudata.query.access import ResolvedTable, TableAccess
from shudata.query.context import SandboxContext, mapping_resolver
from shudata.query.engines.base import Engine, Limits, TableSource
from shudata.query.release import GROUP_COUNT, Analysis, ReleaseRefused
from shudata.query.sandbox import RULES, compile_sandboxed


class HostedRefused(ReleaseRefused):
    """A hosted job's SQL or result does not pass the release rules (nothing is released)."""

    default_code = "hosted_refused"


class ReleaseRules(BaseModel):
    """The seller's release rules for hosted jobs on one product.

    ``min_group_size`` is ``k``; ``epsilon`` (optional) is the differential-privacy budget one
    job spends; ``dp_bounds`` declares ``[lo, hi]`` for each column whose SUM may be released
    under differential privacy.
    """

    model_config = ConfigDict(frozen=True)

    min_group_size: int = Field(default=10, ge=2, le=100_000)
    epsilon: float | None = Field(default=None, gt=0, le=10)
    dp_bounds: dict[str, tuple[float, float]] = Field(default_factory=dict)


def _refuse(zh: str, en: str, rule: str, **details: Any) -> HostedRefused:
    return HostedRefused(zh, en, rule=rule, **details)


def analyse(sql: str) -> Analysis:
    """Check that ``sql`` releases aggregates only (:func:`shudata.query.release.analyse`)."""
    return release.analyse(sql, refused=HostedRefused)


def with_group_count(analysis: Analysis, rules: ReleaseRules) -> exp.Select:
    """The query with ``COUNT(*)`` per group alongside and, under differential privacy, SUM
    arguments clamped to the seller's bounds (other aggregates but COUNT refused)."""
    tree = analysis.tree.copy()
    if rules.epsilon is not None:
        tree = _clamped(tree, rules)
    return tree.select(exp.alias_(exp.Count(this=exp.Star()), GROUP_COUNT, quoted=True), copy=False)


def _clamped(tree: exp.Select, rules: ReleaseRules) -> exp.Select:
    for agg in list(tree.find_all(exp.AggFunc)):
        if isinstance(agg, exp.Count):
            continue
        col = agg.this if isinstance(agg, exp.Sum) else None
        name = col.name if isinstance(col, exp.Column) else None
        if col is None or name is None or name not in rules.dp_bounds:
            raise _refuse(f"启用差分隐私时只能发布 COUNT 和卖方给出上下界的列的 SUM（“{agg.sql('duckdb')}”不符合）",
                          f"Under differential privacy only COUNT and SUM of bounded columns are released "
                          f"({agg.sql('duckdb')!r} is not)", "dp_aggregate", expression=agg.sql("duckdb"))
        lo, hi = rules.dp_bounds[name]
        clamp = exp.func("LEAST", exp.func("GREATEST", col.copy(), exp.Literal.number(lo)), exp.Literal.number(hi))
        agg.set("this", clamp)
    return tree


@dataclass
class HostedResult:
    """A released result: the table (without the group counts), the groups, the ε spent."""

    table: pa.Table
    groups: int
    epsilon: float | None = None
    noise: dict[str, float] = field(default_factory=dict)


def _check_groups(result: pa.Table, k: int) -> None:
    release.check_groups(result, k, refused=HostedRefused)


def _check_personal(result: pa.Table, analysis: Analysis, findings: Mapping[str, str | None] | None) -> None:
    """Refuse when a released group key is personal (aggregates are numbers over at least ``k`` rows;
    the keys are the values that leave as they are). A key that is a plain column of the product is
    judged by the detectors' findings on that column (``findings``, from the version's scan), when
    given: flagged is refused, clean is released; any other key is scanned in the result."""
    keys: list[str] = []
    found: list[str] = []
    for name, proj in zip(result.column_names, analysis.tree.expressions, strict=False):
        inner = proj.this if isinstance(proj, exp.Alias) else proj
        if not analysis.is_key(proj):
            continue
        if findings is not None and isinstance(inner, exp.Column) and inner.name in findings:
            if findings[inner.name]:
                found.append(f"{name}（{findings[inner.name]}）")
            continue
        keys.append(name)
    if result.num_rows and keys:
        found += [f"{c.column}（{c.entity}）" for c in scan_table(result.select(keys), source="hosted").columns
                  if c.entity]
    if found:
        raise _refuse(f"结果中含有识别为个人信息的列：{'、'.join(found)}，不予发布",
                      f"Columns detected as personal data in the result: {', '.join(found)}", "personal_output",
                      columns=found)


def _noised(result: pa.Table, analysis: Analysis, rules: ReleaseRules,
            rng: np.random.Generator) -> tuple[pa.Table, dict[str, float]]:
    """Laplace noise on every aggregate column, ε split evenly over them (sequential composition)."""
    if rules.epsilon is None:
        return result, {}
    agg_cols = [(i, p) for i, p in enumerate(analysis.tree.expressions) if not analysis.is_key(p)]
    if not agg_cols:
        return result, {}
    eps = rules.epsilon / len(agg_cols)
    scales: dict[str, float] = {}
    for i, proj in agg_cols:
        inner = proj.this if isinstance(proj, exp.Alias) else proj
        sens = 1.0
        if isinstance(inner, exp.Sum):
            lo, hi = rules.dp_bounds[inner.this.name if isinstance(inner.this, exp.Column) else
                                     inner.find(exp.Column).name]  # type: ignore[union-attr]
            sens = max(abs(lo), abs(hi))
        name = result.column_names[i]
        values = [None if v is None else laplace(float(v), sens, eps, rng) for v in result.column(i).to_pylist()]
        result = result.set_column(i, name, pa.array(values, pa.float64()))
        scales[name] = sens / eps
    return result, scales


def run_hosted(sql: str, *, table: str, source: TableSource, columns: tuple[str, ...], rules: ReleaseRules,
               engine: Engine, limits: Limits, rng: np.random.Generator | None = None,
               findings: Mapping[str, str | None] | None = None) -> HostedResult:
    """Run a hosted job over ``source`` (the product's delivered view, known to the SQL as
    ``table``) and return what may be released, or raise :class:`HostedRefused`. ``findings``
    (column → detected entity type of the source version) spare scanning plain-column keys."""
    analysis = analyse(sql)
    tree = with_group_count(analysis, rules)
    engine_sql = _sandboxed(tree, table, source, columns, limits)
    result = engine.query(engine_sql, {source.name: source}, limits)
    _check_groups(result, rules.min_group_size)
    released = result.drop_columns([GROUP_COUNT])
    _check_personal(released, analysis, findings)
    released, noise = _noised(released, analysis, rules, rng or default_rng())
    return HostedResult(table=released, groups=result.num_rows, epsilon=rules.epsilon, noise=noise)


def _sandboxed(tree: exp.Expr, table: str, source: TableSource, columns: tuple[str, ...], limits: Limits) -> str:
    """The SQL sandbox's rules (:data:`shudata.query.sandbox.RULES`: read-only, allow-listed functions,
    the product's table only, the row cap) over the already parsed and analysed tree."""
    resolved = {table: ResolvedTable(source.name, columns, TableAccess(columns=columns))}
    ctx = SandboxContext(resolve=mapping_resolver(resolved), max_rows=limits.max_rows, dialect="duckdb")
    try:
        for rule in RULES:
            tree = rule(tree, ctx)
    except RecursionError:
        raise InvalidInput("SQL 嵌套层数过深，请简化表达式", "The SQL is nested too deeply; simplify it",
                           code="sql_too_deep") from None
    return tree.sql(dialect="duckdb", comments=False)


def run_plain(sql: str, *, table: str, source: TableSource, columns: tuple[str, ...], engine: Engine,
              limits: Limits) -> pa.Table:
    """The same SQL in the plain sandbox (no release rules): the baseline of the benchmark."""
    resolved = {table: ResolvedTable(source.name, columns, TableAccess(columns=columns))}
    return engine.query(compile_sandboxed(sql, resolved, max_rows=limits.max_rows), {source.name: source}, limits)


def source_of(path: Path, name: str = "hosted_product") -> TableSource:
    return TableSource(name=name, files=[path])


def describe(rules: ReleaseRules) -> Mapping[str, Any]:
    """The rules as the buyer sees them (Chinese labels)."""
    out: dict[str, Any] = {"最小分组规模": rules.min_group_size, "只发布聚合结果": True, "个人信息列不予发布": True}
    if rules.epsilon is not None:
        out["差分隐私 ε"] = rules.epsilon
    return out
