"""Text safety for exports: neutralise spreadsheet formula injection (CSV/XLSX).

A cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is executed as
a formula by Excel/WPS. Such text values get a leading single quote, as OWASP
recommends. Numbers are left alone (``-3`` as a number is fine).

>>> safe_cell("=1+2")
"'=1+2"
>>> safe_cell("-1+2"), safe_cell("成都市"), safe_cell(-3)
("'-1+2", '成都市', -3)
"""

from __future__ import annotations

from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_filename(name: str, default: str = "download") -> str:
    """A file name safe for Content-Disposition and disks, keeping Chinese characters.

    >>> safe_filename("../../etc/passwd")
    'passwd'
    >>> safe_filename("四川省 GDP.csv")
    '四川省_GDP.csv'
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".")
    cleaned = "".join(c if (c.isalnum() or c in "._-") else "_" for c in base)
    return cleaned[:150] or default
