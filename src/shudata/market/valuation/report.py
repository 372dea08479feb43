"""The valuation report (数据资产评估报告): every input, assumption and step, and the advisory
conclusion. Shown beside the price, never instead of it; rendered as HTML by the web layer and
as PDF by :mod:`shudata.market.valuation.pdf`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shudata.core.errors import InvalidInput
from shudata.market.valuation.methods import (
    CostInputs,
    IncomeInputs,
    MarketInputs,
    MethodResult,
    cost_approach,
    income_approach,
    market_approach,
)

BASIS = "中国资产评估协会《数据资产评估指导意见》（中评协〔2023〕17号）"
ADVISORY = ("本报告由平台按所列输入与假设自动计算，仅供交易双方参考，不构成资产评估机构出具的评估报告，"
            "也不是挂牌价格；价格由卖方确定、买卖双方协商。")
DEFAULT_ASSUMPTIONS = (
    "持续使用假设：数据产品按说明书所述应用场景持续使用。",
    "公开市场假设：可比案例为本平台已结算的公开交易，成交价反映当时的供求。",
    "数据质量以评估基准日最近一次质量检查的得分为准。",
    "数据来源合法、授权完整，已通过挂牌合规评估。",
)


@dataclass(frozen=True)
class ValuationRequest:
    product: str  # 评估对象（数据产品名称与编号）
    purpose: str  # 评估目的
    basis_date: dt.date  # 评估基准日
    quality_score: float | None  # 评估对象的质量分（质量子系统）
    cost: CostInputs | None = None
    income: IncomeInputs | None = None
    market: MarketInputs | None = None
    conclusion: str | None = None  # cost | income | market；默认：有可比案例用市场法，否则收益法，否则成本法
    assumptions: Sequence[str] = DEFAULT_ASSUMPTIONS
    valuer: str = ""


@dataclass(frozen=True)
class ValuationReport:
    request: ValuationRequest
    results: tuple[MethodResult, ...]
    conclusion: MethodResult
    generated_at: dt.datetime
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def value(self) -> Decimal:
        return self.conclusion.value

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able form (amounts as strings, never floats)."""
        req = self.request
        return {
            "product": req.product, "purpose": req.purpose, "basis_date": req.basis_date.isoformat(),
            "quality_score": req.quality_score, "valuer": req.valuer, "basis": BASIS, "advisory": ADVISORY,
            "assumptions": list(req.assumptions), "notes": list(self.notes),
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "conclusion": {"method": self.conclusion.method, "label": self.conclusion.label,
                           "value": str(self.conclusion.value)},
            "methods": [{"method": r.method, "label": r.label, "value": str(r.value),
                         "steps": [{"label": s.label, "formula": s.formula, "value": str(s.value)} for s in r.steps]}
                        for r in self.results],
        }


def evaluate(req: ValuationRequest, *, now: dt.datetime) -> ValuationReport:
    """Run every approach given inputs for and pick the concluding one."""
    results: list[MethodResult] = []
    if req.cost is not None:
        results.append(cost_approach(req.cost))
    if req.income is not None:
        results.append(income_approach(req.income))
    if req.market is not None:
        results.append(market_approach(req.market))
    if not results:
        raise InvalidInput("请至少提供一种评估方法（成本法、收益法、市场法）的输入",
                           "Give the inputs of at least one approach (cost, income, market)",
                           code="valuation_input_invalid", details={"field": "methods"})
    by_method = {r.method: r for r in results}
    wanted = req.conclusion or next(m for m in ("market", "income", "cost") if m in by_method)
    if wanted not in by_method:
        raise InvalidInput(f"结论采用的方法“{wanted}”没有输入", f"No inputs for the concluding method {wanted}",
                           code="valuation_input_invalid", details={"field": "conclusion"})
    notes: list[str] = []
    if len(results) > 1:
        values = [r.value for r in results]
        lo, hi = min(values), max(values)
        if lo > 0 and hi / lo > 2:
            notes.append(f"各方法结果相差超过一倍（{lo} – {hi} 元），请复核输入与假设。")
    return ValuationReport(req, tuple(results), by_method[wanted], now, tuple(notes))
