"""The three approaches of 《数据资产评估指导意见》（中评协〔2023〕17号）as pure functions.

Amounts are ``Decimal`` yuan, rounded to the fen only in the results; every result carries the
steps of its computation (``steps``: label, formula, value) so the report can show them.

- **成本法**: 评估值 = 重置成本 × 价值调整系数, 重置成本 = 前期费用 + 直接成本 + 间接成本 + 机会成本 + 相关税费;
  the adjustment factor is the product of named factors, the 质量系数 among them taken from the
  product's measured quality score (score / 100).
- **收益法**: 评估值 = Σ 分成率 × 预测收益ₜ / (1 + 折现率)^t over the horizon (t − 0.5 with mid-year
  discounting).
- **市场法**: 评估值 = Σ wᵢ × 可比价格ᵢ × 质量修正 × 供求修正 × 期日修正 × 容量修正 × 其他修正 / Σ wᵢ, where
  质量修正 = 评估对象质量分 / 可比案例质量分 and 容量修正 = 评估对象行数 / 可比案例行数 (when the value
  is taken as proportional to volume).

>>> cost_approach(CostInputs(direct=Decimal(100), factors={"质量系数": Decimal("0.9")})).value
Decimal('90.00')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from shudata.core.errors import InvalidInput

FEN = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)


def yuan(v: Decimal) -> Decimal:
    return v.quantize(FEN, rounding=ROUND_HALF_UP)


def factor(v: Decimal) -> Decimal:
    return v.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Step:
    label: str
    formula: str
    value: Decimal


def _refuse(field_name: str, zh: str, en: str) -> InvalidInput:
    return InvalidInput(zh, en, code="valuation_input_invalid", details={"field": field_name})


def quality_factor(score: float | Decimal | None) -> Decimal:
    """质量系数 from a measured quality score (0–100): score / 100. No score is refused: the
    valuation must not invent a quality it has not measured."""
    if score is None:
        raise _refuse("quality_score", "数据产品尚无质量评分，请先运行质量检查再评估",
                      "The product has no quality score yet: run a quality check first")
    s = Decimal(str(score))
    if not ZERO <= s <= 100:
        raise _refuse("quality_score", f"质量评分应在 0–100 之间，收到 {s}", f"Quality score must be 0–100, got {s}")
    return factor(s / 100)


# -- 成本法 ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CostInputs:
    preliminary: Decimal = ZERO  # 前期费用
    direct: Decimal = ZERO  # 直接成本
    indirect: Decimal = ZERO  # 间接成本
    opportunity: Decimal = ZERO  # 机会成本
    taxes: Decimal = ZERO  # 相关税费
    factors: Mapping[str, Decimal] = field(default_factory=dict)  # 价值调整系数的构成（名称 → 系数）


@dataclass(frozen=True)
class MethodResult:
    method: str  # cost | income | market
    label: str
    value: Decimal
    steps: tuple[Step, ...]


COST_PARTS = (("preliminary", "前期费用"), ("direct", "直接成本"), ("indirect", "间接成本"),
              ("opportunity", "机会成本"), ("taxes", "相关税费"))


def cost_approach(inp: CostInputs) -> MethodResult:
    steps: list[Step] = []
    for attr, label in COST_PARTS:
        v = Decimal(getattr(inp, attr))
        if v < 0:
            raise _refuse(attr, f"{label}不能为负数", f"{attr} must not be negative")
        steps.append(Step(label, "输入", yuan(v)))
    replacement = sum((Decimal(getattr(inp, a)) for a, _ in COST_PARTS), ZERO)
    steps.append(Step("重置成本", "前期费用 + 直接成本 + 间接成本 + 机会成本 + 相关税费", yuan(replacement)))
    adj = ONE
    for name, raw in inp.factors.items():
        f = Decimal(raw)
        if f < 0:
            raise _refuse("factors", f"调整系数“{name}”不能为负数", f"factor {name} must not be negative")
        steps.append(Step(name, "调整系数", factor(f)))
        adj *= f
    steps.append(Step("价值调整系数", " × ".join(inp.factors) or "1", factor(adj)))
    value = yuan(replacement * adj)
    steps.append(Step("评估值", "重置成本 × 价值调整系数", value))
    return MethodResult("cost", "成本法", value, tuple(steps))


# -- 收益法 ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class IncomeInputs:
    incomes: Sequence[Decimal]  # 预测收益，逐年（第 1 年起）
    discount_rate: Decimal  # 折现率
    share: Decimal = ONE  # 收益分成率：归属于数据资产的比例
    mid_year: bool = False  # 期中折现

    @staticmethod
    def growing(first: Decimal, growth: Decimal, years: int, *, discount_rate: Decimal, share: Decimal = ONE,
                mid_year: bool = False) -> IncomeInputs:
        """Income ``first`` in year 1 growing by ``growth`` a year for ``years`` years."""
        if not 1 <= years <= 50:
            raise _refuse("years", "收益期应为 1–50 年", "horizon must be 1–50 years")
        return IncomeInputs([Decimal(first) * (ONE + Decimal(growth)) ** t for t in range(years)],
                            discount_rate=discount_rate, share=share, mid_year=mid_year)


def income_approach(inp: IncomeInputs) -> MethodResult:
    r, share = Decimal(inp.discount_rate), Decimal(inp.share)
    if not inp.incomes or len(inp.incomes) > 50:
        raise _refuse("incomes", "请给出 1–50 年的预测收益", "give 1–50 years of forecast income")
    if not ZERO < r < ONE:
        raise _refuse("discount_rate", "折现率应大于 0 且小于 1（如 0.12 表示 12%）",
                      "discount rate must be between 0 and 1")
    if not ZERO < share <= ONE:
        raise _refuse("share", "收益分成率应大于 0 且不超过 1", "share must be in (0, 1]")
    steps = [Step("折现率", "输入", factor(r)), Step("收益分成率", "输入", factor(share))]
    total = ZERO
    for t, income in enumerate(inp.incomes, start=1):
        exponent = Decimal(t) - (Decimal("0.5") if inp.mid_year else ZERO)
        disc = ONE / (ONE + r) ** exponent
        pv = Decimal(income) * share * disc
        total += pv
        steps.append(Step(f"第 {t} 年", f"{yuan(Decimal(income))} × {factor(share)} ÷ (1 + {factor(r)})^{exponent}",
                          yuan(pv)))
    value = yuan(total)
    steps.append(Step("评估值", "Σ 分成率 × 预测收益ₜ ÷ (1 + 折现率)^t", value))
    return MethodResult("income", "收益法", value, tuple(steps))


# -- 市场法 ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparable:
    """A comparable case: a settled trade on the platform (or entered by the valuer)."""

    ref: str  # 订单编号或说明
    price: Decimal  # 成交价（元）
    quality_score: float | Decimal | None  # 可比案例的质量分
    rows: int | None = None  # 可比案例的数据量（行）
    traded_on: dt.date | None = None
    supply_demand: Decimal = ONE  # 供求修正系数
    date_factor: Decimal = ONE  # 期日修正系数（价格指数之比）
    other: Decimal = ONE  # 其他修正系数
    weight: Decimal = ONE


@dataclass(frozen=True)
class MarketInputs:
    quality_score: float | Decimal | None  # 评估对象的质量分
    comparables: Sequence[Comparable]
    rows: int | None = None  # 评估对象的数据量（行）
    volume_adjust: bool = False  # 价值与数据量成正比时按行数修正


def market_approach(inp: MarketInputs) -> MethodResult:
    if not inp.comparables:
        raise _refuse("comparables", "市场法至少需要一个可比案例（平台内已结算的同类交易）",
                      "the market approach needs at least one comparable case")
    subject_q = quality_factor(inp.quality_score) * 100
    steps: list[Step] = [Step("评估对象质量分", "质量子系统测得", subject_q)]
    num = den = ZERO
    for c in inp.comparables:
        comp_q = quality_factor(c.quality_score) * 100
        if comp_q == 0:
            raise _refuse("comparables", f"可比案例 {c.ref} 的质量分为 0，无法修正", f"comparable {c.ref} scored 0")
        qf = factor(subject_q / comp_q)
        vf = ONE
        if inp.volume_adjust:
            if not inp.rows or not c.rows:
                raise _refuse("rows", "按数据量修正时需要评估对象与可比案例的行数",
                              "rows are needed for volume adjustment")
            vf = factor(Decimal(inp.rows) / Decimal(c.rows))
        adjusted = Decimal(c.price) * qf * Decimal(c.supply_demand) * Decimal(c.date_factor) * vf * Decimal(c.other)
        steps.append(Step(f"可比案例 {c.ref}",
                          f"{yuan(Decimal(c.price))} × 质量 {qf} × 供求 {factor(Decimal(c.supply_demand))} × 期日 "
                          f"{factor(Decimal(c.date_factor))} × 容量 {vf} × 其他 {factor(Decimal(c.other))}",
                          yuan(adjusted)))
        w = Decimal(c.weight)
        if w <= 0:
            raise _refuse("weight", "可比案例权重必须大于 0", "weights must be positive")
        num += w * adjusted
        den += w
    value = yuan(num / den)
    steps.append(Step("评估值", "Σ 权重 × 修正后价格 ÷ Σ 权重", value))
    return MethodResult("market", "市场法", value, tuple(steps))
