"""``round``: round numbers (``digits=-2`` → hundreds). GB/T 37964 generalisation; irreversible.

>>> from shudata.privacy.operators.base import CompileContext
>>> import pyarrow as pa
>>> from sqlglot import exp
>>> Round(digits=-3).compile(exp.column("income"), CompileContext("income", "float", pa.float64())).sql("duckdb")
'ROUND(income, -3)'
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from sqlglot import exp

from shudata.privacy.operators.base import NUMERIC, CompileContext, Operator, Technique, lit


class Round(Operator):
    """取整 / rounding. Technique: generalisation. Irreversible."""

    name: ClassVar[str] = "round"
    zh: ClassVar[str] = "取整"
    technique: ClassVar[Technique] = Technique.GENERALISATION
    accepts: ClassVar[frozenset[str]] = NUMERIC
    hides_value: ClassVar[bool] = False

    digits: int = Field(0, ge=-12, le=12)

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        return exp.Round(this=col.copy(), decimals=lit(self.digits))
