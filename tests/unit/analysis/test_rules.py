"""Rule-based early warnings on the real province series: levels, 同比 changes, rank moves."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from shudata.analysis.rules import ChangeRule, LevelRule, RankRule, Rule, evaluate
from support.analysis_data import DATA, reshaped

GDP = DATA / "economy/nbs_province_annual_gbk/gdp_100m_yuan.csv"
CPI = DATA / "economy/nbs_province_monthly_cpi_2020q1_gbk/province_cpi_yoy_all.csv"


def test_level_rule_on_the_newest_period() -> None:
    cpi = reshaped(CPI).table
    found = evaluate([LevelRule(indicator="居民消费价格指数", op=">=", value=106.0)], cpi)
    codes = {w.region_code for w in found}
    assert "510000" in codes  # 四川 106.9 in 2020-02
    assert all(w.period == "2020-02" and w.value >= 106 for w in found)
    sc = next(w for w in found if w.region_code == "510000")
    assert sc.message_zh == "四川省 居民消费价格指数 2020-02 为 106.9上年同月=100，不低于预警线 106"
    assert "at or above the threshold 106" in sc.message_en


def test_change_rule_yoy() -> None:
    gdp = reshaped(GDP).table
    found = evaluate([ChangeRule(indicator="地区生产总值", basis="同比", op="<", value=6.0, region_code="510000",
                                 latest_only=False)], gdp)
    row = "64537.9,61353.4,57609.4,55131.3,49445.1,47168.6,43539.0,38517.1,33879.2,30829.1,29357.5,26858.4,24224.9"
    values = [float(v) for v in row.split(",")]  # 四川, 2024 back to 2012, as the file has them
    slow = {str(2024 - i) for i in range(len(values) - 1) if (values[i] / values[i + 1] - 1) * 100 < 6.0}
    assert {w.period for w in found if int(w.period) >= 2013} == slow
    assert "2024" in slow and "2020" in slow  # 5.2 % and 4.8 %
    everything = evaluate([ChangeRule(indicator="地区生产总值", op=">", value=-100.0, latest_only=False,
                                      region_code="510000")], gdp)
    assert len(everything) == 18  # 2007 … 2024 against the year before
    latest = evaluate([ChangeRule(indicator="地区生产总值", op=">", value=-100.0)], gdp)
    assert {w.period for w in latest} == {"2024"} and len(latest) == 31


def test_rank_move() -> None:
    gdp = reshaped(GDP).table
    found = evaluate([RankRule(indicator="地区生产总值", places=1, direction="any", latest_only=False,
                               region_code="510000")], gdp)
    assert found, "四川's rank changed at least once in 2006–2024"
    for w in found:
        assert "位次由" in w.message_zh and w.rule == "rank_move"


def test_rules_are_documents() -> None:
    rules = TypeAdapter(list[Rule]).validate_python([
        {"kind": "level", "indicator": "x", "op": ">", "value": 1},
        {"kind": "change", "indicator": "x", "basis": "环比", "op": "<", "value": -5},
        {"kind": "rank_move", "indicator": "x", "places": 3},
    ])
    assert [type(r) for r in rules] == [LevelRule, ChangeRule, RankRule]
    with pytest.raises(ValidationError):
        TypeAdapter(Rule).validate_python({"kind": "rank_move", "indicator": "x", "places": 0})
