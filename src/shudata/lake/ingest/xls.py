"""XLS (Excel 97–2003, xlrd): what many departments still send. Merged cells are filled
with their top-left value; dates become ISO text; the first non-empty sheet is the default.

Each sheet's ``DIMENSIONS`` record is read from the workbook stream before the sheet is
loaded, and checked against the column and cell limits; the loaded size is checked again
before any cell is turned into text (a file may declare less than it holds).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from shudata.core.errors import UnsupportedMedia
from shudata.lake.ingest.limits import ReadLimits, check_cells, check_width
from shudata.lake.ingest.sheet import cell_text
from shudata.lake.ingest.source import Cell
from shudata.lake.ingest.xlsx import fill_down, pick_sheet


def read_xls(path: Path, sheet: str | None, limits: ReadLimits | None = None
             ) -> tuple[list[list[Cell]], str, list[str]]:
    import xlrd  # noqa: PLC0415 - xlrd loads on the first XLS read

    limits = limits or ReadLimits()
    try:
        book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
    except Exception as exc:  # xlrd raises many kinds for damaged files
        try:
            book = xlrd.open_workbook(str(path), on_demand=True)
        except Exception:
            raise UnsupportedMedia(f"无法读取 XLS 文件：{exc}；请用 Excel/WPS 另存后上传",
                                   f"Cannot read the XLS file: {exc}; save it again", code="bad_xls") from exc
    try:
        names = book.sheet_names()
        dims = [declared_size(book, i) for i in range(len(names))]
        non_empty = [d[0] > 0 if d is not None else book.sheet_by_index(i).nrows > 0 for i, d in enumerate(dims)]
        chosen = pick_sheet(names, non_empty, sheet)
        index = names.index(chosen)
        if (d := dims[index]) is not None:
            check_width(d[1], limits)
            check_cells(d[0] * d[1], limits)
        sh = book.sheet_by_index(index)
        check_width(sh.ncols, limits)
        check_cells(sh.nrows * sh.ncols, limits)
        rows = [[_value(book, sh.cell(r, c)) for c in range(sh.ncols)] for r in range(sh.nrows)]
        for r0, r1, c0, _c1 in getattr(sh, "merged_cells", []) or []:
            fill_down(rows, r0, r1, c0)
    finally:
        book.release_resources()
    return rows, chosen, names


DIMENSIONS, BOF_EOF, ROW = 0x0200, 0x000A, 0x0208


def declared_size(book: Any, index: int, max_records: int = 20_000) -> tuple[int, int] | None:
    """(rows, columns) from sheet ``index``'s ``DIMENSIONS`` record, read from the workbook
    stream without loading the sheet; ``None`` when the record is not found before the cells."""
    try:
        mem, pos = book.mem, book._sh_abs_posn[index]
    except (AttributeError, IndexError):
        return None
    for _ in range(max_records):
        if pos + 4 > len(mem):
            return None
        code, size = struct.unpack_from("<HH", mem, pos)
        data = mem[pos + 4:pos + 4 + size]
        if code == DIMENSIONS:
            if size >= 14:
                r0, r1, c0, c1 = struct.unpack_from("<IIHH", data)
            elif size >= 10:
                r0, r1, c0, c1 = struct.unpack_from("<HHHH", data)
            else:
                return None
            return max(0, r1 - r0), max(0, c1 - c0)
        if code in (BOF_EOF, ROW):
            return None
        pos += 4 + size
    return None


def _value(book: Any, cell: Any) -> Cell:
    import xlrd  # noqa: PLC0415 - xlrd loads on the first XLS read

    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return cell_text(xlrd.xldate_as_datetime(cell.value, book.datemode))
        except (ValueError, OverflowError):
            return cell_text(cell.value)
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return "true" if cell.value else "false"
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    return cell_text(cell.value)
