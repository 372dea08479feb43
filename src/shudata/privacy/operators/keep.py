"""``keep``: leave the column as it is (explicit pass-through; not a masking technique)."""

from __future__ import annotations

from typing import ClassVar

from sqlglot import exp

from shudata.privacy.operators.base import CompileContext, Operator, Technique


class Keep(Operator):
    """保留原值 / keep the original value. Technique: none; reversible: n/a."""

    name: ClassVar[str] = "keep"
    zh: ClassVar[str] = "保留原值"
    technique: ClassVar[Technique] = Technique.NONE
    reversible: ClassVar[bool] = True
    hides_value: ClassVar[bool] = False

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        return col.copy()
