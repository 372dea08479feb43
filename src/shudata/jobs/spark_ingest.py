"""Ingest of a very large Parquet file on Spark, when the entry is routed there (issue 17).

The executors read the file and write the lake's Parquet parts into the version's staging
directory; publication stays the lake's own atomic step (:func:`shudata.jobs.ingest.publish`:
staging directory renamed into place, then the version row). Spark takes the file only when the
result is certain to be what the in-process path stores — every column already has its item's
type (text, integer, floating point, date, boolean; no value conversion), and no text is longer
than its item allows; anything else (CSV, conversions, timestamps, a too-long value whose row
the in-process path names) runs in-process as before.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shudata.core.config import Settings
from shudata.lake import layout
from shudata.lake.ingest.source import SourceInfo, StageStats
from shudata.lake.ingest.types import ColumnSpec
from shudata.query.engines.base import Limits, TableSource
from shudata.query.engines.choose import routed_to_spark, spark_engine
from shudata.query.engines.spark import SparkEngine, stage_parquet_files

# Arrow types Spark writes back exactly (timestamps come back UTC-adjusted: not taken).
SAME_TYPES = (pa.string(), pa.large_string(), pa.int64(), pa.float64(), pa.date32(), pa.bool_())
LIMITS = Limits(timeout_s=24 * 3600)


def _same(source: pa.DataType, target: pa.DataType) -> bool:
    if pa.types.is_string(target):
        return pa.types.is_string(source) or pa.types.is_large_string(source)
    return source == target and target in SAME_TYPES


def plan(settings: Settings, resource: str, info: SourceInfo, specs: list[ColumnSpec]) -> list[tuple[int, str]] | None:
    """The ``(position, stored name)`` columns Spark writes, or ``None`` when the in-process path stages."""
    if info.format != "parquet" or not routed_to_spark(settings, resource=resource, size_bytes=info.size):
        return None
    schema = pq.read_schema(info.path)
    out = []
    for spec in specs:
        if spec.source not in info.columns:
            return None
        i = info.columns.index(spec.source)
        if not _same(schema.field(i).type, spec.arrow_type):
            return None
        out.append((i, spec.name))
    return out


def _too_long(engine: SparkEngine, info: SourceInfo, specs: list[ColumnSpec]) -> bool:
    """Whether a text value is longer than its item allows (counted on Spark)."""
    checks = [(info.columns.index(s.source), s.length) for s in specs if s.length]
    if not checks:
        return False
    names = pq.read_schema(info.path).names
    cond = " OR ".join(f"CHAR_LENGTH(`{names[i].replace('`', '``')}`) > {int(n)}" for i, n in checks)
    found = engine.query(f"SELECT COUNT_IF({cond}) AS n FROM src", {"src": TableSource("src", [info.path])}, LIMITS)
    return bool(found.column(0)[0].as_py())


def stage(settings: Settings, resource: str, info: SourceInfo, specs: list[ColumnSpec], staging: Path
          ) -> StageStats | None:
    """Stage ``info``'s file on Spark into ``staging``; ``None`` when the in-process path must."""
    columns = plan(settings, resource, info, specs)
    if columns is None:
        return None
    engine = spark_engine(settings)
    if _too_long(engine, info, specs):
        return None  # the in-process path refuses it, naming the row
    rows, files = stage_parquet_files(engine, [info.path], columns, staging, layout.part_name, LIMITS)
    return StageStats(rows=rows, files=files)
