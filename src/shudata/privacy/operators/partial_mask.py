"""``partial_mask``: keep head and tail, mask the middle (510104********1234, 138****5678, 张*).

A value not longer than ``keep_head + keep_tail`` is masked completely, so a short value
never survives. Technique: suppression (部分屏蔽). Irreversible.

>>> from shudata.privacy.operators.base import CompileContext
>>> import pyarrow as pa
>>> from sqlglot import exp
>>> sql = PartialMask(keep_head=3, keep_tail=4).compile(exp.column("m"), CompileContext("m", "string", pa.string()))
>>> print(sql.sql("duckdb"))
CASE WHEN LENGTH(m) > 7 THEN LEFT(m, 3) || REPEAT('*', LENGTH(m) - 7) || RIGHT(m, 4) ELSE REPEAT('*', LENGTH(m)) END
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from sqlglot import exp

from shudata.privacy.operators.base import CompileContext, Operator, Technique, as_text, lit


class PartialMask(Operator):
    """部分遮盖 / partial mask. Technique: suppression. Irreversible."""

    name: ClassVar[str] = "partial_mask"
    zh: ClassVar[str] = "部分遮盖"
    technique: ClassVar[Technique] = Technique.SUPPRESSION

    keep_head: int = Field(0, ge=0, le=32)
    keep_tail: int = Field(0, ge=0, le=32)
    char: str = Field("*", min_length=1, max_length=1)

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        text = as_text(col, ctx)
        keep = self.keep_head + self.keep_tail
        length = exp.Length(this=text.copy())
        parts: list[exp.Expression] = []
        if self.keep_head:
            parts.append(exp.Left(this=text.copy(), expression=lit(self.keep_head)))
        parts.append(exp.Repeat(this=lit(self.char), times=exp.Sub(this=length.copy(), expression=lit(keep))
                                if keep else length.copy()))
        if self.keep_tail:
            parts.append(exp.Right(this=text.copy(), expression=lit(self.keep_tail)))
        masked = parts[0]
        for p in parts[1:]:
            masked = exp.DPipe(this=masked, expression=p, safe=True)
        if not keep:
            return masked
        full = exp.Repeat(this=lit(self.char), times=length.copy())
        return exp.Case().when(exp.GT(this=length, expression=lit(keep)), masked).else_(full)
