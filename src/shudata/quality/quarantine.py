"""Quarantine on ingest: rows failing blocking rules are set aside with their reasons.

:func:`split` runs two complementary queries over the staged table: accepted rows go to a
Parquet file (the new version's data), quarantined rows come back as an Arrow table with
the indexes of the rules they fail. The counts are verified — input rows always equal
accepted + quarantined — and a batch whose quarantined share exceeds the rule set's
``reject_ingest_above`` is refused as a whole, so nothing is half-accepted or silently lost.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shudata.core.errors import Conflict, InvalidInput
from shudata.quality.compile import split_sql, transpile
from shudata.quality.compile_exprs import Ctx, qi
from shudata.quality.rule_base import RuleBase
from shudata.quality.rules import RuleSet
from shudata.quality.run import Target
from shudata.query.engines.base import Engine, Limits, TableSource

ROW_COLUMN = "__row"
LIMITS = Limits(timeout_s=3600.0)


@dataclass(frozen=True)
class QuarantinedRow:
    row_no: int | None
    data: dict[str, object]
    rule_keys: list[str]
    reasons: str


@dataclass(frozen=True)
class QuarantineOutcome:
    input_rows: int
    accepted_rows: int
    quarantined_rows: int
    accepted_file: Path
    rows: list[QuarantinedRow]
    rule_counts: dict[str, int]


def stage_arrow(table: pa.Table, path: Path) -> Target:
    """Write ``table`` with a 1-based ``__row`` column (the row's number in the upload)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    numbered = table.append_column(ROW_COLUMN, pa.array(range(1, table.num_rows + 1), pa.int64()))
    pq.write_table(numbered, path)
    return Target.from_parquet("staged", [path])


def _reason(keys: list[str], by_key: Mapping[str, RuleBase]) -> str:
    return "；".join(f"[{k}] {by_key[k].describe()[0]}" for k in keys)


def _count(engine: Engine, target: Target) -> int:
    sql = transpile(f"SELECT COUNT(*) AS n FROM {qi(target.source.name)}", engine.dialect)
    return int(engine.query(sql, {target.source.name: target.source}, LIMITS).to_pylist()[0]["n"])


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def split(engine: Engine, target: Target, rule_set: RuleSet, *, lookups: Mapping[str, TableSource],
          dest: Path, ctx: Ctx | None = None) -> QuarantineOutcome:
    """Write accepted rows to ``dest``; return the quarantined rows with their reasons."""
    blocking = [r for r in rule_set.row_rules() if r.severity == "block"]
    data_cols = [c for c in target.columns if c != ROW_COLUMN]
    has_row = ROW_COLUMN in target.columns
    ctx = ctx or Ctx(column_types=dict(target.types))
    sqls = split_sql(blocking, table=target.source.name, columns=data_cols + ([ROW_COLUMN] if has_row else []),
                     ctx=ctx, dialect=engine.dialect)
    tables = {target.source.name: target.source, **{n: lookups[n] for n in sqls.lookups}}
    total = _count(engine, target)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".accepted.tmp")
    os.close(fd)
    try:
        accepted_sql = sqls.accepted
        if has_row:
            accepted_sql = transpile(f"SELECT {', '.join(qi(c) for c in data_cols)} FROM ({sqls.accepted}) AS a",
                                     engine.dialect)
        accepted = engine.copy_to_parquet(accepted_sql, tables, Path(tmp), LIMITS)
        bad = engine.query(sqls.quarantined, tables, LIMITS)
        if accepted + bad.num_rows != total:
            raise Conflict(f"隔离校验失败：输入 {total} 行 ≠ 接收 {accepted} + 隔离 {bad.num_rows}，已中止",
                           f"Row accounting failed: {total} != {accepted} + {bad.num_rows}; aborted",
                           code="quarantine_mismatch")
        share = bad.num_rows / total if total else 0.0
        if blocking and share > rule_set.reject_ingest_above:
            raise InvalidInput(
                f"{bad.num_rows}/{total} 行（{share:.0%}）未通过拦截规则，超过整批拒收阈值 "
                f"{rule_set.reject_ingest_above:.0%}；请检查数据源后重新上传",
                f"{bad.num_rows}/{total} rows ({share:.0%}) fail blocking rules, above the "
                f"{rule_set.reject_ingest_above:.0%} limit; the whole batch was refused", code="ingest_rejected")
        os.replace(tmp, dest)
    except BaseException:
        _remove(Path(tmp))
        raise
    return _outcome(total, accepted, dest, bad, blocking, data_cols)


def _outcome(total: int, accepted: int, dest: Path, bad: pa.Table, blocking: list[RuleBase],
             data_cols: list[str]) -> QuarantineOutcome:
    by_key = {r.key: r for r in blocking}
    rows: list[QuarantinedRow] = []
    counts: dict[str, int] = {}
    for rec in bad.to_pylist():
        keys = [blocking[int(i)].key for i in str(rec.pop("__rules") or "").split(",") if i != ""]
        for k in keys:
            counts[k] = counts.get(k, 0) + 1
        row_no = rec.pop(ROW_COLUMN, None)
        rows.append(QuarantinedRow(row_no=row_no, data={c: rec[c] for c in data_cols}, rule_keys=keys,
                                   reasons=_reason(keys, by_key)))
    return QuarantineOutcome(total, accepted, len(rows), dest, rows, counts)
