"""XLSX (openpyxl): pick a sheet (default: the first non-empty), fill merged cells with
their top-left value, use formulas' cached results and refuse formulas without one."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shudata.core.errors import InvalidInput, UnsupportedMedia
from shudata.lake.ingest.sheet import cell_text
from shudata.lake.ingest.source import Cell

FULL_MODE_MAX_BYTES = 30 << 20


def _open(path: Path, *, read_only: bool, data_only: bool) -> Any:
    """Open by file object: uploads are temp files without an extension, which openpyxl refuses by name."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

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
    """
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


def read_xlsx(path: Path, sheet: str | None) -> tuple[list[list[Cell]], str, list[str]]:
    """Rows of text cells of the chosen sheet, the sheet name and all sheet names."""
    big = path.stat().st_size > FULL_MODE_MAX_BYTES
    wb = _open(path, read_only=big, data_only=True)
    try:
        names = list(wb.sheetnames)
        non_empty = [(wb[n].max_row or 0) > 1 or (wb[n].max_column or 0) > 1 for n in names]
        chosen = pick_sheet(names, non_empty, sheet)
        ws = wb[chosen]
        rows = [[cell_text(v) for v in r] for r in ws.iter_rows(values_only=True)]
        if not big:
            _fill_merged(ws, rows)
    finally:
        wb.close()
    if not big and _has_formulas(path):
        _check_formulas(path, chosen, rows)
    return rows, chosen, names


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
    with zipfile.ZipFile(path) as z:
        return any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in z.namelist()
                   if n.startswith("xl/worksheets/sheet"))


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
