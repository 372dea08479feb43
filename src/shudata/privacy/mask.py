"""Run a compiled policy through the query engine and write the result atomically.

The engine copies ``SELECT <rewrites> FROM t`` to a temporary Parquet file next to the
target, which is renamed into place only when complete. A policy's preflight checks (e.g.
values outside a hierarchy) guard that same statement: ``WHERE NOT EXISTS (SELECT 1 FROM t
WHERE <any check fails>)``, so one connection and one pass do both, and the statement
yields no row at all when a value cannot be masked. Only then (no row written) does
:func:`preflight` run to find examples for the error; the temporary file is removed and
nothing is written.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from shudata.core.errors import InvalidInput
from shudata.privacy.compile import CompiledPolicy
from shudata.query.engines import choose
from shudata.query.engines.base import Limits, TableSource, UdfEngine
from shudata.query.engines.dialects import for_engine
from shudata.query.engines.duckdb import DuckDBEngine

TABLE = "t"


@dataclass(frozen=True)
class MaskRun:
    rows: int
    path: Path | None
    sql: str
    ran: dict[str, Any] = field(default_factory=dict)  # engine, master, seconds, rows (choose.ran)


def _engine(engine: UdfEngine | None, plan: CompiledPolicy) -> UdfEngine:
    base: UdfEngine = engine or DuckDBEngine()
    return base.with_udfs(plan.udfs)


def preflight(engine: UdfEngine, plan: CompiledPolicy, tables: Mapping[str, TableSource]) -> None:
    """Refuse with examples when a value cannot be masked (e.g. outside a hierarchy)."""
    if not plan.checks:
        return
    with engine.session(tables) as session:
        for check in plan.checks:
            col = exp.column(check.column, quoted=True)
            q = exp.select(exp.cast(col, "VARCHAR")).distinct().from_(TABLE).where(check.condition.copy()).limit(5)
            bad = session.query(for_engine(q, engine.dialect)).column(0).to_pylist()
            if bad:
                shown = "、".join(str(b) for b in bad)
                raise InvalidInput(f"{check.zh}，例如：{shown}；未写出任何数据",
                                   f"{check.en}, e.g. {shown}; nothing was written",
                                   code="mask_preflight_failed", details={"column": check.column, "examples": bad})


def guarded_sql(plan: CompiledPolicy, table: str = TABLE, dialect: str = "duckdb") -> str:
    """The masking statement, returning no row if any preflight check finds an offending value.

    >>> import pyarrow as pa
    >>> from shudata.privacy.compile import compile_plan
    >>> from shudata.privacy.policy import Policy
    >>> pol = Policy.parse({"name": "p", "columns": {"r": {"op": "region_generalize", "level": "province"}}})
    >>> sql = guarded_sql(compile_plan(pol, pa.schema([("r", pa.string())])))
    >>> print(sql.split(" WHERE ")[0]); print(sql.split(" WHERE ")[1])
    SELECT SUBSTRING("r", 1, 2) || '0000' AS "r" FROM t
    NOT EXISTS(SELECT 1 FROM t
    """
    select = plan.select(table)
    if plan.checks:
        bad = exp.or_(*(c.condition.copy() for c in plan.checks))
        probe = exp.select("1").from_(exp.to_table(table, quoted=True)).where(bad)
        select = select.where(exp.not_(exp.Exists(this=probe)))
    return for_engine(select, dialect, [u.name for u in plan.udfs])  # Spark: same answers or 422


def mask_source(source: TableSource, plan: CompiledPolicy, dest: Path, *, engine: UdfEngine | None = None,
                limits: Limits = Limits(timeout_s=3600), check: Callable[[Path], None] | None = None) -> MaskRun:
    """Mask the table ``source`` into the Parquet file ``dest`` (temp file + rename).

    ``check`` (the export gate) sees the finished temporary file before it is renamed; if it
    raises, nothing is left behind.
    """
    eng = _engine(engine, plan)
    tables = {TABLE: source}
    dest = Path(dest).resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.tmp")
    sql = plan.sql(TABLE)
    started = time.perf_counter()
    try:
        rows = eng.copy_to_parquet(guarded_sql(plan, dialect=eng.dialect), tables, tmp, limits)
        if rows == 0:
            preflight(eng, plan, tables)  # no row: an empty table, or a value that cannot be masked
        if check is not None:
            check(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return MaskRun(rows=rows, path=dest, sql=sql, ran=choose.ran(eng, started, rows, "privacy.mask", dest.name))


def write_temp_parquet(table: pa.Table, directory: Path) -> Path:
    """Put an in-memory table where the engine can read it (one Parquet file)."""
    path = Path(directory) / f"input-{uuid.uuid4().hex[:8]}.parquet"
    pq.write_table(table, path)
    return path


def mask_table(table: pa.Table, plan: CompiledPolicy, *, engine: UdfEngine | None = None) -> pa.Table:
    """Mask an in-memory table through the same engine path (previews, tests, file masking)."""
    eng = _engine(engine, plan)
    with tempfile.TemporaryDirectory(prefix="shudata-mask-") as tmp:
        src = TableSource(TABLE, [write_temp_parquet(table, Path(tmp))])
        out = eng.query(guarded_sql(plan, dialect=eng.dialect), {TABLE: src})
        if out.num_rows == 0:
            preflight(eng, plan, {TABLE: src})
        return out
