"""Where in the caller's SQL a refusal points: the part the workbench's editor marks.

The sandbox's errors name what they refused in ``details`` — a syntax error's line and
column, a forbidden function, a table name, a statement kind, the resource denied — and the
engine's messages quote the name they could not bind. :func:`locate` turns that into a span
of the original text (0-based line and character, as the editor counts them).

>>> locate("SELECT *\\nFROM t WHERE", {"line": 2, "col": 12})["text"]
'WHERE'
>>> locate("select GETENV('HOME')", {"function": "getenv"})["from"]
{'line': 0, 'ch': 7}
>>> locate('SELECT 1 FROM "101001/000001" x', {"names": ["people", "101001/000001"]})["text"]
'"101001/000001"'
>>> locate("SELECT 1", {"table": "people"}) is None
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_WORD = re.compile(r"\w", re.UNICODE)
_QUOTED = re.compile(r'"([^"]{1,200})"')


def _position(sql: str, offset: int) -> dict[str, int]:
    before = sql[:offset]
    line = before.count("\n")
    return {"line": line, "ch": offset - (before.rfind("\n") + 1)}


def _span(sql: str, start: int, end: int) -> dict[str, Any]:
    return {"from": _position(sql, start), "to": _position(sql, end), "text": sql[start:end]}


def _line_col(sql: str, line: int, col: int) -> dict[str, Any] | None:
    """sqlglot's position: 1-based line, the 1-based column where the offending token ends."""
    lines = sql.split("\n")
    if not 1 <= line <= len(lines):
        return None
    base = sum(len(x) + 1 for x in lines[: line - 1])
    end = base + max(1, min(col, len(lines[line - 1])))
    start = end - 1
    while start > base and _WORD.match(sql[start - 1]):
        start -= 1
    if start >= end or sql[start:end].isspace():
        return None
    return _span(sql, start, end)


def _find_name(sql: str, name: str) -> dict[str, Any] | None:
    """The first place ``name`` appears as a quoted identifier or a whole word."""
    for pattern in (r'"' + re.escape(name) + r'"', r"(?<![\w\"])" + re.escape(name) + r"(?![\w\"])"):
        m = re.search(pattern, sql, re.IGNORECASE)
        if m:
            return _span(sql, m.start(), m.end())
    return None


def _find_any(sql: str, names: Iterable[str]) -> dict[str, Any] | None:
    for name in names:
        if name and (span := _find_name(sql, name)) is not None:
            return span
    return None


def locate(sql: str, details: Mapping[str, Any], message: str = "") -> dict[str, Any] | None:
    """The span of ``sql`` a refusal's ``details`` (or its message) points at, or ``None``.

    Keys read from ``details``: ``line``/``col`` (syntax errors), ``function``, ``table``, ``column``,
    ``statement`` (the refused statement kind) and ``names`` (every way of writing a
    denied resource: code, alias, name). Failing those, the first double-quoted name of the
    message that appears in the SQL (the engine's "column "x" not found").
    """
    line, col = details.get("line"), details.get("col")
    if isinstance(line, int) and isinstance(col, int):
        return _line_col(sql, line, col)
    function = details.get("function")
    if isinstance(function, str) and function:
        m = re.search(r"(?<![\w.])" + re.escape(function) + r"\s*\(", sql, re.IGNORECASE)
        if m:
            return _span(sql, m.start(), m.start() + len(function))
    names = [details[k] for k in ("table", "column") if isinstance(details.get(k), str)]
    names += [n for n in details.get("names") or [] if isinstance(n, str)]
    if names and (span := _find_any(sql, names)) is not None:
        return span
    statement = details.get("statement")
    if isinstance(statement, str) and statement.split():
        m = re.search(r"\b" + re.escape(statement.split()[0]) + r"\b", sql, re.IGNORECASE)
        if m:
            return _span(sql, m.start(), m.end())
    return _find_any(sql, _QUOTED.findall(message))
