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

import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import AfterValidator

from shudata.core.errors import InvalidInput

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


# C0 controls but tab, LF and CR; DEL; the bidirectional embeddings, overrides and isolates
# (U+202A-U+202E, U+2066-U+2069) that make text display in another order than it is stored.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


CONTROL_MESSAGE = ("含有不可见的控制字符（如 NUL、ESC 或文字方向控制符），请删去后重试 / contains invisible control "
                   "characters (NUL, ESC, text direction overrides); remove them")


class ControlCharacters(ValueError):
    """A value holds control characters (raised by :func:`no_control_chars` and the validators built
    on it, so a refusal can be told apart in a pydantic error: :func:`is_control_error`)."""


def is_control_error(err: Mapping[str, Any]) -> bool:
    """Whether one error of a pydantic ``ValidationError.errors()`` is a control-character refusal."""
    return isinstance((err.get("ctx") or {}).get("error"), ControlCharacters)


def holds_control_chars(value: Any) -> bool:
    """Whether any text in ``value`` (a string, or strings and keys nested in lists, tuples, sets
    and mappings) holds a control character of :data:`CONTROL_CHARS`.

    >>> holds_control_chars({"labels": ["低", "中\\t"], "mapping": {"a": "b"}})
    False
    >>> holds_control_chars(["x", {"\\x00": 1}])
    True
    """
    if isinstance(value, str):
        return CONTROL_CHARS.search(value) is not None
    if isinstance(value, Mapping):
        return any(holds_control_chars(k) or holds_control_chars(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(holds_control_chars(v) for v in value)
    return False


def no_control_chars(value: str) -> str:
    """``value`` if it holds no control character a person cannot type or see, else ``ValueError``
    with a message for the form (NUL, ESC, a right-to-left override pasted into a title). Tabs and
    line breaks are text.

    >>> no_control_chars("四川省\\t企业名录\\r\\n")
    '四川省\\t企业名录\\r\\n'
    >>> no_control_chars("名录\\x00")
    Traceback (most recent call last):
    shudata.core.textsafe.ControlCharacters: 含有不可见的控制字符（如 NUL、ESC 或文字方向控制符），请删去后重试 / ...
    """
    if CONTROL_CHARS.search(value):
        raise ControlCharacters(CONTROL_MESSAGE)
    return value


PlainText = Annotated[str, AfterValidator(no_control_chars)]
"""Text a person types (titles, reasons, descriptions): no control characters."""


def require_plain_text(value: str | None, field: str) -> str | None:
    """``value`` unchanged, or :class:`~shudata.core.errors.InvalidInput` (422
    ``control_characters``) when it holds a control character — for services that take text as
    a plain argument rather than through a :data:`PlainText` schema field.

    >>> require_plain_text("已核实\\n", "comment"), require_plain_text(None, "comment")
    ('已核实\\n', None)
    >>> require_plain_text("已核实\\x1b[2J", "comment")
    Traceback (most recent call last):
    shudata.core.errors.InvalidInput: comment：含有不可见的控制字符（如 NUL、ESC 或文字方向控制符），请删去后重试
    """
    if value is not None and CONTROL_CHARS.search(value):
        raise InvalidInput(f"{field}：含有不可见的控制字符（如 NUL、ESC 或文字方向控制符），请删去后重试",
                           f"{field}: contains invisible control characters (NUL, ESC, text direction overrides); "
                           "remove them", code="control_characters", details={"field": field})
    return value
