"""Rule specs: registry, parsing, sentences, and refusals of bad rule sets."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from tests.unit.quality.examples import EXAMPLES

from shudata.core.errors import InvalidInput
from shudata.quality.rules import parse_rule, parse_rule_set, rule_types


def test_every_registered_type_has_an_example() -> None:
    assert set(rule_types()) == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_rule_has_sentences_in_both_languages(name: str) -> None:
    rule = parse_rule(EXAMPLES[name])
    zh, en = rule.describe()
    assert zh and en and zh != en
    assert rule.sentence("en") == en and rule.sentence("zh-CN") == zh


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_rule_round_trips_through_json(name: str) -> None:
    rs = parse_rule_set([EXAMPLES[name]])
    again = parse_rule_set(rs.model_dump(mode="json"))
    assert again == rs


def test_rules_are_frozen() -> None:
    rule = parse_rule(EXAMPLES["not_null"])
    with pytest.raises(ValidationError):
        rule.column = "x"  # type: ignore[misc]


@pytest.mark.parametrize(("spec", "code", "fragment"), [
    ({"type": "telepathy", "column": "a"}, "rule_unknown_type", "未知的规则类型"),  # unknown type
    ({"type": "regex", "column": "a", "pattern": "(["}, "rule_invalid", "正则表达式无效"),  # bad regex
    ({"type": "range", "column": "a"}, "rule_invalid", "min 或 max"),  # no bounds
    ({"type": "range", "column": "a", "min": 5, "max": 1}, "rule_invalid", "min 不能大于 max"),  # inverted
    ({"type": "not_null"}, "rule_invalid", "column"),  # missing column
    ({"type": "not_null", "column": "a", "colour": "red"}, "rule_invalid", "colour"),  # unknown field
    ({"type": "enum", "column": "a", "values": []}, "rule_invalid", "values"),  # empty code table
    ({"column": "a"}, "rule_invalid", "type"),  # no type at all
])
def test_bad_rule_is_refused_with_a_message(spec: dict[str, Any], code: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_rule_set([spec])
    assert err.value.code == code
    assert fragment in err.value.zh


def test_duplicate_rule_ids_are_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_rule_set([EXAMPLES["not_null"], EXAMPLES["not_null"]])
    assert "规则标识重复" in err.value.zh


def test_same_rule_twice_with_distinct_ids_is_accepted() -> None:
    rs = parse_rule_set([{**EXAMPLES["not_null"], "id": "a"}, {**EXAMPLES["not_null"], "id": "b"}])
    assert [r.key for r in rs.rules] == ["a", "b"]


def test_columns_used_collects_every_rule() -> None:
    rs = parse_rule_set([EXAMPLES["compare"], EXAMPLES["unique"], EXAMPLES["row_count"]])
    assert rs.columns_used() == {"开始", "结束", "名称"}
