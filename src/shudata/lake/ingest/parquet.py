"""Parquet uploads: already typed; read in batches, converted to the entry's item types."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shudata.core.errors import InvalidInput, UnsupportedMedia
from shudata.lake import layout
from shudata.lake.ingest import rows as rowsmod
from shudata.lake.ingest.convert import convert_table
from shudata.lake.ingest.csv import conversion_error
from shudata.lake.ingest.limits import ReadLimits, check_width
from shudata.lake.ingest.sheet import cell_text
from shudata.lake.ingest.source import IngestOptions, Progress, SourceInfo, StageStats, empty_file
from shudata.lake.ingest.types import ColumnSpec, ConversionError, first_out_of_range, shown_value
from shudata.lake.parquet import write_part


def _open(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UnsupportedMedia(f"无法读取 Parquet 文件：{exc}", f"Cannot read the Parquet file: {exc}",
                               code="bad_parquet") from exc


def inspect_parquet(path: Path, name: str, options: IngestOptions, limits: ReadLimits | None = None) -> SourceInfo:
    """Columns and a sample (the first 2,000 rows); the width is checked before any row is read."""
    pf = _open(path)
    check_width(len(pf.schema_arrow.names), limits or ReadLimits())
    names = rowsmod.column_names(pf.schema_arrow.names, len(pf.schema_arrow.names))
    if not names:
        raise empty_file(name)
    head = next(pf.iter_batches(batch_size=2000), None)
    for column, values in zip(names, head.columns if head is not None else [], strict=False):
        if (i := first_out_of_range(values)) is not None:  # the sample is read as Python values below
            kind = "T" if pa.types.is_timestamp(values.type) else "D"
            raise conversion_error({"column": column, "row": i, "value": shown_value(values, i), "data_type": kind,
                                    "length": None}, 0)
    sample = [] if head is None else [[cell_text(v) for v in row.values()] for row in head.to_pylist()]
    return SourceInfo(path=path, name=name, format="parquet", columns=names, head_rows=[list(names), *sample[:29]],
                      sample=sample, header_row=None, size=path.stat().st_size, typed_sample=True)


def stage_parquet(info: SourceInfo, specs: Sequence[ColumnSpec], staging: Path, options: IngestOptions,
                  progress: Progress | None = None) -> StageStats:
    pf = _open(info.path)
    stats = StageStats()
    total = pf.metadata.num_rows
    for batch in pf.iter_batches(batch_size=128 * 1024):
        table = pa.Table.from_batches([batch]).rename_columns(info.columns)
        try:
            out, _ = convert_table(table, specs, skip_sections=False)
        except ConversionError as exc:
            raise conversion_error({"column": exc.column, "row": exc.row, "value": exc.value[:100],
                                    "data_type": exc.data_type, "length": exc.length}, stats.rows) from None
        write_part(out, staging / layout.part_name(stats.files))
        stats.files += 1
        stats.rows += out.num_rows
        if progress is not None:
            progress(stats.rows, total)
    if stats.files == 0 and total == 0:
        raise InvalidInput("Parquet 文件没有数据行", "The Parquet file has no rows", code="no_data_rows")
    return stats
