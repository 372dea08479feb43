"""Run a compiled policy through the query engine and write the result atomically.

Preflight checks run first (nothing is written if a value cannot be masked); the engine
then copies ``SELECT <rewrites> FROM t`` to a temporary Parquet file next to the target,
which is renamed into place only when complete.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from shudata.core.errors import InvalidInput
from shudata.privacy.compile import CompiledPolicy
from shudata.query.engines.base import Limits, TableSource
from shudata.query.engines.duckdb import DuckDBEngine

TABLE = "t"


@dataclass(frozen=True)
class MaskRun:
    rows: int
    path: Path | None
    sql: str


def _engine(engine: DuckDBEngine | None, plan: CompiledPolicy) -> DuckDBEngine:
    base = engine or DuckDBEngine()
    return base.with_udfs(plan.udfs)


def preflight(engine: DuckDBEngine, plan: CompiledPolicy, tables: Mapping[str, TableSource]) -> None:
    """Refuse with examples when a value cannot be masked (e.g. outside a hierarchy)."""
    for check in plan.checks:
        col = exp.column(check.column, quoted=True)
        q = exp.select(exp.cast(col, "VARCHAR")).distinct().from_(TABLE).where(check.condition.copy()).limit(5)
        bad = engine.query(q.sql("duckdb"), tables).column(0).to_pylist()
        if bad:
            shown = "、".join(str(b) for b in bad)
            raise InvalidInput(f"{check.zh}，例如：{shown}；未写出任何数据",
                               f"{check.en}, e.g. {shown}; nothing was written",
                               code="mask_preflight_failed", details={"column": check.column, "examples": bad})


def mask_source(source: TableSource, plan: CompiledPolicy, dest: Path, *, engine: DuckDBEngine | None = None,
                limits: Limits = Limits(timeout_s=3600), check: Callable[[Path], None] | None = None) -> MaskRun:
    """Mask the table ``source`` into the Parquet file ``dest`` (temp file + rename).

    ``check`` (the export gate) sees the finished temporary file before it is renamed; if it
    raises, nothing is left behind.
    """
    eng = _engine(engine, plan)
    tables = {TABLE: source}
    preflight(eng, plan, tables)
    dest = Path(dest).resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp")
    sql = plan.sql(TABLE)
    try:
        rows = eng.copy_to_parquet(sql, tables, tmp, limits)
        if check is not None:
            check(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return MaskRun(rows=rows, path=dest, sql=sql)


def write_temp_parquet(table: pa.Table, directory: Path) -> Path:
    """Put an in-memory table where the engine can read it (one Parquet file)."""
    path = Path(directory) / f"input-{uuid.uuid4().hex[:8]}.parquet"
    pq.write_table(table, path)
    return path


def mask_table(table: pa.Table, plan: CompiledPolicy, *, engine: DuckDBEngine | None = None) -> pa.Table:
    """Mask an in-memory table through the same engine path (previews, tests, file masking)."""
    eng = _engine(engine, plan)
    with tempfile.TemporaryDirectory(prefix="shudata-mask-") as tmp:
        src = TableSource(TABLE, [write_temp_parquet(table, Path(tmp))])
        preflight(eng, plan, {TABLE: src})
        return eng.query(plan.sql(TABLE), {TABLE: src})
