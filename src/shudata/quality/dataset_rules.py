"""Dataset-level rules: row counts, timeliness, and distribution checks against the previous
version (row-count change, null-rate change, new categories) that catch broken feeds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shudata.quality import rules as R
from shudata.quality.compile import transpile
from shudata.quality.compile_exprs import Ctx, is_missing, qi, text
from shudata.quality.rule_base import RuleBase
from shudata.query.engines.base import Engine, Limits

if TYPE_CHECKING:
    from shudata.quality.run import Target

Verdict = tuple[int, str | None, bool]  # failed (0/1), detail, skipped
LIMITS = Limits(timeout_s=3600.0)


@dataclass(frozen=True)
class DatasetContext:
    engine: Engine
    target: Target
    previous: Target | None
    rows: int
    newest_dates: Mapping[str, str | None]
    as_of: dt.date
    max_age_days: int | None
    version_created_at: dt.datetime | None
    ctx: Ctx


def _one(d: DatasetContext, sql: str, *targets: Target) -> dict[str, Any]:
    tables = {t.source.name: t.source for t in targets}
    rows = d.engine.query(transpile(sql, d.engine.dialect), tables, LIMITS).to_pylist()
    return rows[0] if rows else {}


def _row_count(r: R.RowCount, d: DatasetContext) -> Verdict:
    bad = (r.min is not None and d.rows < r.min) or (r.max is not None and d.rows > r.max)
    return int(bad), f"行数 {d.rows} / rows {d.rows}", False


def _timeliness(r: R.Timeliness, d: DatasetContext) -> Verdict:
    days = r.max_age_days or d.max_age_days
    if days is None:
        return 0, "未设定更新周期 / no update cycle", True
    if r.column:
        newest = d.newest_dates.get(r.column)
        if newest is None:
            return 1, f"“{r.column}”中没有可识别的日期 / no recognisable date", False
        age = (d.as_of - dt.date.fromisoformat(str(newest)[:10])).days
        detail = f"最新日期 {newest}，距今 {age} 天（上限 {days} 天）/ newest {newest}, {age} days old"
        return int(age > days), detail, False
    if d.version_created_at is None:
        return 0, "没有数据版本 / no version", True
    age = (d.as_of - d.version_created_at.date()).days
    return int(age > days), f"最新版本已 {age} 天（上限 {days} 天）/ latest version {age} days old", False


def _prev_rows(d: DatasetContext) -> int:
    if d.previous is None:  # an invariant, not input: a bug if it breaks
        raise RuntimeError("d.previous is unexpectedly None")
    return int(_one(d, f"SELECT COUNT(*) AS n FROM {qi(d.previous.source.name)}", d.previous)["n"])


def _row_count_change(r: R.RowCountChange, d: DatasetContext) -> Verdict:
    if d.previous is None:
        return 0, "没有上一版本 / no previous version", True
    prev = _prev_rows(d)
    change = abs(d.rows - prev) / prev if prev else (1.0 if d.rows else 0.0)
    detail = f"上一版本 {prev} 行，本版本 {d.rows} 行，变化 {change:.1%} / change {change:.1%}"
    return int(change > r.max_change), detail, False


def _null_rate(d: DatasetContext, t: Target, column: str) -> float:
    v = text(column, Ctx(column_types=dict(t.types), placeholders=d.ctx.placeholders))
    row = _one(d, f"SELECT COUNT(*) AS n, SUM(CASE WHEN {is_missing(v, d.ctx)} THEN 1 ELSE 0 END) AS m "
                  f"FROM {qi(t.source.name)}", t)
    n = int(row["n"])
    return int(row["m"] or 0) / n if n else 0.0


def _null_rate_change(r: R.NullRateChange, d: DatasetContext) -> Verdict:
    if d.previous is None or r.column not in d.previous.columns:
        return 0, "没有可比较的上一版本 / no comparable previous version", True
    now, before = _null_rate(d, d.target, r.column), _null_rate(d, d.previous, r.column)
    delta = abs(now - before)
    return int(delta > r.max_delta), f"空值率 {before:.1%} → {now:.1%} / null rate {before:.1%} → {now:.1%}", False


def _new_categories(r: R.NewCategories, d: DatasetContext) -> Verdict:
    if d.previous is None or r.column not in d.previous.columns:
        return 0, "没有可比较的上一版本 / no comparable previous version", True
    cur = text(r.column, Ctx(column_types=dict(d.target.types)))
    old = text(r.column, Ctx(column_types=dict(d.previous.types)))
    diff = (f"SELECT DISTINCT {cur} AS v FROM {qi(d.target.source.name)} WHERE NOT {is_missing(cur, d.ctx)} "
            f"EXCEPT SELECT DISTINCT {old} AS v FROM {qi(d.previous.source.name)}")
    row = _one(d, f"SELECT COUNT(*) AS n, MIN(v) AS a, MAX(v) AS b FROM ({diff}) AS d", d.target, d.previous)
    n = int(row["n"])
    shown = "、".join(str(x) for x in {row["a"], row["b"]} if x is not None)
    return int(n > r.max_new), f"新出现 {n} 个取值（如 {shown}）/ {n} new values", False


HANDLERS = {"row_count": _row_count, "timeliness": _timeliness, "row_count_change": _row_count_change,
            "null_rate_change": _null_rate_change, "new_categories": _new_categories}


def evaluate_dataset_rule(rule: RuleBase, d: DatasetContext) -> Verdict:
    handler: Any = HANDLERS[rule.type]
    verdict: Verdict = handler(rule, d)
    return verdict
