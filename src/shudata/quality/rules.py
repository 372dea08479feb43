"""Built-in rule types (:data:`BUILTIN_RULES`, given to the plugin manager by
:mod:`shudata.quality.providers`) and the per-entry :class:`RuleSet`.

>>> r = parse_rule({"type": "cn_id", "column": "身份证号", "severity": "block"})
>>> r.key, r.dimension_value
('cn_id:身份证号', 'validity')
>>> r.sentence("zh-CN")
'“身份证号”须为有效的居民身份证号码（校验码、出生日期、行政区划代码均正确）'
>>> parse_rule({"type": "nope"})
Traceback (most recent call last):
...
shudata.core.errors.InvalidInput: 未知的规则类型“nope”；可用类型：...
>>> parse_rule({"type": "regex", "column": "a", "pattern": "(["}).type
Traceback (most recent call last):
...
shudata.core.errors.InvalidInput: 规则“regex”有误：字段“pattern”：正则表达式无效：...
>>> parse_rule_set({"rules": [{"type": "not_null", "column": "a"}, {"type": "date", "column": "b", "min": 2}]})
Traceback (most recent call last):
...
shudata.core.errors.InvalidInput: 规则 #2（date）有误：...
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, field_validator, model_validator

from shudata.core.errors import InvalidInput
from shudata.core.plugins import PluginManager
from shudata.quality.rule_base import (
    ColumnRule,
    Dimension,
    RuleBase,
    compile_regex_or_fail,
    errors_text,
    errors_text_en,
    parse_rule,
    rule_types,
)

__all__ = ["BUILTIN_RULES", "Dimension", "RuleBase", "RuleSet", "parse_rule", "parse_rule_set", "rule_types"]


def _q(c: str) -> str:
    return f"“{c}”"


def _num(x: float) -> str:
    """``2700.0`` as 2700, ``97.3`` as 97.3."""
    return str(int(x)) if float(x).is_integer() else str(x)


def _cols(values: tuple[str, ...] | list[str]) -> str:
    return "、".join(_q(c) for c in values)


# -- completeness ------------------------------------------------------------------------------

class NotNull(ColumnRule):
    rule_type = "not_null"
    default_dimension = Dimension.COMPLETENESS
    type: Literal["not_null"] = "not_null"
    blank_is_null: bool = Field(True, description="空白字符串与占位符视为缺失")

    def describe(self) -> tuple[str, str]:
        return f"{_q(self.column)}不得为空", f"{self.column!r} must not be empty"


class Required(RuleBase):
    rule_type = "required"
    default_dimension = Dimension.COMPLETENESS
    type: Literal["required"] = "required"
    columns: list[str] = Field(min_length=1)

    def columns_used(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def describe(self) -> tuple[str, str]:
        return f"每行的{_cols(self.columns)}均须填写", f"every row must fill {', '.join(self.columns)}"


# -- validity: identifiers ---------------------------------------------------------------------

class CnId(ColumnRule):
    rule_type = "cn_id"
    type: Literal["cn_id"] = "cn_id"
    allow_15: bool = Field(False, description="接受旧 15 位身份证号")
    check_region: bool = Field(True, description="前 6 位须为历史上有效的行政区划代码")

    def describe(self) -> tuple[str, str]:
        extra = "；亦接受旧 15 位号码" if self.allow_15 else ""
        return (f"{_q(self.column)}须为有效的居民身份证号码（校验码、出生日期、行政区划代码均正确）{extra}",
                f"{self.column!r} must be a valid resident ID (check digit, birth date, region code)")


class Uscc(ColumnRule):
    rule_type = "uscc"
    type: Literal["uscc"] = "uscc"

    def describe(self) -> tuple[str, str]:
        return (f"{_q(self.column)}须为有效的统一社会信用代码（GB 32100 校验码正确）",
                f"{self.column!r} must be a valid unified social credit code (GB 32100)")


class OrgCode(ColumnRule):
    rule_type = "org_code"
    type: Literal["org_code"] = "org_code"

    def describe(self) -> tuple[str, str]:
        return (f"{_q(self.column)}须为有效的组织机构代码（GB 11714 校验码正确）",
                f"{self.column!r} must be a valid organisation code (GB 11714)")


class BankCard(ColumnRule):
    rule_type = "bank_card"
    type: Literal["bank_card"] = "bank_card"

    def describe(self) -> tuple[str, str]:
        return f"{_q(self.column)}须为有效的银行卡号（Luhn 校验）", f"{self.column!r} must be a bank card (Luhn)"


class RegionCode(ColumnRule):
    rule_type = "region_code"
    default_dimension = Dimension.ACCURACY
    type: Literal["region_code"] = "region_code"
    historical: bool = Field(True, description="接受已撤销的历史代码")

    def describe(self) -> tuple[str, str]:
        return (f"{_q(self.column)}须为行政区划代码表中存在的 6 位代码",
                f"{self.column!r} must be a 6-digit code in the 行政区划 table")


# -- validity: formats -------------------------------------------------------------------------

FormatKind = Literal["mobile", "landline", "phone", "email", "postal_code"]
FORMAT_LABELS = {"mobile": ("手机号码", "mobile number"), "landline": ("固定电话号码", "landline number"),
                 "phone": ("手机或固定电话号码", "phone number"), "email": ("电子邮箱地址", "e-mail address"),
                 "postal_code": ("邮政编码", "postal code")}


class Format(ColumnRule):
    """A well-known format (mobile/landline/phone/email/postal_code)."""

    rule_type = "format"
    type: Literal["format"] = "format"
    format: FormatKind

    @property
    def key(self) -> str:
        return self.id or f"{self.format}:{self.column}"

    def describe(self) -> tuple[str, str]:
        zh, en = FORMAT_LABELS[self.format]
        return f"{_q(self.column)}须为有效的{zh}", f"{self.column!r} must be a valid {en}"


class DateValid(ColumnRule):
    rule_type = "date"
    type: Literal["date"] = "date"
    timestamp: bool = Field(False, description="须含时间（日期时间型）")
    min: str | None = Field(None, description="最早日期 YYYY-MM-DD")
    max: str | None = Field(None, description="最晚日期 YYYY-MM-DD")

    @field_validator("min", "max")
    @classmethod
    def _iso_day(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            return dt.date.fromisoformat(v.strip()).isoformat()
        except ValueError:
            raise ValueError(f"“{v}”不是 YYYY-MM-DD 格式的日期 / {v!r} is not a YYYY-MM-DD date") from None

    @model_validator(mode="after")
    def _window(self) -> DateValid:
        if self.min and self.max and self.min > self.max:
            raise ValueError("最早日期不能晚于最晚日期 / min is after max")
        return self

    def describe(self) -> tuple[str, str]:
        what = "日期时间（YYYY-MM-DD HH:MM:SS）" if self.timestamp else "日期（YYYY-MM-DD）"
        rng = f"，且在 {self.min or '…'} 至 {self.max or '…'} 之间" if (self.min or self.max) else ""
        return f"{_q(self.column)}须为有效的{what}{rng}", f"{self.column!r} must be a valid date{rng and ' in range'}"


class Enum(ColumnRule):
    rule_type = "enum"
    type: Literal["enum"] = "enum"
    values: list[str] = Field(min_length=1, max_length=10_000, description="代码表中的取值")

    def describe(self) -> tuple[str, str]:
        shown = "、".join(self.values[:8]) + ("…" if len(self.values) > 8 else "")
        return f"{_q(self.column)}须取代码表中的值：{shown}", f"{self.column!r} must be one of the code table values"


class Range(ColumnRule):
    rule_type = "range"
    type: Literal["range"] = "range"
    min: float | None = Field(None, allow_inf_nan=False)
    max: float | None = Field(None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _bounds(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("须至少给出 min 或 max / give min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min 不能大于 max / min > max")
        return self

    def describe(self) -> tuple[str, str]:
        lo = _num(self.min) if self.min is not None else "-∞"
        hi = _num(self.max) if self.max is not None else "+∞"
        return f"{_q(self.column)}须为数值，范围 [{lo}, {hi}]", f"{self.column!r} must be a number in [{lo}, {hi}]"


class Regex(ColumnRule):
    rule_type = "regex"
    type: Literal["regex"] = "regex"
    pattern: str = Field(min_length=1, max_length=1000)

    @field_validator("pattern")
    @classmethod
    def _valid(cls, v: str) -> str:
        return compile_regex_or_fail(v)

    def describe(self) -> tuple[str, str]:
        return f"{_q(self.column)}须匹配正则表达式 {self.pattern}", f"{self.column!r} must match {self.pattern}"


class Length(ColumnRule):
    rule_type = "length"
    type: Literal["length"] = "length"
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=1)

    def describe(self) -> tuple[str, str]:
        return (f"{_q(self.column)}长度须在 {self.min or 0} 至 {self.max or '∞'} 个字符之间",
                f"{self.column!r} must be {self.min or 0}..{self.max or 'inf'} characters long")


class DataTypeMatch(ColumnRule):
    """The value fits the information item's data type (C/N/Y/D/T/L/I/F …) and length."""

    rule_type = "data_type"
    type: Literal["data_type"] = "data_type"
    data_type: Literal["C", "N", "Y", "D", "T", "L", "M", "G", "B", "I", "F"]
    length: int | None = Field(None, ge=1)

    def describe(self) -> tuple[str, str]:
        ln = f"，长度不超过 {self.length}" if self.length else ""
        return (f"{_q(self.column)}须符合信息项数据类型 {self.data_type}{ln}",
                f"{self.column!r} must fit data type {self.data_type}")


# -- uniqueness ----------------------------------------------------------------------------------

class Unique(RuleBase):
    rule_type = "unique"
    default_dimension = Dimension.UNIQUENESS
    type: Literal["unique"] = "unique"
    columns: list[str] = Field(min_length=1)

    def columns_used(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def describe(self) -> tuple[str, str]:
        return f"{_cols(self.columns)}的组合在各行间不得重复", f"({', '.join(self.columns)}) must be unique"


# -- consistency -----------------------------------------------------------------------------

class IdBirth(RuleBase):
    rule_type = "id_birth"
    default_dimension = Dimension.CONSISTENCY
    type: Literal["id_birth"] = "id_birth"
    id_column: str
    birth_column: str

    def columns_used(self) -> tuple[str, ...]:
        return (self.id_column, self.birth_column)

    def describe(self) -> tuple[str, str]:
        return (f"{_q(self.birth_column)}须与{_q(self.id_column)}中的出生日期一致",
                f"{self.birth_column!r} must equal the birth date in {self.id_column!r}")


class IdSex(RuleBase):
    rule_type = "id_sex"
    default_dimension = Dimension.CONSISTENCY
    type: Literal["id_sex"] = "id_sex"
    id_column: str
    sex_column: str

    def columns_used(self) -> tuple[str, ...]:
        return (self.id_column, self.sex_column)

    def describe(self) -> tuple[str, str]:
        return (f"{_q(self.sex_column)}须与{_q(self.id_column)}第 17 位（奇数男、偶数女）一致",
                f"{self.sex_column!r} must agree with digit 17 of {self.id_column!r}")


class IdRegion(RuleBase):
    rule_type = "id_region"
    default_dimension = Dimension.CONSISTENCY
    type: Literal["id_region"] = "id_region"
    id_column: str
    region_column: str
    level: Literal["province", "city", "county"] = "county"

    def columns_used(self) -> tuple[str, ...]:
        return (self.id_column, self.region_column)

    def describe(self) -> tuple[str, str]:
        lv = {"province": "省级", "city": "地市级", "county": "县级"}[self.level]
        return (f"{_q(self.region_column)}须与{_q(self.id_column)}的行政区划代码在{lv}一致",
                f"{self.region_column!r} must agree with the region of {self.id_column!r} ({self.level})")


class Compare(RuleBase):
    rule_type = "compare"
    default_dimension = Dimension.CONSISTENCY
    type: Literal["compare"] = "compare"
    left: str
    op: Literal["<", "<=", "=", "!=", ">=", ">"] = "<="
    right: str
    as_type: Literal["number", "date", "text"] = "date"

    def columns_used(self) -> tuple[str, ...]:
        return (self.left, self.right)

    def describe(self) -> tuple[str, str]:
        return f"须满足 {_q(self.left)} {self.op} {_q(self.right)}", f"{self.left} {self.op} {self.right} must hold"


class Reference(ColumnRule):
    """Cross-resource: the value exists in another catalog entry's column (e.g. 法人库)."""

    rule_type = "reference"
    default_dimension = Dimension.CONSISTENCY
    type: Literal["reference"] = "reference"
    resource: str = Field(description="被引用的目录条目（代码或别名）")
    ref_column: str

    def describe(self) -> tuple[str, str]:
        return (f"{_q(self.column)}的值须存在于资源 {self.resource} 的{_q(self.ref_column)}中",
                f"{self.column!r} must exist in {self.resource}.{self.ref_column}")


# -- dataset-level -----------------------------------------------------------------------------

class DatasetRule(RuleBase):
    scope = "dataset"


class RowCount(DatasetRule):
    rule_type = "row_count"
    default_dimension = Dimension.COMPLETENESS
    type: Literal["row_count"] = "row_count"
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)

    @property
    def key(self) -> str:
        return self.id or "row_count"

    def describe(self) -> tuple[str, str]:
        return (f"行数须在 {self.min or 0} 至 {self.max or '∞'} 之间",
                f"row count must be within {self.min or 0}..{self.max or 'inf'}")


class Timeliness(DatasetRule):
    """The newest data date is within the entry's update cycle (or ``max_age_days``)."""

    rule_type = "timeliness"
    default_dimension = Dimension.TIMELINESS
    type: Literal["timeliness"] = "timeliness"
    column: str | None = Field(None, description="数据日期列；为空则检查最新版本是否逾期")
    max_age_days: int | None = Field(None, ge=1, description="默认取目录条目的更新周期")

    def columns_used(self) -> tuple[str, ...]:
        return (self.column,) if self.column else ()

    @property
    def key(self) -> str:
        return self.id or f"timeliness:{self.column or 'version'}"

    def describe(self) -> tuple[str, str]:
        days = f"{self.max_age_days} 天" if self.max_age_days else "更新周期"
        if self.column:
            return (f"{_q(self.column)}的最新日期距今不得超过{days}",
                    f"the newest {self.column!r} must be within {self.max_age_days or 'the update cycle'} days")
        return f"最新数据版本距今不得超过{days}", "the latest data version must not be overdue"


class RowCountChange(DatasetRule):
    rule_type = "row_count_change"
    default_dimension = Dimension.CONSISTENCY
    type: Literal["row_count_change"] = "row_count_change"
    max_change: float = Field(0.5, ge=0.0, description="与上一版本相比行数变化比例上限")

    @property
    def key(self) -> str:
        return self.id or "row_count_change"

    def describe(self) -> tuple[str, str]:
        return (f"与上一版本相比，行数变化不得超过 {self.max_change:.0%}",
                f"row count may change by at most {self.max_change:.0%} from the previous version")


class NullRateChange(DatasetRule):
    rule_type = "null_rate_change"
    default_dimension = Dimension.COMPLETENESS
    type: Literal["null_rate_change"] = "null_rate_change"
    column: str
    max_delta: float = Field(0.1, ge=0.0, le=1.0)

    def columns_used(self) -> tuple[str, ...]:
        return (self.column,)

    def describe(self) -> tuple[str, str]:
        return (f"{_q(self.column)}的空值率与上一版本相比变化不得超过 {self.max_delta:.0%}",
                f"null rate of {self.column!r} may change by at most {self.max_delta:.0%}")


class NewCategories(DatasetRule):
    rule_type = "new_categories"
    default_dimension = Dimension.CONSISTENCY
    type: Literal["new_categories"] = "new_categories"
    column: str
    max_new: int = Field(0, ge=0)

    def columns_used(self) -> tuple[str, ...]:
        return (self.column,)

    def describe(self) -> tuple[str, str]:
        return (f"{_q(self.column)}与上一版本相比新出现的取值不得超过 {self.max_new} 个",
                f"at most {self.max_new} new values of {self.column!r} versus the previous version")


BUILTIN_RULES: tuple[type[RuleBase], ...] = (
    NotNull, Required, CnId, Uscc, OrgCode, BankCard, RegionCode, Format, DateValid, Enum, Range, Regex,
    Length, DataTypeMatch, Unique, IdBirth, IdSex, IdRegion, Compare, Reference, RowCount, Timeliness,
    RowCountChange, NullRateChange, NewCategories,
)


class RuleSet(BaseModel):
    """The rules of one catalog entry. Saved with history (each save is a new revision).

    ``reject_ingest_above``: when the share of quarantined rows of an ingest exceeds it, the
    whole batch is refused (a broken feed) instead of being half-accepted.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: list[SerializeAsAny[RuleBase]] = Field(default_factory=list)
    reject_ingest_above: float = Field(0.5, ge=0.0, le=1.0,
                                       description="隔离行占比超过此值时整批拒收（数据源可能已损坏）")

    @field_validator("rules", mode="before")
    @classmethod
    def _parse(cls, v: Any) -> list[RuleBase]:
        if not isinstance(v, list):
            raise ValueError("rules 须为列表 / rules must be a list")
        return [parse_rule(r) for r in v]

    @field_validator("rules")
    @classmethod
    def _unique_keys(cls, v: list[RuleBase]) -> list[RuleBase]:
        keys = [r.key for r in v]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"规则标识重复：{'、'.join(dup)}，请为其设置不同的 id / duplicate rule ids")
        return v

    def row_rules(self) -> list[RuleBase]:
        return [r for r in self.rules if r.scope == "row"]

    def dataset_rules(self) -> list[RuleBase]:
        return [r for r in self.rules if r.scope == "dataset"]

    def columns_used(self) -> set[str]:
        return {c for r in self.rules for c in r.columns_used()}


def parse_rule_set(data: Any, *, plugins: PluginManager | None = None) -> RuleSet:
    """A :class:`RuleSet` from a dict or a list of rules; ``InvalidInput`` with the reason otherwise
    (``plugins``: whose rule types, default the built-ins)."""
    if isinstance(data, RuleSet):
        return data
    if isinstance(data, list):
        data = {"rules": data}
    if isinstance(data, dict) and isinstance(data.get("rules"), list):
        data = {**data, "rules": [parse_rule(r, i, plugins=plugins) for i, r in enumerate(data["rules"], start=1)]}
    try:
        return RuleSet.model_validate(data)
    except InvalidInput:
        raise
    except ValidationError as exc:
        raise InvalidInput(f"规则集有误：{errors_text(exc)}", f"Invalid rule set: {errors_text_en(exc)}",
                           code="rule_set_invalid") from exc
