"""The three approaches against hand computation (numbers worked out in the comments)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from shudata.core.errors import InvalidInput
from shudata.market.valuation.methods import (
    Comparable,
    CostInputs,
    IncomeInputs,
    MarketInputs,
    cost_approach,
    income_approach,
    market_approach,
    quality_factor,
)
from shudata.market.valuation.pdf import valuation_pdf
from shudata.market.valuation.report import ADVISORY, ValuationRequest, evaluate
from support.pdftext import pdf_text


def test_cost_approach_by_hand() -> None:
    # 重置成本 = 20,000 + 150,000 + 30,000 + 10,000 + 12,000 = 222,000
    # 价值调整系数 = 质量 0.88 × 应用 0.95 = 0.836; 评估值 = 222,000 × 0.836 = 185,592.00
    r = cost_approach(CostInputs(preliminary=D(20_000), direct=D(150_000), indirect=D(30_000),
                                 opportunity=D(10_000), taxes=D(12_000),
                                 factors={"质量系数": quality_factor(88), "应用系数": D("0.95")}))
    steps = {s.label: s.value for s in r.steps}
    assert steps["重置成本"] == D("222000.00")
    assert steps["价值调整系数"] == D("0.8360")
    assert r.value == D("185592.00")


def test_cost_approach_refuses_negative_costs() -> None:
    with pytest.raises(InvalidInput) as err:
        cost_approach(CostInputs(direct=D(-1)))
    assert err.value.code == "valuation_input_invalid" and err.value.details["field"] == "direct"


def test_income_approach_by_hand() -> None:
    # 分成率 0.25, 折现率 10 %: 0.25 × (40,000/1.1 + 50,000/1.21 + 60,000/1.331)
    # = 0.25 × (36,363.636 + 41,322.314 + 45,078.888) = 0.25 × 122,764.838 = 30,691.21
    r = income_approach(IncomeInputs([D(40_000), D(50_000), D(60_000)], discount_rate=D("0.10"), share=D("0.25")))
    assert r.value == D("30691.21")
    assert [s.value for s in r.steps if s.label.startswith("第")] == [D("9090.91"), D("10330.58"), D("11269.72")]


def test_income_approach_growing_and_mid_year() -> None:
    # 100, 110 (10 % growth), mid-year at 10 %: 100/1.1^0.5 + 110/1.1^1.5 = 95.346 + 95.346 = 190.69
    r = income_approach(IncomeInputs.growing(D(100), D("0.10"), 2, discount_rate=D("0.10"), mid_year=True))
    assert r.value == D("190.69")


@pytest.mark.parametrize("rate", [D(0), D(1), D("-0.1")])
def test_income_approach_refuses_bad_rates(rate: D) -> None:
    with pytest.raises(InvalidInput):
        income_approach(IncomeInputs([D(1)], discount_rate=rate))


def test_market_approach_by_hand() -> None:
    # subject quality 90, rows 2,000,000 (volume adjusted)
    # A: 100,000 × (90/80 = 1.125) × 1.05 × 1.02 × (2,000,000/1,000,000 = 2) × 1 = 240,975.00
    # B: 300,000 × (90/100 = 0.9) × 1 × 1 × (2,000,000/4,000,000 = 0.5) × 0.98 = 132,300.00
    # weights 2 : 1 → (2 × 240,975 + 132,300) / 3 = 204,750.00
    comps = [Comparable("O-A", D(100_000), 80, rows=1_000_000, traded_on=dt.date(2026, 6, 1),
                        supply_demand=D("1.05"), date_factor=D("1.02"), weight=D(2)),
             Comparable("O-B", D(300_000), 100, rows=4_000_000, other=D("0.98"))]
    r = market_approach(MarketInputs(90, comps, rows=2_000_000, volume_adjust=True))
    assert [s.value for s in r.steps if s.label.startswith("可比")] == [D("240975.00"), D("132300.00")]
    assert r.value == D("204750.00")


def test_market_approach_needs_scores_and_comparables() -> None:
    with pytest.raises(InvalidInput) as err:
        market_approach(MarketInputs(90, []))
    assert err.value.details["field"] == "comparables"
    with pytest.raises(InvalidInput) as err:
        market_approach(MarketInputs(None, [Comparable("O-1", D(1), 90)]))
    assert err.value.details["field"] == "quality_score"
    with pytest.raises(InvalidInput):
        quality_factor(101)


def test_report_conclusion_and_pdf() -> None:
    req = ValuationRequest(product="成都市市场主体登记数据（P-0001）", purpose="挂牌交易定价参考",
                           basis_date=dt.date(2026, 12, 7), quality_score=92.0, valuer="评估服务商甲",
                           cost=CostInputs(direct=D(100_000), factors={"质量系数": quality_factor(92)}),
                           market=MarketInputs(92.0, [Comparable("O-20261201-0001", D(120_000), 80)]))
    report = evaluate(req, now=dt.datetime(2026, 12, 7, 8, 0, tzinfo=dt.UTC))
    # market by default when comparables exist: 120,000 × 92/80 = 138,000; cost: 100,000 × 0.92 = 92,000
    assert report.conclusion.method == "market" and report.value == D("138000.00")
    assert [r.value for r in report.results] == [D("92000.00"), D("138000.00")]
    as_dict = report.as_dict()
    assert as_dict["conclusion"]["value"] == "138000.00" and as_dict["advisory"] == ADVISORY
    text = pdf_text(valuation_pdf(report))
    for expected in ("数据资产评估报告", "成都市市场主体登记数据（P-0001）", "挂牌交易定价参考", "市场法：138000.00 元",
                     "成本法：92000.00 元", "O-20261201-0001", "持续使用假设", "不构成资产评估机构出具的评估报告"):
        assert expected in text, expected


def test_report_refuses_no_method_and_unknown_conclusion() -> None:
    base = ValuationRequest(product="P", purpose="x", basis_date=dt.date(2026, 1, 1), quality_score=90)
    with pytest.raises(InvalidInput):
        evaluate(base, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(InvalidInput) as err:
        evaluate(ValuationRequest(**{**base.__dict__, "cost": CostInputs(direct=D(1)), "conclusion": "income"}),
                 now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    assert err.value.details["field"] == "conclusion"
