"""Query results and sharing deliveries as download bytes: CSV (UTF-8 with BOM), XLSX, Parquet.

A thin adapter over the one implementation in :mod:`shudata.lake.export`: an in-memory
table is written as ``table.schema, table.to_batches()``. Text cells (and header names) are
neutralised as by :func:`shudata.core.textsafe.safe_cell`, so a value such as
``=HYPERLINK(…)`` arrives as text, not as a formula. Chinese headers stay intact.

>>> import pyarrow as pa
>>> to_csv_bytes(pa.table({"名称": ["=1+2", "成都"], "值": [1, 2]})).decode("utf-8-sig").splitlines()
['名称,值', "'=1+2,1", '成都,2']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

import pyarrow as pa

from shudata.lake import export

MEDIA_TYPES = {fmt: export.MEDIA_TYPES[fmt] for fmt in ("csv", "xlsx", "parquet")}


def to_csv_bytes(table: pa.Table) -> bytes:
    """CSV with a header row, UTF-8 with BOM (:func:`shudata.lake.export.csv_batches`)."""
    return b"".join(export.csv_batches(table.schema, table.to_batches()))


def to_xlsx_bytes(table: pa.Table, sheet: str = "查询结果") -> bytes:
    """An XLSX workbook with one sheet (:func:`shudata.lake.export.xlsx_batches`)."""
    with export.xlsx_batches(table.schema, table.to_batches(), rows=table.num_rows, sheet_title=sheet) as out:
        return out.read()


def to_parquet_bytes(table: pa.Table) -> bytes:
    """The result as one Parquet file, zstd (:func:`shudata.lake.export.parquet_batches`)."""
    with export.parquet_batches(table.schema, table.to_batches()) as out:
        return out.read()


WRITERS = {"csv": to_csv_bytes, "xlsx": to_xlsx_bytes, "parquet": to_parquet_bytes}


def write_file(fmt: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch], sheet: str = "查询结果",
               rows: int | None = None) -> IO[bytes]:
    """The batches as one spooled ``fmt`` file, written as they come (memory stays bounded:
    past 8 MB the file waits on disk). Pair with a byte bound such as
    :func:`shudata.query.limits.bounded_batches` so that the disk use is bounded too.
    ``rows``, where known, lets XLSX refuse more than 1,048,575 rows before any work (it is
    refused, never cut, in any case)."""
    if fmt == "csv":
        return export.csv_file(schema, batches)
    if fmt == "xlsx":
        return export.xlsx_batches(schema, batches, rows=rows, sheet_title=sheet)
    if fmt == "parquet":
        return export.parquet_batches(schema, batches)
    raise ValueError(fmt)
