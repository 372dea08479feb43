"""``suppress``: replace the value with NULL or a marker (GB/T 37964 suppression; irreversible).

>>> from shudata.privacy.operators.base import CompileContext
>>> import pyarrow as pa
>>> from sqlglot import exp
>>> Suppress().compile(exp.column("x"), CompileContext("x", "integer", pa.int64())).sql("duckdb")
'CAST(NULL AS BIGINT)'
"""

from __future__ import annotations

from typing import ClassVar

from sqlglot import exp

from shudata.privacy.operators.base import STRING, CompileContext, Operator, Technique, lit

SQL_TYPES = {"integer": "BIGINT", "float": "DOUBLE", "date": "DATE", "string": "VARCHAR"}


class Suppress(Operator):
    """抑制 / suppress. Technique: suppression. Irreversible."""

    name: ClassVar[str] = "suppress"
    zh: ClassVar[str] = "抑制（置空或标记）"
    technique: ClassVar[Technique] = Technique.SUPPRESSION

    marker: str | None = None

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        if self.marker is not None:
            return lit(self.marker)
        return exp.cast(exp.null(), SQL_TYPES.get(ctx.family, "VARCHAR") if ctx.family != STRING else "VARCHAR")
