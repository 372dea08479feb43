"""Small XLSX writer for catalog lists: every text cell goes through ``safe_cell``.

>>> data = workbook_bytes([("清单", ["名称"], [["=1+2"], ["成都"]])])
>>> from openpyxl import load_workbook
>>> import io
>>> [c.value for c in load_workbook(io.BytesIO(data)).active["A"]]
['名称', "'=1+2", '成都']
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from shudata.core.textsafe import safe_cell

Sheet = tuple[str, Sequence[str], Iterable[Sequence[Any]]]


def workbook_bytes(sheets: Sequence[Sheet]) -> bytes:
    """An XLSX file with one sheet per ``(title, headers, rows)``; headers bold and frozen."""
    wb = Workbook()
    wb.remove(wb.active)
    for title, headers, rows in sheets:
        ws = wb.create_sheet(title=title[:31])
        ws.append([safe_cell(h) for h in headers])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        for row in rows:
            ws.append([safe_cell(v) for v in row])
        for i, h in enumerate(headers, start=1):
            ws.column_dimensions[ws.cell(1, i).column_letter].width = max(10, min(40, len(str(h)) * 2 + 4))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
