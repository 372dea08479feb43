"""Read rule sets and pipelines written as YAML or JSON (JSON is valid YAML).

>>> parse_spec_text("rules:\\n  - {type: not_null, column: 名称}")
{'rules': [{'type': 'not_null', 'column': '名称'}]}
>>> parse_spec_text("rules:\\n  - {type: date, column: 日期, min: 2020-01-01, max: 2020-13-01}")["rules"][0]["min"]
'2020-01-01'
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


class SpecLoader(yaml.SafeLoader):
    """YAML's safe loader, except that an unquoted date (``min: 2020-01-01``) stays the text it
    is written as: rules and pipelines expect dates as ``YYYY-MM-DD`` text, and an impossible
    date (``2020-13-01``) is then refused by the rule, in Chinese, not by the YAML reader."""


SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_spec_text(text: str) -> Any:
    try:
        data = yaml.load(text, Loader=SpecLoader)  # a SafeLoader subclass
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
