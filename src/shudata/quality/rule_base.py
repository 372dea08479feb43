"""The base of every rule spec and the explicit registry of rule types.

Concrete rule types live in :mod:`shudata.quality.rules`, which registers them; import that
module (not this one) to parse rules.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shudata.core.errors import InvalidInput

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


RULE_TYPES: dict[str, type[RuleBase]] = {}


def register_rule(cls: type[RuleBase]) -> type[RuleBase]:
    """Add a rule class to the registry under its ``rule_type`` (explicit, no metaclass)."""
    if not cls.rule_type or cls.rule_type in RULE_TYPES:
        raise ValueError(f"rule type {cls.rule_type!r} missing or registered twice")
    RULE_TYPES[cls.rule_type] = cls
    return cls


def errors_text(exc: ValidationError) -> str:
    return "；".join(f"{'.'.join(str(p) for p in e['loc']) or '规则'}: {e['msg']}" for e in exc.errors())


def parse_rule(data: Any) -> RuleBase:
    """Build the typed spec for one rule dict; ``InvalidInput`` naming the problem otherwise."""
    if isinstance(data, RuleBase):
        return data
    if not isinstance(data, dict) or "type" not in data:
        raise InvalidInput("每条规则须是含 type 字段的对象", "Each rule must be an object with a 'type' field",
                           code="rule_invalid")
    cls = RULE_TYPES.get(str(data["type"]))
    if cls is None:
        known = "、".join(sorted(RULE_TYPES))
        raise InvalidInput(f"未知的规则类型“{data['type']}”；可用类型：{known}",
                           f"Unknown rule type {data['type']!r}; known types: {', '.join(sorted(RULE_TYPES))}",
                           code="rule_unknown_type")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        text = errors_text(exc)
        raise InvalidInput(f"规则“{data['type']}”有误：{text}", f"Rule {data['type']!r} is invalid: {exc}",
                           code="rule_invalid") from exc


def compile_regex_or_fail(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"正则表达式无效：{exc} / invalid regular expression: {exc}") from exc
    return pattern
