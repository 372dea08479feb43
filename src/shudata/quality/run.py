"""Evaluate a rule set on one table with the query engine → :class:`CheckReport`.

One aggregate query counts the failures of every row rule in a single scan; one more query
fetches a few failing values for the rules that failed; dataset rules add small queries
(previous-version comparisons). Nothing loops over rows in Python.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from shudata.quality.compile import compile_check, failing_rows_sql
from shudata.quality.compile_exprs import Ctx
from shudata.quality.dataset_rules import DatasetContext, evaluate_dataset_rule
from shudata.quality.rule_base import RuleBase
from shudata.quality.rules import RuleSet
from shudata.quality.schemas import CheckReport, ColumnStat, RuleResult, Status
from shudata.quality.score import dimension_scores
from shudata.quality.vectorised import evaluate_vectorised, has_kernel, local_files
from shudata.query.engines.base import Engine, Limits, TableSource

LONG = Limits(timeout_s=3600.0)


@dataclass(frozen=True)
class Target:
    """The table to check: its engine source, columns and Arrow types."""

    source: TableSource
    columns: tuple[str, ...]
    types: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_parquet(cls, name: str, files: Sequence[Path]) -> Target:
        schema = pq.read_schema(files[0])
        return cls(TableSource(name, list(files)), tuple(schema.names),
                   {f.name: str(f.type) for f in schema})


def status_of(rule: RuleBase, passed: bool) -> Status:
    if passed:
        return "pass"
    return {"block": "fail", "warn": "warn", "report": "report"}[rule.severity]  # type: ignore[return-value]


def make_result(rule: RuleBase, *, total: int, failed: int, samples: list[str] | None = None,
                sql: str | None = None, detail: str | None = None, skipped: bool = False) -> RuleResult:
    share = failed / total if total else 0.0
    passed = skipped or share <= rule.threshold
    zh, en = rule.describe()
    return RuleResult(
        key=rule.key, type=rule.type, dimension=rule.dimension_value, severity=rule.severity,
        threshold=rule.threshold, scope=rule.scope, columns=list(rule.columns_used()), sentence_zh=zh,
        sentence_en=en, total=total, failed=failed, percent=round(100.0 * share, 4), passed=passed,
        status="skipped" if skipped else status_of(rule, passed), samples=samples or [], sql=sql, detail=detail)


def _tables(target: Target, lookups: Mapping[str, TableSource], needed: frozenset[str]) -> dict[str, TableSource]:
    tables = {target.source.name: target.source}
    for name in needed:
        tables[name] = lookups[name]
    return tables


def _row_results(engine: Engine, target: Target, rules: list[RuleBase], ctx: Ctx,
                 lookups: Mapping[str, TableSource], samples: int, null_stats: bool, vectorised: bool = True
                 ) -> tuple[int, list[RuleResult], list[ColumnStat], dict[str, str | None]]:
    """Failures of the row rules, nulls per column and newest dates. Rules with a kernel run on
    the vectorised path (:mod:`shudata.quality.vectorised`) when the table is local Parquet;
    the others, and the newest dates, in one SQL query."""
    row_rules = [r for r in rules if r.scope == "row"]
    files = local_files(target.source) if vectorised else None
    fast = [r for r in row_rules if files is not None and has_kernel(r, target.types)]
    fast_keys = {id(r) for r in fast}
    slow = [r for r in rules if id(r) not in fast_keys]
    null_cols = tuple(target.columns) if null_stats else ()
    found: dict[int, tuple[int, list[str]]] = {}  # by id() of the rule: keys may repeat
    nulls: dict[str, int] = {}
    total: int | None = None
    dates: dict[str, str | None] = {}
    if fast and files is not None:
        vec = evaluate_vectorised(engine, files, target.types, fast, null_cols, ctx, lookups)
        total, nulls = vec.rows, vec.nulls
        for r, part in zip(fast, vec.rules, strict=True):
            found[id(r)] = (part.failed, _shown_samples([part.lo, part.hi], samples))
        null_cols = ()
    compiled = compile_check(slow, table=target.source.name, columns=target.columns, ctx=ctx,
                             null_stats=bool(null_cols))
    if total is None or compiled.row_keys or compiled.date_max:
        tables = _tables(target, lookups, compiled.lookups)
        row = engine.query(compiled.sql(engine.dialect), tables, LONG).to_pylist()[0]
        total = int(row["__rows"])
        for i, r in enumerate(x for x in slow if x.scope == "row"):
            found[id(r)] = (int(row[f"__fail{i}"] or 0),
                          _shown_samples([row[f"__lo{i}"], row[f"__hi{i}"]], samples))
        nulls.update({c: int(row[f"__null{n}"] or 0) for n, c in enumerate(compiled.null_columns)})
        dates = {col: row[alias] for alias, col in compiled.date_max}
    results = [make_result(r, total=total, failed=found[id(r)][0], samples=found[id(r)][1],
                           sql=failing_rows_sql(r, table=target.source.name, columns=target.columns, ctx=ctx,
                                                dialect=engine.dialect))
               for r in row_rules]
    cols = [ColumnStat(column=c, nulls=nulls[c], null_rate=round(nulls[c] / total, 6) if total else 0.0)
            for c in (target.columns if null_stats else ())]
    return total, results, cols, dates


def _shown_samples(values: list[object], samples: int) -> list[str]:
    """The smallest and the largest failing value (at most ``samples``)."""
    if samples <= 0:
        return []
    return list(dict.fromkeys(str(v) for v in values if v is not None))[:samples]


def evaluate(engine: Engine, target: Target, rule_set: RuleSet, *, lookups: Mapping[str, TableSource],
             as_of: dt.date | None = None, previous: Target | None = None, max_age_days: int | None = None,
             version_created_at: dt.datetime | None = None, samples: int = 5, null_stats: bool = True,
             placeholders: tuple[str, ...] | None = None, vectorised: bool = True) -> CheckReport:
    """Run every rule of ``rule_set`` on ``target`` and score the dimensions."""
    today = as_of or dt.date.today()
    ctx = Ctx(column_types=dict(target.types), as_of=today)
    if placeholders is not None:
        ctx = Ctx(column_types=dict(target.types), as_of=today, placeholders=placeholders)
    rules = list(rule_set.rules)
    total, results, cols, dates = _row_results(engine, target, rules, ctx, lookups, samples, null_stats,
                                              vectorised)
    dctx = DatasetContext(engine=engine, target=target, previous=previous, rows=total, newest_dates=dates,
                          as_of=today, max_age_days=max_age_days, version_created_at=version_created_at, ctx=ctx)
    for r in rule_set.dataset_rules():
        failed, detail, skipped = evaluate_dataset_rule(r, dctx)
        results.append(make_result(r, total=1, failed=failed, detail=detail, skipped=skipped))
    order = {r.key: n for n, r in enumerate(rules)}
    results.sort(key=lambda x: order[x.key])
    return CheckReport(rows=total, results=results, columns=cols, scores=dimension_scores(results))
