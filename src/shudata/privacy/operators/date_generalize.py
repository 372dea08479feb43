"""``date_generalize``: dates → month (``1990-05``) or year (``1990``). GB/T 37964 generalisation.

>>> from shudata.privacy.operators.base import CompileContext
>>> import pyarrow as pa
>>> from sqlglot import exp
>>> op = DateGeneralize(level="month")
>>> op.compile(exp.column("d"), CompileContext("d", "date", pa.date32())).sql("spark")
"DATE_FORMAT(CAST(d AS DATE), 'yyyy-MM')"
"""

from __future__ import annotations

from typing import ClassVar, Literal

from sqlglot import exp

from shudata.privacy.operators.base import DATE, STRING, CompileContext, Operator, Technique, lit

FORMATS = {"month": "%Y-%m", "year": "%Y"}


class DateGeneralize(Operator):
    """日期泛化 / date generalisation. Technique: generalisation. Irreversible."""

    name: ClassVar[str] = "date_generalize"
    zh: ClassVar[str] = "日期泛化"
    technique: ClassVar[Technique] = Technique.GENERALISATION
    accepts: ClassVar[frozenset[str]] = frozenset({DATE, STRING})
    hides_value: ClassVar[bool] = False

    level: Literal["month", "year"] = "year"

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        return exp.TimeToStr(this=exp.cast(col.copy(), "DATE"), format=lit(FORMATS[self.level]))
