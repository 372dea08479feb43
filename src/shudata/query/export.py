"""Query results as download files: CSV (UTF-8 with BOM, for Excel/WPS), XLSX, Parquet.

Text cells go through :func:`shudata.core.textsafe.safe_cell`, so a value such as
``=HYPERLINK(…)`` arrives as text, not as a formula. Chinese headers stay intact.

>>> import pyarrow as pa
>>> to_csv_bytes(pa.table({"名称": ["=1+2", "成都"], "值": [1, 2]})).decode("utf-8-sig").splitlines()
['名称,值', "'=1+2,1", '成都,2']
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from shudata.core.textsafe import safe_cell

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}


def _cells(table: pa.Table) -> list[list[Any]]:
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return [[safe_cell(_plain(col[r])) for col in columns] for r in range(table.num_rows)]


def _plain(value: Any) -> Any:
    if isinstance(value, dict | list | tuple):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


def to_csv_bytes(table: pa.Table) -> bytes:
    """CSV with a header row, UTF-8 with BOM."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.schema.names)
    writer.writerows(_cells(table))
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx_bytes(table: pa.Table, sheet: str = "查询结果") -> bytes:
    """An XLSX workbook with one sheet (write-only mode: constant memory per row)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet)
    ws.append(list(table.schema.names))
    for row in _cells(table):
        ws.append([_xlsx_value(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xlsx_value(value: Any) -> Any:
    """Timezone-aware datetimes are not accepted by XLSX; keep them as ISO text."""
    if hasattr(value, "tzinfo") and getattr(value, "tzinfo", None) is not None:
        return value.isoformat()
    return value


def to_parquet_bytes(table: pa.Table) -> bytes:
    """The result as one Parquet file (zstd)."""
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


WRITERS = {"csv": to_csv_bytes, "xlsx": to_xlsx_bytes, "parquet": to_parquet_bytes}
