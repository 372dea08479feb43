"""An action's parameters with CKAN's conversions (its ``data_dict``, typed on read).

The same mapping arrives from a query string, a JSON body, a form or the command line
(``key=value``); each action reads what it needs through these typed accessors, so a bad
value is the same :class:`~shudata.core.errors.InvalidInput` (code ``validation_error``,
``details.field``) whichever entry point sent it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shudata.core.errors import InvalidInput

MAX_INT = 2**63 - 1  # offsets and limits beyond 64 bits name nothing (and SQLite cannot bind them)


def invalid(key: str, zh: str, en: str) -> InvalidInput:
    """The refusal of one parameter (CKAN's ``Validation Error`` with the field named)."""
    return InvalidInput(f"参数 {key}：{zh}", f"{key}: {en}", code="validation_error", details={"field": key})


class Params:
    """An action's parameters (query string, JSON body, form or CLI ``key=value``), with
    CKAN's conversions. ``error`` carries a body that could not be read at all.

    >>> p = Params({"rows": "5", "all_fields": "true", "fields": "a, b"})
    >>> p.integer("rows", 10), p.flag("all_fields", False), p.names("fields")
    (5, True, ['a', 'b'])
    """

    def __init__(self, values: Mapping[str, Any], error: str | None = None) -> None:
        self.values, self.error = dict(values), error

    def check(self) -> None:
        """Refuse parameters that could not be read at all (a body that is not a JSON object)."""
        if self.error:
            raise InvalidInput(self.error, self.error, code="validation_error")

    def raw(self, key: str) -> Any:
        return self.values.get(key)

    def text(self, key: str, default: str | None = None) -> str | None:
        v = self.values.get(key)
        if v is None or v == "":
            return default
        if isinstance(v, dict | list):
            raise invalid(key, "应为文本", "must be text")
        return str(v)

    def required(self, key: str) -> str:
        v = self.text(key)
        if v is None or not v.strip():
            raise invalid(key, "缺少参数", "Missing value")
        return v.strip()

    def integer(self, key: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
        v = self.values.get(key)
        if v is None or v == "":
            return default
        try:
            n = int(str(v).strip())
        except ValueError:
            raise invalid(key, "应为整数", "Invalid integer") from None
        if n < minimum:
            raise invalid(key, f"不能小于 {minimum}", f"Must be at least {minimum}")
        if n > MAX_INT:
            raise invalid(key, f"不能大于 {MAX_INT}", f"Must be at most {MAX_INT}")
        return min(n, maximum) if maximum is not None else n

    def flag(self, key: str, default: bool) -> bool:
        v = self.values.get(key)
        if v is None or v == "":
            return default
        if isinstance(v, bool):
            return v
        s = str(v).strip().lower()
        if s in ("true", "1", "yes", "on"):
            return True
        if s in ("false", "0", "no", "off"):
            return False
        raise invalid(key, "应为 true 或 false", "Must be true or false")

    def json(self, key: str) -> Any:
        """A value CKAN accepts either as JSON text or as structured JSON."""
        v = self.values.get(key)
        if isinstance(v, str) and v.strip()[:1] in ("{", "["):
            try:
                return json.loads(v)
            except ValueError:
                raise invalid(key, "不是有效的 JSON", "Not valid JSON") from None
        return v

    def names(self, key: str) -> list[str] | None:
        """A list given as a JSON list, a list or comma-separated text."""
        v = self.json(key)
        if v is None or v == "":
            return None
        if isinstance(v, str):
            return [s.strip() for s in v.split(",") if s.strip()]
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return list(v)
        raise invalid(key, "应为字段名列表", "Must be a list of names")
