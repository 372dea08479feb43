"""Guess where the table is in a real-world sheet: title rows above, section rows inside,
notes below. Works on rows of text cells (``None`` or ``""`` = empty).

Real exports (NBS, ministries) look like::

    数据库：分省年度数据          <- title rows (one filled cell)
    地区,2024年,2023年            <- header
    北京市,49670.2,47353.7        <- data
    注：…                         <- footer notes
    数据来源：国家统计局

>>> rows = [["数据库：分省年度数据"], ["指标：GDP"], ["地区", "2024年", "2023年"],
...         ["北京市", "1.0", "2.0"], ["天津市", "3.0", ""], ["注：修订"], ["数据来源：国家统计局"]]
>>> guess_header(rows)
2
>>> footer_count(rows, 3)
2
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

from shudata.core.errors import InvalidInput

Row = Sequence[str | None]

FOOTER_PREFIXES = ("注", "数据来源", "资料来源", "来源：", "来源:", "说明", "备注：", "备注:", "附注",
                   "Note", "NOTE", "Source", "SOURCE", "*")
HEAD_WINDOW = 40
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")


def filled(row: Row) -> int:
    """Number of non-empty cells.

    >>> filled(["a", "", None, " ", "b"])
    2
    """
    return sum(1 for c in row if c and (not isinstance(c, str) or not c.isspace()))


def first_text(row: Row) -> str:
    for c in row:
        if c is not None and str(c).strip():
            return str(c).strip()
    return ""


def is_numberish(text: str) -> bool:
    """A number, possibly with thousands separators or a percent sign.

    >>> is_numberish("12.5"), is_numberish("2024年"), is_numberish("-3")
    (True, False, True)
    """
    return bool(_NUMBER_RE.match(text.strip().replace(",", "")))


def guess_header(rows: Sequence[Row]) -> int:
    """Index (0-based) of the most likely header row among the first rows.

    A header is a well-filled row of mostly non-numeric text followed by rows of the same
    width; title rows (one filled cell) and blank rows before it are skipped.
    """
    head = list(rows[:HEAD_WINDOW])
    if not head:
        return 0
    width = max((filled(r) for r in head), default=0)
    if width <= 1:
        return next((i for i, r in enumerate(head) if filled(r) == 1), 0)
    best, best_score = 0, -1.0
    for i, row in enumerate(head):
        n = filled(row)
        if n < max(2, (width + 1) // 2):
            continue
        texts = [str(c).strip() for c in row if c is not None and str(c).strip()]
        if len(set(texts)) < len(texts) / 2:  # a filled-across title, not a header
            continue
        numeric = sum(1 for t in texts if is_numberish(t)) / len(texts)
        below = [r for r in head[i + 1:i + 8] if filled(r) > 1]
        support = sum(1 for r in below if filled(r) >= max(2, n // 2)) / max(1, len(below)) if below else 0.5
        score = n / width + support - numeric - 0.01 * i
        if score > best_score + 0.05:
            best, best_score = i, score
        if score >= 1.9:  # full row, fully supported, text only: take the first such
            return i
    return best


def is_footer_row(row: Row, width: int) -> bool:
    """A note or blank row below the table.

    >>> is_footer_row(["数据来源：国家统计局", "", ""], 3)
    True
    >>> is_footer_row(["成都市", "1", "2"], 3)
    False
    """
    n = filled(row)
    if n == 0:
        return True
    text = first_text(row)
    if text.startswith(FOOTER_PREFIXES):
        return True
    return width >= 3 and n == 1 and not is_numberish(text)


def footer_count(rows: Sequence[Row], width: int) -> int:
    """How many trailing rows are footer notes or blank lines."""
    k = 0
    for row in reversed(rows):
        if not is_footer_row(row, width):
            break
        k += 1
    return k


def is_section_row(row: Row, width: int) -> bool:
    """A section heading inside the table such as ``四川省（109所）``: only the first cell is filled.

    >>> is_section_row(["四川省（109所）", "", "", ""], 4)
    True
    >>> is_section_row(["成都", "", "", "1"], 4)
    False
    """
    return width >= 3 and filled(row) == 1 and bool(row) and row[0] is not None and str(row[0]).strip() != ""


def normalize_name(name: str) -> str:
    """Column names compare after NFKC, whitespace and BOM removal.

    >>> normalize_name(" 地区生产总值（亿元）\\ufeff")
    '地区生产总值(亿元)'
    """
    return unicodedata.normalize("NFKC", name.replace("\ufeff", "")).strip()


def column_names(header: Row, width: int) -> list[str]:
    """Names from the header row; empty cells become ``列N``; duplicates are refused.

    >>> column_names(["", "GDP", None], 3)
    ['列1', 'GDP', '列3']
    """
    cells = list(header) + [None] * (width - len(header))
    names = []
    for i, c in enumerate(cells[:width]):
        text = str(c).replace("\ufeff", "").replace("\n", " ").strip() if c is not None else ""
        if isinstance(c, float) and c.is_integer():
            text = str(int(c))
        names.append(text or f"列{i + 1}")
    dup = sorted(n for n, k in Counter(names).items() if k > 1)
    if dup:
        raise InvalidInput(f"表头中有重复的列名：{'、'.join(dup)}；请修改表头后重新上传",
                           f"Duplicate column names in the header: {', '.join(dup)}; rename them and upload again",
                           code="duplicate_columns", details={"duplicates": dup})
    return names
