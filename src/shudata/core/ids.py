"""Numeric ids in text: only plain ASCII digits that fit a 64-bit column.

``str.isdigit()`` is true for superscripts and other digits that ``int()`` refuses (``"²"``),
and ``int()`` refuses more than 4,300 digits; a number above 2^63 - 1 names no row and
SQLite cannot even bind it. Callers that look a row up by an id typed by a person use
:func:`parse_id` and treat ``None`` as "not an id".

>>> parse_id("42"), parse_id(" 7 "), parse_id("²³"), parse_id("٣"), parse_id("9" * 30), parse_id("-1")
(42, 7, None, None, None, None)
"""

from __future__ import annotations

MAX_ID = 2**63 - 1


def parse_id(text: str | None) -> int | None:
    """The id written in ``text`` (ASCII digits, at most 2^63 - 1), else ``None``."""
    s = (text or "").strip()
    if not s or len(s) > 19 or not s.isascii() or not s.isdigit():
        return None
    n = int(s)
    return n if n <= MAX_ID else None
