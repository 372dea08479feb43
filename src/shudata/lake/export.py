"""Download files: paged JSON, CSV (UTF-8 with BOM), XLSX and Parquet — the one implementation.

The writers take a schema and an iterable of Arrow record batches, so the same code serves
a whole lake version (:func:`csv_stream`, :func:`xlsx_file`, :func:`parquet_file` over
:func:`shudata.lake.reader.iter_batches`) and an in-memory table such as a SQL query result
or a sharing delivery (:mod:`shudata.query.export` calls them with ``table.schema,
table.to_batches()``).

Text that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, tab, CR) is
neutralised in CSV and XLSX with a leading quote (:func:`shudata.core.textsafe.safe_cell`,
applied column-wise in Arrow), in cells and in the header row alike. Columns that have no
native CSV/XLSX form are written as text: binary as hex, nested values (list, struct, map)
as Python renders them (``[1, 2]``, ``{'城市': '成都'}``).

>>> content_disposition("四川省 GDP_v1.csv")
'attachment; filename="GDP_v1.csv"; filename*=UTF-8\\'\\'%E5%9B%9B%E5%B7%9D%E7%9C%81_GDP_v1.csv'
>>> t = pa.table({"名称": ["=1+2", "成都, 四川", None], "值": [1, 2, None]})
>>> b"".join(csv_batches(t.schema, t.to_batches())).decode("utf-8-sig").splitlines()
['名称,值', "'=1+2,1", '"成都, 四川",2', ',']
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shudata.core.errors import InvalidInput, PayloadTooLarge
from shudata.core.textsafe import FORMULA_PREFIXES, safe_filename
from shudata.lake.measure import row_sizes, rows_within
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


def jsonable(value: Any) -> Any:
    """A value JSON can carry: dates and times as ISO text, decimals as numbers where a double
    holds them exactly and otherwise as their exact text (never a rounded number), bytes as
    text; anything else unchanged.

    >>> jsonable(decimal.Decimal("1.50")), jsonable(decimal.Decimal("99999999999999999999999999999999999999"))
    (1.5, '99999999999999999999999999999999999999')
    """
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        number = float(value)
        return number if decimal.Decimal(repr(number)) == value else format(value, "f")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def json_default(value: Any) -> Any:
    converted = jsonable(value)
    if converted is value:
        raise TypeError(type(value).__name__)
    return converted


def page_json(table: pa.Table, *, total: int, offset: int, limit: int, version: int,
              max_bytes: int | None = None, limit_requested: int | None = None,
              next_url: Callable[[int], str] | None = None) -> bytes:
    """``{"columns", "rows", "total", "offset", "limit", "version", "next_offset"}`` with rows as lists.

    Every page says where the next one starts: ``next_offset`` (``null`` on the last page)
    and, with ``next_url``, the link ``next``. ``limit`` is the page size applied; when the
    caller asked for more (``limit_requested`` above the maximum), the page states both and
    ``limit_capped`` explains it. With ``max_bytes``, a page whose rows would pass it is cut to
    the rows that fit, measured before conversion, and says so: ``"capped": {"reason":
    "bytes", "max_bytes", "rows", "next_offset"}``. A first row that alone passes it is
    refused (413).

    >>> import json as j
    >>> t = pa.table({"n": [1, 2]})
    >>> b = j.loads(page_json(t, total=5, offset=0, limit=2, version=1, limit_requested=9,
    ...                       next_url=lambda o: f"?offset={o}"))
    >>> b["limit"], b["limit_requested"], b["next_offset"], b["next"]
    (2, 9, 2, '?offset=2')
    >>> j.loads(page_json(t, total=2, offset=0, limit=2, version=1))["next_offset"] is None
    True
    """
    capped: dict[str, Any] | None = None
    if max_bytes is not None and (fit := rows_within(table, max_bytes)) < table.num_rows:
        if fit == 0:
            size = int(row_sizes(table.slice(0, 1))[0])
            raise PayloadTooLarge(
                f"数据的一行约 {size} 字节，超过单次答复的字节上限 {max_bytes}（设置 SHUDATA_RESULT_MAX_BYTES）",
                f"One row is about {size} bytes, more than the {max_bytes}-byte limit of one answer (setting "
                "SHUDATA_RESULT_MAX_BYTES)", code="result_too_large",
                details={"limit": max_bytes, "found": size, "setting": "SHUDATA_RESULT_MAX_BYTES"})
        table = table.slice(0, fit)
        capped = {"reason": "bytes", "max_bytes": max_bytes, "rows": fit, "next_offset": offset + fit}
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    rows = [list(r) for r in zip(*cols, strict=True)] if cols else []
    following = offset + table.num_rows if table.num_rows and offset + table.num_rows < total else None
    extra: dict[str, Any] = {}
    if limit_requested is not None and limit_requested > limit:
        extra["limit_requested"] = limit_requested
        extra["limit_capped"] = {
            "reason": "page_size_max", "limit": limit, "limit_requested": limit_requested,
            "message": f"每页最多 {limit} 行（设置 SHUDATA_PAGE_SIZE_MAX），本页按 {limit} 行返回；"
                       "其余行请按 next 链接（或 next_offset）继续获取，或下载 CSV/XLSX/Parquet 取得全部行",
            "message_en": f"A page holds at most {limit} rows (setting SHUDATA_PAGE_SIZE_MAX); this page was "
                          f"capped to {limit}; follow next (or next_offset) for the rest, or download "
                          "CSV/XLSX/Parquet for every row"}
    if next_url is not None:
        extra["next"] = next_url(following) if following is not None else None
    body = {"columns": table.column_names, "rows": rows, "total": total, "offset": offset, "limit": limit,
            "version": version, "next_offset": following, **extra, **({"capped": capped} if capped else {})}
    if orjson is not None:
        return orjson.dumps(body, default=json_default, option=orjson.OPT_NON_STR_KEYS)
    return json.dumps(body, ensure_ascii=False, default=json_default, separators=(",", ":")).encode()


_CSV_QUOTE_RE = '[,"\r\n]'
_CSV_CHUNK_ROWS = 65_536
_CSV_CHUNK_BYTES = 8 << 20
_HEX_DIGITS = np.frombuffer(b"".join(b"%02x" % i for i in range(256)), dtype=np.uint8).reshape(256, 2)
_NESTED = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list, pa.types.is_list_view,
           pa.types.is_large_list_view, pa.types.is_struct, pa.types.is_map, pa.types.is_union)
_BINARY = (pa.types.is_binary, pa.types.is_large_binary, pa.types.is_fixed_size_binary, pa.types.is_binary_view)
_STRING = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
_XLSX_NATIVE = (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, pa.types.is_boolean,
                pa.types.is_date, pa.types.is_time, pa.types.is_timestamp, pa.types.is_duration, pa.types.is_null)


def _is(t: pa.DataType, kinds: tuple[Any, ...]) -> bool:
    return any(kind(t) for kind in kinds)


def _safe_text(col: pa.Array) -> pa.Array:
    """The column-wise form of ``safe_cell`` for a string column: a leading quote before
    formula prefixes.

    >>> _safe_text(pa.array(["=1", "成都", None, "-1+2"])).to_pylist()
    ["'=1", '成都', None, "'-1+2"]
    """
    mask = pc.fill_null(pc.match_substring_regex(col, _FORMULA_RE), False)
    if not pc.any(mask).as_py():
        return col
    return pc.if_else(mask, pc.binary_join_element_wise(pa.scalar("'", col.type), col, pa.scalar("", col.type)), col)


def _hex(col: pa.Array) -> pa.Array:
    """Binary values as lower-case hex text (as ``bytes.hex()``), vectorised over the data buffer."""
    arr = col.cast(pa.large_binary())
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset:arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    digits = _HEX_DIGITS[data[offsets[0]:offsets[-1]]].reshape(-1)
    text = pa.Array.from_buffers(pa.large_string(), len(arr),
                                 [None, pa.py_buffer((offsets - offsets[0]) * 2), pa.py_buffer(digits)])
    return pc.if_else(arr.is_valid(), text, pa.scalar(None, pa.large_string())) if arr.null_count else text


def _python_text(col: pa.Array) -> pa.Array:
    """``str()`` of each value: for nested and other columns Arrow cannot cast (rare; per value)."""
    return pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.large_string())


def _text(col: pa.Array) -> pa.Array:
    """A column as ``large_string`` text, nulls kept: strings neutralised, binary as hex,
    nested values as ``str()``, everything else as Arrow's CSV writer formats it."""
    t = col.type
    if pa.types.is_dictionary(t):
        return _text(col.dictionary_decode())
    if _is(t, _STRING):
        return _safe_text(col.cast(pa.large_string()))
    if _is(t, _BINARY):
        return _hex(col)
    if _is(t, _NESTED):
        return _python_text(col)
    try:
        return pc.cast(col, pa.large_string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # intervals, extension types
        return _python_text(col)


def _csv_lines(columns: Sequence[pa.Array], checked: Sequence[bool]) -> bytes:
    """CSV lines of ``large_string`` columns: a field is quoted only where needed (``,``, ``"``,
    CR, LF; looked for only in ``checked`` columns — numbers, dates and hex never need it),
    NULL is empty, and a row of one empty field is ``""`` so it is not a blank line."""
    quote_, empty = pa.scalar('"', pa.large_string()), pa.scalar("", pa.large_string())
    fields = []
    for col, check in zip(columns, checked, strict=True):
        text = pc.fill_null(col, empty)
        if check:
            mask = pc.match_substring_regex(text, _CSV_QUOTE_RE)
            if pc.any(mask).as_py():
                quoted = pc.binary_join_element_wise(quote_, pc.replace_substring(text, '"', '""'), quote_, empty)
                text = pc.if_else(mask, quoted, text)
        fields.append(text)
    if len(fields) == 1:
        fields[0] = pc.if_else(pc.equal(fields[0], empty), pa.scalar('""', pa.large_string()), fields[0])
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*fields, pa.scalar(",", pa.large_string())),
                                        empty, pa.scalar("\n", pa.large_string()))
    _, offsets_buf, data_buf = lines.buffers()
    if not len(lines) or data_buf is None:
        return b""
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[lines.offset:lines.offset + len(lines) + 1]
    return data_buf.slice(int(offsets[0]), int(offsets[-1] - offsets[0])).to_pybytes()


def csv_batches(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """CSV in UTF-8 with BOM (so Excel/WPS open Chinese text correctly), Chinese header intact.

    Where the version and query writers differed, the safer rule is kept: the header row is
    neutralised like the cells (a column named ``=…`` is not a formula either); binary is hex
    and nested values are text (Arrow's CSV writer refuses nested types and invalid UTF-8);
    a field with a bare CR is quoted; a one-column row whose value is NULL or empty is ``""``
    rather than a blank line a reader would skip. Values are formatted as Arrow casts them to
    text (``true``, ``2024-01-02 03:04:05.000000+0800``), as version downloads always were.
    """
    yield b"\xef\xbb\xbf"
    if not schema.names:
        return
    yield _csv_lines([_text(pa.array([name], pa.large_string())) for name in schema.names],
                     [True] * len(schema.names))
    for batch in batches:
        checked = [not _is(t, _BINARY + _XLSX_NATIVE) for t in batch.schema.types]
        step = max(1, min(_CSV_CHUNK_ROWS, batch.num_rows * _CSV_CHUNK_BYTES // max(1, batch.nbytes)))
        for start in range(0, batch.num_rows, step):  # chunks of ~8 MB whatever the row width
            chunk = batch.slice(start, step)
            yield _csv_lines([_text(col) for col in chunk.columns], checked)


def _xlsx_column(col: pa.Array) -> list[Any]:
    """Python values openpyxl accepts: numbers, dates and naive datetimes as they are,
    timezone-aware datetimes as ISO text (XLSX refuses them), the rest as safe text."""
    t = col.type
    if pa.types.is_dictionary(t):
        return _xlsx_column(col.dictionary_decode())
    if pa.types.is_timestamp(t) and t.tz is not None:
        return [None if v is None else v.isoformat() for v in col.to_pylist()]
    if pa.types.is_decimal(t) or pa.types.is_int64(t) or pa.types.is_uint64(t):
        return _xlsx_numbers(col)
    if _is(t, _XLSX_NATIVE):
        return col.to_pylist()
    return _text(col).to_pylist()


XLSX_DIGITS = 15  # a spreadsheet keeps a number's first 15 significant digits


def _xlsx_numbers(col: pa.Array) -> list[Any]:
    """Integers and decimals as numbers where a spreadsheet holds them exactly (at most 15
    significant digits), otherwise as their exact text — openpyxl writes every number as a
    double, so 12345678901234567 would arrive as 12345678901234600 and DECIMAL(38)'s
    99…9 as 1E+38.

    >>> _xlsx_numbers(pa.array([1, 10**18, 12345678901234567, None]))
    [1, 1000000000000000000, '12345678901234567', None]
    >>> _xlsx_numbers(pa.array([decimal.Decimal("0.10"), decimal.Decimal("-1234567890123456.7")], pa.decimal128(38, 2)))
    [Decimal('0.10'), '-1234567890123456.70']
    """
    t = col.type
    if pa.types.is_decimal(t) and t.precision <= XLSX_DIGITS:
        return col.to_pylist()
    if pa.types.is_integer(t):
        low, high = pc.min_max(col).values()
        if low.as_py() is None or (low.as_py() > -10**XLSX_DIGITS and high.as_py() < 10**XLSX_DIGITS):
            return col.to_pylist()
    return [v if v is None or _xlsx_exact(v) else (format(v, "f") if isinstance(v, decimal.Decimal) else str(v))
            for v in col.to_pylist()]


def _xlsx_exact(value: int | decimal.Decimal) -> bool:
    """Whether ``value`` has at most 15 significant digits."""
    digits = str(abs(value)) if isinstance(value, int) else "".join(map(str, value.as_tuple().digits))
    return len(digits.strip("0")) <= XLSX_DIGITS


def _too_many_rows(rows: int | None) -> InvalidInput:
    if rows is None:
        return InvalidInput(f"数据超过 XLSX 上限 {XLSX_MAX_ROWS} 行；请下载 CSV 或 Parquet",
                            f"The data exceed the XLSX limit of {XLSX_MAX_ROWS} rows; download CSV or Parquet",
                            code="too_many_rows_for_xlsx")
    return InvalidInput(f"该版本有 {rows} 行，超过 XLSX 上限 {XLSX_MAX_ROWS} 行；请下载 CSV 或 Parquet",
                        f"{rows} rows exceed the XLSX limit of {XLSX_MAX_ROWS}; download CSV or Parquet",
                        code="too_many_rows_for_xlsx")


def xlsx_batches(schema: pa.Schema, batches: Iterable[pa.RecordBatch], *, rows: int | None = None,
                 sheet_title: str = "数据") -> IO[bytes]:
    """A spooled write-only XLSX workbook, one sheet, at most 1,048,575 rows.

    ``rows``, where known, is checked before any work; the rows are counted as they come in
    any case. Where the version and query writers differed, the safer rule is kept: the
    sheet title is made safe and the row limit applies to every caller; nested, binary and
    timezone-aware values are text (openpyxl refuses them); the header row is neutralised.
    """
    from openpyxl import Workbook  # noqa: PLC0415 - openpyxl loads on the first XLSX export

    if rows is not None and rows > XLSX_MAX_ROWS:
        raise _too_many_rows(rows)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=safe_filename(sheet_title, "数据")[:31])
    ws.append(_xlsx_column(pa.array(schema.names, pa.string())))
    written = 0
    try:
        for batch in batches:
            written += batch.num_rows
            if written > XLSX_MAX_ROWS:
                raise _too_many_rows(None)
            for row in zip(*(_xlsx_column(c) for c in batch.columns), strict=True):
                ws.append(row)
    except BaseException:
        with contextlib.suppress(Exception):  # the rows written so far sit in a temporary file: remove it
            ws.close()
            ws._writer.cleanup()
        raise
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed to the response
    wb.save(out)
    out.seek(0)
    return out


def parquet_batches(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> IO[bytes]:
    """One spooled Parquet file (zstd) of the batches, in order."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed to the response
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_batch(batch)
    out.seek(0)
    return out


SPOOL_BYTES = 8 << 20  # a download larger than this waits on disk, not in memory


def csv_file(schema: pa.Schema, batches: Iterable[pa.RecordBatch]) -> IO[bytes]:
    """One spooled CSV file of the batches (see :func:`csv_batches`); memory stays bounded."""
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - handed to the response
    try:
        for chunk in csv_batches(schema, batches):
            out.write(chunk)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def file_chunks(f: IO[bytes], size: int = 1 << 20) -> Iterator[bytes]:
    """A spooled file's bytes in chunks for a streaming response; the file is closed at the end."""
    try:
        while chunk := f.read(size):
            yield chunk
    finally:
        f.close()


def _version_schema(files: Sequence[Path]) -> pa.Schema:
    return pq.read_schema(files[0]) if files else pa.schema([])


def csv_stream(files: Sequence[Path]) -> Iterator[bytes]:
    """The whole version as CSV (see :func:`csv_batches`)."""
    return csv_batches(_version_schema(files), iter_batches(files))


def xlsx_file(files: Sequence[Path], total: int, sheet_title: str = "数据") -> IO[bytes]:
    """The whole version as XLSX (see :func:`xlsx_batches`; at most 1,048,575 rows)."""
    return xlsx_batches(_version_schema(files), iter_batches(files), rows=total, sheet_title=sheet_title)


def parquet_file(files: Sequence[Path]) -> IO[bytes]:
    """One Parquet file of the whole version (parts concatenated, zstd)."""
    return parquet_batches(_version_schema(files), iter_batches(files))
