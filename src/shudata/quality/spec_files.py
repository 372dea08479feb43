"""Read rule sets and pipelines written as YAML or JSON (JSON is valid YAML).

>>> parse_spec_text("rules:\\n  - {type: not_null, column: 名称}")
{'rules': [{'type': 'not_null', 'column': '名称'}]}
>>> parse_spec_text("rules: [")
Traceback (most recent call last):
...
shudata.core.errors.InvalidInput: 规则文件不是有效的 YAML/JSON：...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shudata.core.errors import InvalidInput


def parse_spec_text(text: str) -> Any:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f"（第 {where.line + 1} 行）" if where is not None else ""
        raise InvalidInput(f"规则文件不是有效的 YAML/JSON：{line}{getattr(exc, 'problem', exc)}",
                           f"Not valid YAML/JSON: {exc}", code="spec_unreadable") from exc
    if data is None:
        raise InvalidInput("规则文件为空", "The file is empty", code="spec_unreadable")
    return data


def load_spec(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput("规则文件须为 UTF-8 编码", "Spec files must be UTF-8", code="spec_unreadable") from exc
    return parse_spec_text(text)
