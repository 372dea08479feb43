"""``number_band``: numbers → bands (age 37 → ``30-39``), with optional top/bottom coding.

GB/T 37964 generalisation; irreversible.

>>> from shudata.privacy.operators.base import CompileContext
>>> import pyarrow as pa
>>> from sqlglot import exp
>>> ctx = CompileContext("age", "integer", pa.int64())
>>> sql = NumberBand(width=10, upper=90).compile(exp.column("age"), ctx).sql("duckdb")
>>> sql.startswith("CASE WHEN age IS NULL THEN NULL WHEN age >= 90 THEN '>=90' ELSE CAST(CAST(FLOOR(")
True
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from sqlglot import exp

from shudata.privacy.operators.base import NUMERIC, CompileContext, Operator, Technique, lit


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


class NumberBand(Operator):
    """数值分段 / number bands. Technique: generalisation. Irreversible."""

    name: ClassVar[str] = "number_band"
    zh: ClassVar[str] = "数值分段"
    technique: ClassVar[Technique] = Technique.GENERALISATION
    accepts: ClassVar[frozenset[str]] = NUMERIC
    hides_value: ClassVar[bool] = False

    width: int = Field(ge=1)
    lower: float | None = Field(None, description="低于此值统一为 <lower")
    upper: float | None = Field(None, description="不低于此值统一为 >=upper")

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        lo = exp.cast(exp.Mul(this=exp.Floor(this=exp.Div(this=exp.cast(col.copy(), "DOUBLE"), expression=lit(
            self.width))), expression=lit(self.width)), "BIGINT")
        hi = exp.Add(this=lo.copy(), expression=lit(self.width - 1))
        text = exp.DPipe(this=exp.DPipe(this=exp.cast(lo, "VARCHAR"), expression=lit("-"), safe=True),
                         expression=exp.cast(hi, "VARCHAR"), safe=True)
        case = exp.Case().when(exp.Is(this=col.copy(), expression=exp.null()), exp.null())
        if self.upper is not None:
            case = case.when(exp.GTE(this=col.copy(), expression=lit(self.upper)), lit(f">={_num(self.upper)}"))
        if self.lower is not None:
            case = case.when(exp.LT(this=col.copy(), expression=lit(self.lower)), lit(f"<{_num(self.lower)}"))
        return case.else_(text)
