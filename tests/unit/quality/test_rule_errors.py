"""Every rule-spec error is explained in Chinese, with its place (规则 #n、字段名) and the English
message kept after it; unquoted YAML dates are read as the dates they mean."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field, ValidationError, field_validator

from shudata.core.errors import InvalidInput
from shudata.core.validation import MESSAGES_ZH
from shudata.quality.rule_base import ERROR_ZH, error_zh, errors_text
from shudata.quality.rules import parse_rule_set
from shudata.quality.spec_files import parse_spec_text

# (YAML rule, pydantic error type, what the Chinese message must say)
CASES: list[tuple[str, str, str]] = [
    ("{type: not_null}", "missing", "字段“column”：缺少必填字段"),
    ("{type: not_null, column: a, colour: red}", "extra_forbidden", "字段“colour”：该规则类型没有这个字段"),
    ("{type: not_null, column: [a]}", "string_type", "字段“column”：应为文本"),
    ("{type: not_null, column: ''}", "string_too_short", "文本太短（至少 1 个字符）"),
    ("{type: not_null, column: " + "甲" * 101 + "}", "string_too_long", "文本太长（至多 100 个字符）"),
    ("{type: length, column: a, max: x}", "int_parsing", "字段“max”：应为整数"),
    ("{type: length, column: a, max: [1]}", "int_type", "字段“max”：应为整数"),
    ("{type: length, column: a, max: 1.5}", "int_from_float", "应为整数，不能带小数"),
    ("{type: range, column: a, min: abc}", "float_parsing", "字段“min”：应为数字"),
    ("{type: range, column: a, min: 2020-01-01}", "float_parsing", "字段“min”：应为数字"),
    ("{type: range, column: a, min: [1]}", "float_type", "字段“min”：应为数字"),
    ("{type: range, column: a, max: .inf}", "finite_number", "字段“max”：应为有限的数字"),
    ("{type: not_null, column: a, blank_is_null: maybe}", "bool_parsing", "应为 true 或 false"),
    ("{type: not_null, column: a, blank_is_null: [1]}", "bool_type", "应为 true 或 false"),
    ("{type: not_null, column: a, severity: stop}", "literal_error", "取值须为以下之一：'block'、'warn'、'report'"),
    ("{type: not_null, column: a, dimension: beauty}", "enum", "取值须为以下之一"),
    ("{type: not_null, column: a, threshold: -1}", "greater_than_equal", "字段“threshold”：须大于或等于 0"),
    ("{type: not_null, column: a, threshold: 2}", "less_than_equal", "字段“threshold”：须小于或等于 1"),
    ("{type: unique, columns: []}", "too_short", "至少须有 1 项"),
    ("{type: unique, columns: a}", "list_type", "应为列表"),
    ("{type: regex, column: a, pattern: '(['}", "value_error", "正则表达式无效"),
    ("{type: date, column: a, min: 2020-13-01}", "value_error", "“2020-13-01”不是 YYYY-MM-DD 格式的日期"),
    ("{type: range, column: a, min: 5, max: 1}", "value_error", "min 不能大于 max"),
]


@pytest.mark.parametrize(("rule", "etype", "zh"), CASES, ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_each_error_type_is_explained_in_chinese(rule: str, etype: str, zh: str) -> None:
    spec = parse_spec_text(f"rules:\n  - {{type: not_null, column: ok}}\n  - {rule}\n")
    with pytest.raises(InvalidInput) as info:
        parse_rule_set(spec)
    err = info.value
    assert err.code == "rule_invalid"
    assert err.zh.startswith("规则 #2（"), err.zh  # the rule's place in the set
    assert zh in err.zh, err.zh
    assert etype in {e["type"] for e in err.details["errors"]}
    assert err.en.startswith("Rule #2 (") and "规则" not in err.en
    if etype != "value_error":
        assert "（" + next(e["msg"] for e in err.details["errors"] if e["type"] == etype) + "）" in err.zh


class _Shapes(BaseModel):
    """Fields of shapes no rule has today, to cover the rest of the mapped error types."""

    day: dt.date | None = None
    at: dt.datetime | None = None
    code: str = Field("A1", pattern=r"^[A-Z][0-9]$")
    big: int = Field(1, gt=0, lt=10)
    few: list[int] = Field(default_factory=list, max_length=2)
    obj: dict[str, int] = Field(default_factory=dict)
    sub: _Sub | None = None
    nothing: None = None
    kind: Literal["a"] = "a"
    checked: int = 0

    @field_validator("checked")
    @classmethod
    def _odd(cls, v: int) -> int:
        assert v % 2 == 0, "须为偶数 / must be even"
        return v


class _Sub(BaseModel):
    x: int = 0


_Shapes.model_rebuild()

OTHER: list[tuple[dict[str, Any], str, str]] = [
    ({"day": [1]}, "date_type", "应为日期 YYYY-MM-DD"),
    ({"day": "2020-02-30"}, "date_from_datetime_parsing", "不是有效的日期"),
    ({"day": "2020-01-01T10:00:00"}, "date_from_datetime_inexact", "应为日期，不能带时间"),
    ({"at": [1]}, "datetime_type", "应为日期时间"),
    ({"at": 1e20}, "datetime_parsing", "不是有效的日期时间"),
    ({"at": "yesterday"}, "datetime_from_date_parsing", "不是有效的日期时间"),
    ({"code": "a1"}, "string_pattern_mismatch", "格式不符（须匹配 ^[A-Z][0-9]$）"),
    ({"big": 0}, "greater_than", "须大于 0"),
    ({"big": 10}, "less_than", "须小于 10"),
    ({"few": [1, 2, 3]}, "too_long", "至多 2 项"),
    ({"obj": [1]}, "dict_type", "应为对象"),
    ({"sub": 3}, "model_type", "应为对象"),
    ({"nothing": 1}, "none_required", "此处不应填写"),
    ({"checked": 1}, "assertion_error", "须为偶数"),
]


@pytest.mark.parametrize(("data", "etype", "zh"), OTHER, ids=[c[1] for c in OTHER])
def test_other_mapped_error_types(data: dict[str, Any], etype: str, zh: str) -> None:
    with pytest.raises(ValidationError) as info:
        _Shapes.model_validate(data)
    errors = info.value.errors()
    assert errors[0]["type"] == etype, errors
    assert zh in errors_text(info.value)


# types pydantic raises only in modes the rules do not use (strict dates, attribute objects)
SYNTHETIC = [("model_attributes_type", "字段“x”：应为对象（键: 值）（m）"),
             ("date_parsing", "字段“x”：不是有效的日期（格式 YYYY-MM-DD）（m）")]


def test_every_mapped_type_is_tested() -> None:
    """The wordings of a rule file (where they differ from the platform's table, core.validation)
    are all tested here, and every error type a rule file meets has a Chinese wording."""
    covered = {c[1] for c in CASES} | {c[1] for c in OTHER} | {t for t, _ in SYNTHETIC}
    own = {t for t, text in ERROR_ZH.items() if MESSAGES_ZH.get(t) != text}
    assert own and own <= covered, own - covered
    assert covered <= set(ERROR_ZH), covered - set(ERROR_ZH)
    for etype, text in SYNTHETIC:
        assert error_zh({"type": etype, "loc": ("x",), "msg": "m"}) == text


def test_a_date_where_a_number_belongs_says_to_quote_it() -> None:
    """A date object (JSON has none, YAML dates stay text) still gets the hint."""
    with pytest.raises(InvalidInput) as info:
        parse_rule_set([{"type": "range", "column": "a", "min": dt.date(2020, 1, 1)}])
    assert "YAML 把未加引号的 2020-01-01 读成了日期，请给日期加引号，如 '2020-01-01'" in info.value.zh


def test_an_unknown_error_type_still_says_something_in_chinese() -> None:
    assert error_zh({"type": "brand_new", "loc": ("values", 2), "msg": "odd"}) == "字段“values”第 3 项：取值无效（odd）"


@pytest.mark.parametrize(("yaml_text", "expected"), [
    ("rules:\n  - {type: date, column: 注册日期, min: 1990-01-01, max: 2020-12-31}",
     {"type": "date", "column": "注册日期", "min": "1990-01-01", "max": "2020-12-31"}),
    ("rules:\n  - {type: enum, column: 年份, values: [2019, 2020]}", {"type": "enum", "column": "年份",
                                                                   "values": ["2019", "2020"]}),
    ("rules:\n  - {type: timeliness, column: 2020}", {"type": "timeliness", "column": "2020"}),
    ("rules:\n  - {type: not_null, column: 登记时间, note: 2020-01-01 10:00:00}",
     {"type": "not_null", "column": "登记时间", "note": "2020-01-01 10:00:00"}),
])
def test_unquoted_yaml_dates_and_numbers_are_read_as_text(yaml_text: str, expected: dict[str, Any]) -> None:
    rule = parse_rule_set(parse_spec_text(yaml_text)).rules[0].model_dump(exclude_none=True)
    assert {k: rule[k] for k in expected} == expected


def test_a_date_window_must_be_ordered() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_rule_set([{"type": "date", "column": "d", "min": "2021-01-01", "max": "2020-01-01"}])
    assert "规则 #1（date）" in info.value.zh and "最早日期不能晚于最晚日期" in info.value.zh


def test_rule_set_level_errors_are_in_chinese() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_rule_set({"rules": [], "reject_ingest_above": 2, "extra": 1})
    assert info.value.code == "rule_set_invalid"
    assert "字段“reject_ingest_above”：须小于或等于 1" in info.value.zh
    assert "字段“extra”：该规则类型没有这个字段" in info.value.zh
    with pytest.raises(InvalidInput) as info:
        parse_rule_set([{"type": "not_null", "column": "a"}, "not a rule"])
    assert info.value.zh == "规则 #2：每条规则须是含 type 字段的对象"
    with pytest.raises(InvalidInput) as info:
        parse_rule_set([{"type": "wish"}])
    assert info.value.zh.startswith("规则 #1：未知的规则类型“wish”")
