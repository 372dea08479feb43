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
                 lookups: Mapping[str, TableSource], samples: int, null_stats: bool
                 ) -> tuple[int, list[RuleResult], list[ColumnStat], dict[str, str | None]]:
    compiled = compile_check(rules, table=target.source.name, columns=target.columns, ctx=ctx,
                             null_stats=null_stats)
    tables = _tables(target, lookups, compiled.lookups)
    row = engine.query(compiled.sql(engine.dialect), tables, LONG).to_pylist()[0]
    total = int(row["__rows"])
    row_rules = [r for r in rules if r.scope == "row"]
    fails = [int(row[f"__fail{i}"] or 0) for i in range(len(row_rules))]
    got: dict[int, list[str]] = {}
    if samples > 0:  # the smallest and the largest failing value, from the same scan
        for i in range(len(row_rules)):
            vals = [row[f"__lo{i}"], row[f"__hi{i}"]]
            got[i] = list(dict.fromkeys(str(v) for v in vals if v is not None))[:samples]
    results = [make_result(r, total=total, failed=fails[i], samples=got.get(i, []),
                           sql=failing_rows_sql(r, table=target.source.name, columns=target.columns, ctx=ctx,
                                                dialect=engine.dialect))
               for i, r in enumerate(row_rules)]
    cols = [ColumnStat(column=c, nulls=int(row[f"__null{n}"] or 0),
                       null_rate=round(int(row[f"__null{n}"] or 0) / total, 6) if total else 0.0)
            for n, c in enumerate(compiled.null_columns)]
    dates = {col: row[alias] for alias, col in compiled.date_max}
    return total, results, cols, dates


def evaluate(engine: Engine, target: Target, rule_set: RuleSet, *, lookups: Mapping[str, TableSource],
             as_of: dt.date | None = None, previous: Target | None = None, max_age_days: int | None = None,
             version_created_at: dt.datetime | None = None, samples: int = 5, null_stats: bool = True,
             placeholders: tuple[str, ...] | None = None) -> CheckReport:
    """Run every rule of ``rule_set`` on ``target`` and score the dimensions."""
    today = as_of or dt.date.today()
    ctx = Ctx(column_types=dict(target.types), as_of=today)
    if placeholders is not None:
        ctx = Ctx(column_types=dict(target.types), as_of=today, placeholders=placeholders)
    rules = list(rule_set.rules)
    total, results, cols, dates = _row_results(engine, target, rules, ctx, lookups, samples, null_stats)
    dctx = DatasetContext(engine=engine, target=target, previous=previous, rows=total, newest_dates=dates,
                          as_of=today, max_age_days=max_age_days, version_created_at=version_created_at, ctx=ctx)
    for r in rule_set.dataset_rules():
        failed, detail, skipped = evaluate_dataset_rule(r, dctx)
        results.append(make_result(r, total=1, failed=failed, detail=detail, skipped=skipped))
    order = {r.key: n for n, r in enumerate(rules)}
    results.sort(key=lambda x: order[x.key])
    return CheckReport(rows=total, results=results, columns=cols, scores=dimension_scores(results))
