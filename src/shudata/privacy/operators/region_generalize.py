"""``region_generalize``: 6-digit 行政区划 codes → city (``510100``) or province (``510000``).

GB/T 37964 generalisation; irreversible. Values that are not 6-digit codes are refused
before anything is written.

>>> from shudata.privacy.operators.base import CompileContext
>>> import pyarrow as pa
>>> from sqlglot import exp
>>> RegionGeneralize(level="city").compile(exp.column("r"), CompileContext("r", "string", pa.string())).sql("duckdb")
"SUBSTRING(r, 1, 4) || '00'"
"""

from __future__ import annotations

from typing import ClassVar, Literal

from sqlglot import exp

from shudata.privacy.operators.base import STRING, CompileContext, Operator, PreflightCheck, Technique, lit

KEEP = {"city": 4, "province": 2}
DIGITS = "0123456789"


class RegionGeneralize(Operator):
    """区划泛化 / region-code generalisation. Technique: generalisation. Irreversible."""

    name: ClassVar[str] = "region_generalize"
    zh: ClassVar[str] = "区划泛化"
    technique: ClassVar[Technique] = Technique.GENERALISATION
    accepts: ClassVar[frozenset[str]] = frozenset({STRING, "integer"})
    hides_value: ClassVar[bool] = False

    level: Literal["city", "province"] = "city"

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        text = col.copy() if ctx.family == STRING else exp.cast(col.copy(), "VARCHAR")
        keep = KEEP[self.level]
        return exp.DPipe(this=exp.Substring(this=text, start=lit(1), length=lit(keep)),
                         expression=lit("0" * (6 - keep)), safe=True)

    def preflight(self, col: exp.Expression, column: str) -> tuple[PreflightCheck, ...]:
        # "not exactly six ASCII digits" without a regular expression: six characters, and
        # nothing left once leading digits are trimmed (about 10x cheaper than RE2 in DuckDB).
        text = exp.cast(col.copy(), "VARCHAR")
        not_six = exp.NEQ(this=exp.Length(this=text.copy()), expression=lit(6))
        not_digits = exp.NEQ(this=exp.Trim(this=text.copy(), expression=lit(DIGITS), position="LEADING"),
                             expression=lit(""))
        bad = exp.and_(exp.not_(exp.Is(this=col.copy(), expression=exp.null())), exp.or_(not_six, not_digits))
        return (PreflightCheck(column, bad, f"列“{column}”含有不是 6 位行政区划代码的值",
                               f"Column {column!r} has values that are not 6-digit region codes"),)
