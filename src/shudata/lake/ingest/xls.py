"""XLS (Excel 97–2003, xlrd): what many departments still send. Merged cells are filled
with their top-left value; dates become ISO text; the first non-empty sheet is the default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shudata.core.errors import UnsupportedMedia
from shudata.lake.ingest.sheet import cell_text
from shudata.lake.ingest.source import Cell
from shudata.lake.ingest.xlsx import fill_down, pick_sheet


def read_xls(path: Path, sheet: str | None) -> tuple[list[list[Cell]], str, list[str]]:
    import xlrd

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
        non_empty = [book.sheet_by_index(i).nrows > 0 for i in range(len(names))]
        chosen = pick_sheet(names, non_empty, sheet)
        sh = book.sheet_by_name(chosen)
        rows = [[_value(book, sh.cell(r, c)) for c in range(sh.ncols)] for r in range(sh.nrows)]
        for r0, r1, c0, _c1 in getattr(sh, "merged_cells", []) or []:
            fill_down(rows, r0, r1, c0)
    finally:
        book.release_resources()
    return rows, chosen, names


def _value(book: Any, cell: Any) -> Cell:
    import xlrd

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
