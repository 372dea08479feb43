"""XLSX (openpyxl): pick a sheet (default: the first non-empty), fill merged cells with
their top-left value, use formulas' cached results and refuse formulas without one.

The zip directory is checked first (unpacked size, compression ratio: no zip bombs), then
the sheet's declared ``dimension`` against the column and cell limits, before any cell is
read. Small sheets are read in openpyxl's full mode (merged cells, formulas); the rest are
streamed in read-only mode, cells counted as they come, so a sheet that declares no or a
false dimension is stopped at the limit too, and merged ranges are read from the XML.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from shudata.core.errors import InvalidInput, UnsupportedMedia
from shudata.lake.ingest.limits import ReadLimits, check_cells, check_shared_strings, check_width, check_zip
from shudata.lake.ingest.sheet import cell_text
from shudata.lake.ingest.source import Cell

FULL_MODE_MAX_BYTES = 30 << 20
FULL_MODE_MAX_CELLS = 250_000  # openpyxl's full mode holds ~450 bytes per cell
FULL_MODE_MAX_XML = 6 << 20  # and parses the whole sheet first: at most ~400k cells of XML
_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell [^>]*ref="([A-Z]+)(\d+):[A-Z]+(\d+)"')


def _open(path: Path, *, read_only: bool, data_only: bool) -> Any:
    """Open by file object: uploads are temp files without an extension, which openpyxl refuses by name."""
    from openpyxl import load_workbook  # noqa: PLC0415 - openpyxl loads on the first XLSX read
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415 - openpyxl loads on the first XLSX read

    try:
        return load_workbook(io.BytesIO(path.read_bytes()) if not read_only else path.open("rb"),
                             read_only=read_only, data_only=data_only)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, InvalidFileException) as exc:
        raise UnsupportedMedia(f"无法读取 XLSX 文件：{exc}；请用 Excel/WPS 另存为 .xlsx 后上传",
                               f"Cannot read the XLSX file: {exc}; save it again as .xlsx", code="bad_xlsx") from exc


def pick_sheet(names: Sequence[str], non_empty: Sequence[bool], wanted: str | None) -> str:
    """The requested sheet, else the first non-empty one.

    >>> pick_sheet(["说明", "数据"], [False, True], None)
    '数据'
    >>> pick_sheet([], [], None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    shudata.core.errors.InvalidInput: XLSX 文件中没有工作表...
    """
    if not names:
        raise InvalidInput("XLSX 文件中没有工作表；请在 Excel/WPS 中打开并确认有数据后另存为 .xlsx",
                           "The XLSX file has no worksheet; open it in Excel/WPS and save it with its data",
                           code="bad_sheet", details={"sheets": []})
    if wanted is not None:
        if wanted in names:
            return wanted
        if wanted.isdigit() and 1 <= int(wanted) <= len(names):
            return names[int(wanted) - 1]
        raise InvalidInput(f"工作表“{wanted}”不存在；可选：{'、'.join(names)}",
                           f"No sheet {wanted!r}; sheets: {', '.join(names)}", code="bad_sheet",
                           details={"sheets": list(names)})
    for n, ok in zip(names, non_empty, strict=True):
        if ok:
            return n
    return names[0]


def read_xlsx(path: Path, sheet: str | None, limits: ReadLimits | None = None
              ) -> tuple[list[list[Cell]], str, list[str]]:
    """Rows of text cells of the chosen sheet, the sheet name and all sheet names.

    Raises:
        PayloadTooLarge: the file unpacks too large or too well (a zip bomb), or the sheet has
            more columns or cells than ``limits`` allow (checked before the cells are read).
        UnsupportedMedia: a part of the file is not well-formed XML (damaged, or built to
            expand entities), wherever openpyxl meets it: opening or reading the cells.
    """
    try:
        return _read_xlsx(path, sheet, limits or ReadLimits())
    except SyntaxError as exc:  # xml.etree's ParseError (lxml's XMLSyntaxError too) subclasses it
        raise UnsupportedMedia(f"XLSX 文件内部的 XML 无效（{exc}）；请用 Excel/WPS 另存为 .xlsx 后上传",
                               f"The XLSX file holds invalid XML ({exc}); save it again as .xlsx",
                               code="bad_xlsx") from exc


def _read_xlsx(path: Path, sheet: str | None, limits: ReadLimits) -> tuple[list[list[Cell]], str, list[str]]:
    check_zip(path, limits)
    with zipfile.ZipFile(path) as z:
        check_shared_strings(z, limits)
    wb = _open(path, read_only=True, data_only=True)
    try:
        names = list(wb.sheetnames)
        sizes = [_declared(wb[n]) for n in names]
        chosen = pick_sheet(names, [s is None or s[0] > 1 or s[1] > 1 for s in sizes], sheet)
        declared = sizes[names.index(chosen)]
        if declared is not None:
            check_width(declared[1], limits)
            check_cells(declared[0] * declared[1], limits)
        ws = wb[chosen]
        member = str(ws._worksheet_path)
        full = (declared is not None and declared[0] * declared[1] <= FULL_MODE_MAX_CELLS
                and _unpacked(path, member) <= FULL_MODE_MAX_XML and path.stat().st_size <= FULL_MODE_MAX_BYTES)
        if not full:
            ws.reset_dimensions()  # read every row there is, not only those the dimension admits
            rows = list(_counted(ws.iter_rows(values_only=True), limits))
            _fill_ranges(rows, _merged_ranges(path, member))
    finally:
        wb.close()
    if full:
        rows = _read_full(path, chosen, limits)
        if _has_formulas(path):
            _check_formulas(path, chosen, rows)
    return rows, chosen, names


def _declared(ws: Any) -> tuple[int, int] | None:
    """(rows, columns) from the sheet's ``dimension`` element, when it has one."""
    if ws.max_row is None or ws.max_column is None:
        return None
    return int(ws.max_row), int(ws.max_column)


def _counted(rows: Any, limits: ReadLimits) -> Iterator[list[Cell]]:
    """Text rows, refusing as soon as a row is too wide or the cells pass the limit."""
    cells = 0
    for r in rows:
        check_width(len(r), limits)
        cells += len(r)
        check_cells(cells, limits)
        yield [cell_text(v) for v in r]


def _read_full(path: Path, sheet: str, limits: ReadLimits) -> list[list[Cell]]:
    wb = _open(path, read_only=False, data_only=True)
    try:
        ws = wb[sheet]
        rows = list(_counted(ws.iter_rows(values_only=True), limits))
        _fill_merged(ws, rows)
    finally:
        wb.close()
    return rows


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _unpacked(path: Path, member: str) -> int:
    with zipfile.ZipFile(path) as z:
        return z.getinfo(member).file_size


def _merged_ranges(path: Path, member: str) -> list[tuple[int, int, int]]:
    """``(first row, last row, first column)`` (0-based, end exclusive) of the merged ranges,
    read from the sheet XML in 1 MiB chunks (they follow the cells)."""
    out: list[tuple[int, int, int]] = []
    tail = b""
    with zipfile.ZipFile(path) as z, z.open(member) as f:
        while chunk := f.read(1 << 20):
            data = tail + chunk
            cut = data.rfind(b"<")
            for m in _MERGE_RE.finditer(data, 0, cut if cut > 0 else len(data)):
                out.append((int(m.group(2)) - 1, int(m.group(3)), _column_number(m.group(1)) - 1))
            tail = data[cut:] if cut > 0 else b""
            if len(tail) > 4096:
                tail = b""
    for m in _MERGE_RE.finditer(tail):
        out.append((int(m.group(2)) - 1, int(m.group(3)), _column_number(m.group(1)) - 1))
    return out


def _fill_ranges(rows: list[list[Cell]], ranges: list[tuple[int, int, int]]) -> None:
    for r0, r1, c0 in ranges:
        fill_down(rows, r0, r1, c0)


def _fill_merged(ws: Any, rows: list[list[Cell]]) -> None:
    for rng in ws.merged_cells.ranges:
        fill_down(rows, rng.min_row - 1, rng.max_row, rng.min_col - 1)


def fill_down(rows: list[list[Cell]], r0: int, r1: int, c0: int) -> None:
    """A merged block repeats its value down its first column (a region spanning rows of
    data); merges across columns (titles, group headings) keep the value in the first cell.

    >>> rows = [["成都", "1"], [None, "2"], ["标题", None]]
    >>> fill_down(rows, 0, 2, 0); rows
    [['成都', '1'], ['成都', '2'], ['标题', None]]
    """
    if r0 >= len(rows) or c0 >= len(rows[r0]):
        return
    value = rows[r0][c0]
    for r in range(r0 + 1, min(r1, len(rows))):
        if c0 < len(rows[r]):
            rows[r][c0] = value


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet holds a formula (``<f>``), reading each in 1 MiB chunks."""
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if not name.startswith("xl/worksheets/sheet"):
                continue
            tail = b""
            with z.open(name) as f:
                while chunk := f.read(1 << 20):
                    data = tail + chunk
                    if b"<f>" in data or b"<f " in data:
                        return True
                    tail = data[-3:]
    return False


def _check_formulas(path: Path, sheet: str, rows: list[list[Cell]]) -> None:
    """Formula cells without a cached result would be stored empty: refuse them clearly."""
    wb = _open(path, read_only=False, data_only=False)
    try:
        for r, row in enumerate(wb[sheet].iter_rows()):
            for c, cell in enumerate(row):
                if cell.data_type == "f" and (r >= len(rows) or c >= len(rows[r]) or rows[r][c] is None):
                    ref = cell.coordinate
                    raise InvalidInput(
                        f"单元格 {ref} 是公式“{str(cell.value)[:60]}”且没有计算结果；请在 Excel/WPS 中打开、"
                        "保存（或复制为数值）后重新上传",
                        f"Cell {ref} holds a formula with no computed value; open and save it in Excel/WPS "
                        "(or paste as values) and upload again", code="formula_without_value",
                        details={"cell": ref})
    finally:
        wb.close()
