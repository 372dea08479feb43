"""Downloads of a version: paged JSON, CSV (UTF-8 with BOM), XLSX and Parquet.

Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) is
neutralised in CSV and XLSX with a leading quote (:func:`shudata.core.textsafe.safe_cell`;
the CSV path applies the same rule column-wise in Arrow).

>>> content_disposition("四川省 GDP_v1.csv")
'attachment; filename="GDP_v1.csv"; filename*=UTF-8\\'\\'%E5%9B%9B%E5%B7%9D%E7%9C%81_GDP_v1.csv'
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shudata.core.errors import InvalidInput
from shudata.core.textsafe import FORMULA_PREFIXES, safe_cell, safe_filename
from shudata.lake.reader import iter_batches

try:  # orjson is several times faster for pages of rows; the standard library is the fallback
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]

FORMATS = ("json", "csv", "xlsx", "parquet")
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
               "parquet": "application/vnd.apache.parquet"}
XLSX_MAX_ROWS = 1_048_575
_FORMULA_RE = "^[" + re.escape("".join(FORMULA_PREFIXES)) + "]"


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the RFC 5987 ``filename*`` for Chinese names."""
    name = safe_filename(filename)
    ascii_name = "".join(c for c in name if c.isascii()).strip("._") or "download"
    if "." in name and "." not in ascii_name:
        ascii_name += "." + name.rsplit(".", 1)[-1]
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(type(value).__name__)


def page_json(table: pa.Table, *, total: int, offset: int, limit: int, version: int) -> bytes:
    """``{"columns", "rows", "total", "offset", "limit", "version"}`` with rows as lists."""
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    rows = [list(r) for r in zip(*cols, strict=True)] if cols else []
    body = {"columns": table.column_names, "rows": rows, "total": total, "offset": offset, "limit": limit,
            "version": version}
    if orjson is not None:
        return orjson.dumps(body, default=_default, option=orjson.OPT_NON_STR_KEYS)
    return json.dumps(body, ensure_ascii=False, default=_default, separators=(",", ":")).encode()


def neutralise(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The CSV form of ``safe_cell`` for whole string columns."""
    arrays = []
    for col in batch.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            mask = pc.fill_null(pc.match_substring_regex(col, _FORMULA_RE), False)
            if pc.any(mask).as_py():
                arrays.append(pc.if_else(mask, pc.binary_join_element_wise("'", col, ""), col))
                continue
        arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def csv_stream(files: Sequence[Path]) -> Iterator[bytes]:
    """UTF-8 with BOM (so Excel/WPS open Chinese text correctly), Chinese header intact."""
    yield b"\xef\xbb\xbf"
    first = True
    opts = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    for batch in iter_batches(files):
        buf = io.BytesIO()
        pacsv.write_csv(neutralise(batch), buf,
                        write_options=opts if first else pacsv.WriteOptions(include_header=False,
                                                                            quoting_style="needed"))
        first = False
        yield buf.getvalue()
    if first:  # a version always has a schema; write the header of an empty one
        schema = pq.read_schema(files[0]) if files else pa.schema([])
        buf = io.BytesIO()
        pacsv.write_csv(schema.empty_table(), buf, write_options=opts)
        yield buf.getvalue()


def xlsx_file(files: Sequence[Path], total: int, sheet_title: str = "数据") -> IO[bytes]:
    """A spooled XLSX workbook of the whole version (at most 1,048,575 rows)."""
    from openpyxl import Workbook

    if total > XLSX_MAX_ROWS:
        raise InvalidInput(f"该版本有 {total} 行，超过 XLSX 上限 {XLSX_MAX_ROWS} 行；请下载 CSV 或 Parquet",
                           f"{total} rows exceed the XLSX limit of {XLSX_MAX_ROWS}; download CSV or Parquet",
                           code="too_many_rows_for_xlsx")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=safe_filename(sheet_title, "数据")[:31])
    header_done = False
    for batch in iter_batches(files):
        if not header_done:
            ws.append(batch.schema.names)
            header_done = True
        cols = [c.to_pylist() for c in batch.columns]
        for row in zip(*cols, strict=True):
            ws.append([safe_cell(v) for v in row])
    if not header_done and files:
        ws.append(pq.read_schema(files[0]).names)
    out = tempfile.SpooledTemporaryFile(max_size=32 << 20)  # noqa: SIM115 - handed to the response
    wb.save(out)
    out.seek(0)
    return out


def parquet_file(files: Sequence[Path]) -> IO[bytes]:
    """One Parquet file of the whole version (parts concatenated, zstd)."""
    out = tempfile.SpooledTemporaryFile(max_size=32 << 20)  # noqa: SIM115 - handed to the response
    schema = pq.read_schema(files[0])
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for batch in iter_batches(files):
            writer.write_batch(batch)
    out.seek(0)
    return out
