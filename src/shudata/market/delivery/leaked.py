"""A suspected leaked file read as text, ready for tracing: CSV (UTF-8 with or without BOM,
GBK/GB18030 as Excel re-saves it), XLSX or Parquet; every column as text, so key cells such
as ``00123`` keep their leading zeros.

>>> import io
>>> t = read_leaked(io.BytesIO("\\ufeff编号,金额\\n00123,1.50\\n".encode()), "x.csv")
>>> t.column("编号").to_pylist(), t.column("金额").to_pylist()
(['00123'], ['1.50'])
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.csv as pcsv

from shudata.core.errors import InvalidInput
from shudata.lake.ingest.limits import ReadLimits, check_cells, check_columns, check_zip
from shudata.lake.parquet import read_table

SUFFIXES = (".csv", ".txt", ".xlsx", ".parquet")


def _unreadable(name: str, why: str) -> InvalidInput:
    return InvalidInput(f"无法读取文件“{name}”：{why}；请提供 CSV、XLSX 或 Parquet 文件",
                        f"Cannot read {name!r}: {why}; give a CSV, XLSX or Parquet file", code="trace_file_unreadable")


def _encoding(head: bytes) -> str:
    for enc in ("utf-8", "gb18030"):
        try:
            head.decode(enc)
            return enc
        except UnicodeDecodeError as exc:
            if enc == "utf-8" and exc.start > len(head) - 4:  # a character cut at the end of the sample
                return enc
    return "gb18030"


def _read_csv(data: bytes, name: str, limits: ReadLimits) -> pa.Table:
    enc = _encoding(data[:1 << 16])
    text_head = data[:1 << 16].decode(enc, errors="ignore").lstrip("\ufeff")
    try:
        header = next(csv.reader(io.StringIO(text_head)))
    except StopIteration:
        raise _unreadable(name, "文件为空") from None
    except csv.Error as exc:  # binary content, NUL bytes, a bare carriage return in a field
        raise _unreadable(name, f"不是文本表格（{str(exc)[:80]}）") from exc
    check_columns(header, limits)
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        return pcsv.read_csv(io.BytesIO(body), read_options=pcsv.ReadOptions(encoding=enc),
                             convert_options=pcsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string()),
                                                                 strings_can_be_null=False))
    except (pa.ArrowInvalid, ValueError) as exc:
        raise _unreadable(name, f"CSV 格式错误（{str(exc)[:120]}）") from exc


def _cell(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v))
    return str(v)


def _read_xlsx(data: bytes, name: str, limits: ReadLimits) -> pa.Table:
    from openpyxl import load_workbook  # noqa: PLC0415 - openpyxl loads on the first XLSX read

    check_zip(io.BytesIO(data), limits)  # a zip bomb is refused from the central directory, before unpacking
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file
        raise _unreadable(name, "不是有效的 XLSX 工作簿") from exc
    if not wb.worksheets:
        raise _unreadable(name, "XLSX 工作簿中没有工作表")
    rows = wb.worksheets[0].iter_rows(values_only=True)
    header = [str(h) if h is not None else f"列{i + 1}" for i, h in enumerate(next(rows, ()))]
    check_columns(header, limits)
    cols: list[list[str | None]] = [[] for _ in header]
    for n, row in enumerate(rows, start=1):
        if n % 1000 == 0:  # Python objects per cell: bounded as uploads are
            check_cells(n * len(header), limits)
        for i in range(len(header)):
            cols[i].append(_cell(row[i]) if i < len(row) else None)
    wb.close()
    return pa.table({h: pa.array(c, pa.string()) for h, c in zip(header, cols, strict=True)})


def read_leaked(f: IO[bytes] | Path, name: str | None = None, limits: ReadLimits | None = None) -> pa.Table:
    """The file as a table of text columns (Parquet columns keep their types). ``limits`` bound its
    shape as uploads' are: columns, and for XLSX the unpacked size, compression ratio and cells (413)."""
    limits = limits or ReadLimits()
    label = name or (f.name if isinstance(f, Path) else "file")
    suffix = Path(label).suffix.lower()
    if isinstance(f, Path):
        if suffix == ".parquet":
            try:
                return read_table([f])
            except (OSError, pa.ArrowInvalid) as exc:
                raise _unreadable(label, "不是有效的 Parquet 文件") from exc
        data = f.read_bytes()
    else:
        data = f.read()
    if data[:4] == b"PAR1":
        raise _unreadable(label, "Parquet 文件请按路径读取")
    if data[:2] == b"PK" or suffix == ".xlsx":
        return _read_xlsx(data, label, limits)
    return _read_csv(data, label, limits)
