"""The base of every rule spec and the parsing of rule dicts into typed specs.

Concrete rule types live in :mod:`shudata.quality.rules`; the plugin manager knows them
through the ``quality_rule_types`` hook (built-ins: :mod:`shudata.quality.providers`), so
parsing sees them whichever modules were imported before.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from enum import StrEnum
from types import UnionType
from typing import Any, ClassVar, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shudata.core.errors import InvalidInput
from shudata.core.plugins import PluginManager, default_plugins
from shudata.core.validation import MESSAGES_ZH, show_value

Severity = Literal["block", "warn", "report"]
SEVERITY_LABELS = {"block": ("拦截（隔离）", "block (quarantine)"), "warn": ("警告", "warn"),
                   "report": ("仅报告", "report only")}


class Dimension(StrEnum):
    """Quality dimensions of GB/T 36344-2018 (as named in the platform)."""

    COMPLETENESS = "completeness"  # 完整性
    VALIDITY = "validity"  # 规范性/有效性
    CONSISTENCY = "consistency"  # 一致性
    UNIQUENESS = "uniqueness"  # 唯一性
    TIMELINESS = "timeliness"  # 时效性
    ACCURACY = "accuracy"  # 准确性


DIMENSION_LABELS: dict[str, tuple[str, str]] = {
    "completeness": ("完整性", "completeness"), "validity": ("规范性", "validity"),
    "consistency": ("一致性", "consistency"), "uniqueness": ("唯一性", "uniqueness"),
    "timeliness": ("时效性", "timeliness"), "accuracy": ("准确性", "accuracy"),
}


class RuleBase(BaseModel):
    """Fields every rule has. ``scope`` is ``row`` (each row passes or fails, failing rows can
    be quarantined) or ``dataset`` (one verdict for the whole version)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule_type: ClassVar[str] = ""
    scope: ClassVar[Literal["row", "dataset"]] = "row"
    default_dimension: ClassVar[Dimension] = Dimension.VALIDITY

    type: str
    id: str | None = Field(None, max_length=80, description="规则标识（同一规则集内唯一）；默认 类型:列")
    severity: Severity = Field("warn", description="block 拦截并隔离 / warn 警告 / report 仅报告")
    threshold: float = Field(0.0, ge=0.0, le=1.0, description="可容忍的不通过比例（0–1）")
    dimension: Dimension | None = Field(None, description="质量维度；默认按规则类型")
    note: str | None = Field(None, max_length=500, description="说明")

    @property
    def key(self) -> str:
        return self.id or f"{self.type}:{','.join(self.columns_used())}"

    @property
    def dimension_value(self) -> str:
        return str((self.dimension or self.default_dimension).value)

    def columns_used(self) -> tuple[str, ...]:
        """Columns of the checked table this rule reads."""
        return ()

    def describe(self) -> tuple[str, str]:
        """(Chinese, English) sentence saying what a passing row looks like."""
        raise NotImplementedError

    def sentence(self, lang: str = "zh-CN") -> str:
        zh, en = self.describe()
        return en if lang.startswith("en") else zh


class ColumnRule(RuleBase):
    column: str = Field(min_length=1, max_length=100)

    def columns_used(self) -> tuple[str, ...]:
        return (self.column,)


def rule_types(plugins: PluginManager | None = None) -> Mapping[str, type[RuleBase]]:
    """The rule types of ``plugins`` (default: the built-ins) by ``rule_type``: what the
    ``quality_rule_types`` hook returns, gathered once per manager (explicit, no metaclass)."""
    return (plugins or default_plugins()).types_by_name("quality_rule_types", "rule_type")


# pydantic error type -> Chinese explanation ({…} are filled from the error's context): the
# platform's one table (core.validation), with the wording of a rule file where it differs
ERROR_ZH: dict[str, str] = MESSAGES_ZH | {
    "missing": "缺少必填字段",
    "extra_forbidden": "该规则类型没有这个字段（请检查拼写，或删去它）",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为列表，如 [甲, 乙]",
}
YAML_DATE_HINT = "；YAML 把未加引号的 {value} 读成了日期，请给日期加引号，如 '{value}'"


def _where(loc: tuple[int | str, ...], lang: str) -> str:
    """``('values', 2)`` -> 字段“values”第 3 项 / field 'values' item 3."""
    if not loc:
        return "规则" if lang == "zh" else "rule"
    name = ".".join(str(p) for p in loc if not isinstance(p, int))
    items = [p + 1 for p in loc if isinstance(p, int)]
    if lang == "zh":
        return f"字段“{name}”" + "".join(f"第 {i} 项" for i in items) if name else "".join(f"第 {i} 项" for i in items)
    return f"field {name!r}" + "".join(f" item {i}" for i in items) if name else " ".join(f"item {i}" for i in items)


def error_zh(error: Any) -> str:
    """One pydantic error in Chinese, the English message kept after it.

    >>> print(error_zh({"type": "float_type", "loc": ("min",), "msg": "not a number", "input": dt.date(2020, 1, 1)}))
    字段“min”：应为数字；YAML 把未加引号的 2020-01-01 读成了日期，请给日期加引号，如 '2020-01-01'（not a number）
    >>> print(error_zh({"type": "greater_than_equal", "loc": ("threshold",), "msg": "Input should be ≥ 0",
    ...                 "input": -1, "ctx": {"ge": 0.0}}))
    字段“threshold”：须大于或等于 0（Input should be ≥ 0）
    """
    etype, msg, ctx = str(error.get("type", "")), str(error.get("msg", "")), dict(error.get("ctx") or {})
    if etype in ("value_error", "assertion_error"):
        reason = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return f"{_where(tuple(error.get('loc') or ()), 'zh')}：{reason}"  # our own reasons say both languages
    template = ERROR_ZH.get(etype)
    try:
        zh = template.format(**{k: show_value(v, k == "expected") for k, v in ctx.items()}) if template else "取值无效"
    except (KeyError, IndexError):
        zh = "取值无效"
    value = error.get("input")
    if isinstance(value, dt.date) and etype not in ("date_type", "date_parsing"):
        zh += YAML_DATE_HINT.format(value=value.isoformat())
    return f"{_where(tuple(error.get('loc') or ()), 'zh')}：{zh}（{msg}）"


def errors_text(exc: ValidationError) -> str:
    """Every error of ``exc`` explained in Chinese (the English message in brackets), joined by ；."""
    return "；".join(error_zh(e) for e in exc.errors())


def errors_text_en(exc: ValidationError) -> str:
    return "; ".join(f"{_where(tuple(e['loc']), 'en')}: {e['msg']}" for e in exc.errors())


def _accepts(annotation: Any, kind: type) -> bool:
    """Whether ``annotation`` (``str``, ``str | None``, …) takes a plain ``kind`` value."""
    if annotation is kind:
        return True
    return any(_accepts(a, kind) for a in get_args(annotation)) if get_origin(annotation) in (Union, UnionType) \
        else False


def _as_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def coerce_yaml_scalars(cls: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """YAML reads ``min: 2020-01-01`` as a date and ``values: [1, 2]`` as numbers: where the rule
    expects text (``str`` or a list of ``str``), such values become their ISO/decimal text.

    >>> class R(BaseModel):
    ...     since: str | None = None
    ...     values: list[str] = []
    ...     threshold: float = 0.0
    >>> coerce_yaml_scalars(R, {"since": dt.date(2020, 1, 1), "values": [1, "2A"], "threshold": 1})
    {'since': '2020-01-01', 'values': ['1', '2A'], 'threshold': 1}
    """
    out = dict(data)
    for name, field in cls.model_fields.items():
        if name not in out:
            continue
        value, ann = out[name], field.annotation
        if _accepts(ann, str):
            out[name] = _as_text(value)
        elif isinstance(value, list) and any(get_origin(a) is list and get_args(a) == (str,)
                                             for a in (ann, *get_args(ann))):
            out[name] = [_as_text(v) for v in value]
    return out


def _rule_label(index: int | None, rule_type: Any) -> tuple[str, str]:
    if index is None:
        return f"规则“{rule_type}”", f"Rule {rule_type!r}"
    return f"规则 #{index}（{rule_type}）", f"Rule #{index} ({rule_type})"


def parse_rule(data: Any, index: int | None = None, *, plugins: PluginManager | None = None) -> RuleBase:
    """Build the typed spec for one rule dict; ``InvalidInput`` naming the problem otherwise
    (``index``, 1-based, names the rule's place in its rule set; ``plugins``: whose rule
    types, default the built-ins)."""
    if isinstance(data, RuleBase):
        return data
    at_zh, at_en = (f"规则 #{index}：", f"Rule #{index}: ") if index is not None else ("", "")
    if not isinstance(data, dict) or "type" not in data:
        raise InvalidInput(f"{at_zh}每条规则须是含 type 字段的对象",
                           f"{at_en}Each rule must be an object with a 'type' field", code="rule_invalid")
    types = rule_types(plugins)
    cls = types.get(str(data["type"]))
    if cls is None:
        known = "、".join(sorted(types))
        raise InvalidInput(f"{at_zh}未知的规则类型“{data['type']}”；可用类型：{known}",
                           f"{at_en}Unknown rule type {data['type']!r}; known types: {', '.join(sorted(types))}",
                           code="rule_unknown_type")
    try:
        return cls.model_validate(coerce_yaml_scalars(cls, data))
    except ValidationError as exc:
        zh, en = _rule_label(index, data["type"])
        raise InvalidInput(f"{zh}有误：{errors_text(exc)}", f"{en} is invalid: {errors_text_en(exc)}",
                           code="rule_invalid", details={"rule": index, "errors": _details(exc)}) from exc


def _details(exc: ValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(e["loc"]), "type": e["type"], "message": error_zh(e), "msg": e["msg"]} for e in exc.errors()]


def compile_regex_or_fail(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"正则表达式无效：{exc} / invalid regular expression: {exc}") from exc
    return pattern
