"""Ingest of a very large CSV or Parquet file on Spark, when the entry is routed there (issue 17).

The executors read the file and write the lake's Parquet parts into the version's staging
directory; publication stays the lake's own atomic step (:func:`shudata.jobs.ingest.publish`:
staging directory renamed into place, then the version row), and the quality screen and the
``after_ingest`` detectors run on the new version as for any upload.

*CSV/TSV*: the platform inspects the file as always (encoding — UTF-8, GBK, GB18030 —, delimiter,
header row, footer, the items' types) and cuts it into chunks at record boundaries
(:func:`shudata.lake.ingest.csv.chunk_tasks`); the executors run the in-process reader's own
chunk step on them (:func:`~shudata.lake.ingest.csv.run_chunk`: strict decoding, Arrow parsing,
section rows, placeholders, conversion per item, the part written by the executor), one chunk per
Spark task (:func:`shudata.query.engines.spark.map_tasks`); the platform gathers their summaries
in file order (:func:`~shudata.lake.ingest.csv.gather`), so a malformed file gets the same 4xx
(mixed encoding, ragged rows with their line numbers, a bad value with its row) and the stored
table is the in-process one. The executors must see the upload and the lake as paths (the data
directory on a shared POSIX filesystem, or ``spark_lake_uri`` a ``file://`` mount of it); with
the lake on HDFS or S3 a CSV stays in-process.

*Parquet*: Spark takes the file only when the result is certain to be what the in-process path
stores — every column already has its item's type (text, integer, floating point, date,
boolean; no value conversion), and no text is longer than its item allows; anything else
(conversions, timestamps, a too-long value whose row the in-process path names) runs in-process
as before.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shudata.core.config import Settings
from shudata.lake import layout
from shudata.lake.ingest import csv
from shudata.lake.ingest.source import IngestOptions, Progress, SourceInfo, StageStats
from shudata.lake.ingest.types import ColumnSpec
from shudata.query.engines.base import Limits, TableSource
from shudata.query.engines.choose import ran, routed_to_spark, spark_engine
from shudata.query.engines.spark import SparkEngine, map_tasks, stage_parquet_files

# Arrow types Spark writes back exactly (timestamps come back UTC-adjusted: not taken).
SAME_TYPES = (pa.string(), pa.large_string(), pa.int64(), pa.float64(), pa.date32(), pa.bool_())
LIMITS = Limits(timeout_s=24 * 3600)
CSV_FORMATS = ("csv", "tsv")


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


def stage(settings: Settings, resource: str, info: SourceInfo, specs: list[ColumnSpec], staging: Path,
          options: IngestOptions | None = None, progress: Progress | None = None) -> StageStats | None:
    """Stage ``info``'s file on Spark into ``staging``; ``None`` when the in-process path must."""
    if info.format in CSV_FORMATS:
        return stage_csv(settings, resource, info, specs, staging, options or IngestOptions(), progress)
    columns = plan(settings, resource, info, specs)
    if columns is None:
        return None
    engine = spark_engine(settings)
    if _too_long(engine, info, specs):
        return None  # the in-process path refuses it, naming the row
    started = time.perf_counter()
    rows, files = stage_parquet_files(engine, [info.path], columns, staging, layout.part_name, LIMITS)
    ran(engine, started, rows, "data.upload", resource)
    return StageStats(rows=rows, files=files)


def executor_path(engine: SparkEngine, path: Path | str) -> str | None:
    """``path`` as a path the executors open (through ``spark_lake_uri``'s ``file://`` mapping),
    or ``None`` when they reach it only through HDFS/S3."""
    uri = engine.config.uri(path)
    return uri[len("file://"):] if uri.startswith("file:///") else None


def stage_csv(settings: Settings, resource: str, info: SourceInfo, specs: list[ColumnSpec], staging: Path,
              options: IngestOptions, progress: Progress | None = None) -> StageStats | None:
    """The CSV's chunks staged by the executors (the in-process reader's chunk step, one chunk per
    task); ``None`` when the entry is not routed to Spark or the executors cannot open the paths."""
    if not routed_to_spark(settings, resource=resource, size_bytes=info.size):
        return None
    engine = spark_engine(settings)
    tasks = list(csv.chunk_tasks(info, specs, staging, options, csv.PARALLEL_CHUNK))
    remote = []
    for t in tasks:
        src, out = executor_path(engine, t.path), executor_path(engine, t.out)
        if src is None or out is None:
            return None  # lake on HDFS/S3: the chunk step reads and writes POSIX paths
        remote.append(dataclasses.replace(t, path=src, out=out))
    started = time.perf_counter()
    results = map_tasks(engine, csv.run_chunk, remote, LIMITS)
    stats = csv.gather(info, zip(tasks, results, strict=True), progress)
    ran(engine, started, stats.rows, "data.upload", resource)
    return stats
