"""Small XLSX writer for catalog lists: every text cell goes through ``safe_cell``, and
control characters XLSX cannot hold (anything below U+0020 but tab, LF and CR) are dropped
instead of failing the whole export.

>>> data = workbook_bytes([("清单", ["名称"], [["=1+2"], ["成都"], ["成" + chr(0) + "都" + chr(27)]])])
>>> from openpyxl import load_workbook
>>> import io
>>> [c.value for c in load_workbook(io.BytesIO(data)).active["A"]]
['名称', "'=1+2", '成都', '成都']
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from shudata.core.textsafe import safe_cell

Sheet = tuple[str, Sequence[str], Iterable[Sequence[Any]]]


def cell(value: Any) -> Any:
    """A value ready for a worksheet: formula-safe, without characters XLSX cannot store."""
    value = safe_cell(value)
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """An XLSX file with one sheet per ``(title, headers, rows)``; headers bold and frozen."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, headers, rows in sheets:
        ws = wb.create_sheet(title=title[:31])
        ws.append([cell(h) for h in headers])
        for head in ws[1]:
            head.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for row in rows:
            ws.append([cell(v) for v in row])
        for i, h in enumerate(headers, start=1):
            ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, min(40, len(str(h)) * 2 + 4))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
