"""``mask_all``: replace every character (GB/T 37964 suppression/masking; irreversible).

>>> from shudata.privacy.operators.base import CompileContext
>>> import pyarrow as pa
>>> from sqlglot import exp
>>> ctx = CompileContext("x", "string", pa.string())
>>> MaskAll().compile(exp.column("x"), ctx).sql("duckdb")
"REPEAT('*', LENGTH(x))"
>>> MaskAll(fixed="***").compile(exp.column("x"), ctx).sql("duckdb")
"CASE WHEN x IS NULL THEN NULL ELSE '***' END"
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from sqlglot import exp

from shudata.privacy.operators.base import CompileContext, MaskChar, Operator, Technique, as_text, lit


class MaskAll(Operator):
    """全部遮盖 / mask every character. Technique: suppression (屏蔽). Irreversible."""

    name: ClassVar[str] = "mask_all"
    zh: ClassVar[str] = "全部遮盖"
    technique: ClassVar[Technique] = Technique.SUPPRESSION

    char: MaskChar = "*"
    fixed: str | None = Field(None, description="固定替换文本；为空时按原长度遮盖")

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        if self.fixed is not None:
            return exp.Case().when(exp.Is(this=col.copy(), expression=exp.null()), exp.null()).else_(lit(self.fixed))
        return exp.Repeat(this=lit(self.char), times=exp.Length(this=as_text(col, ctx)))
