"""``hierarchy``: categorical values through a generalisation hierarchy (ARX CSV or inline).

GB/T 37964 generalisation; irreversible. A value the hierarchy does not cover is refused
before anything is written (preflight), never silently turned into NULL.

>>> from shudata.privacy.operators.base import CompileContext
>>> import pyarrow as pa
>>> from sqlglot import exp
>>> op = HierarchyGeneralize(mapping={"Bachelors": "Higher education", "11th": "Secondary"})
>>> print(op.compile(exp.column("edu"), CompileContext("edu", "string", pa.string())).sql("duckdb"))
CASE edu WHEN '11th' THEN 'Secondary' WHEN 'Bachelors' THEN 'Higher education' ELSE NULL END
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import Field, model_validator
from sqlglot import exp

from shudata.core.errors import InvalidInput
from shudata.privacy.kanon.hierarchy import Hierarchy
from shudata.privacy.operators.base import STRING, CompileContext, Operator, PreflightCheck, Technique, lit


class HierarchyGeneralize(Operator):
    """层次泛化 / hierarchy generalisation. Technique: generalisation. Irreversible."""

    name: ClassVar[str] = "hierarchy"
    zh: ClassVar[str] = "层次泛化"
    technique: ClassVar[Technique] = Technique.GENERALISATION
    hides_value: ClassVar[bool] = False

    mapping: dict[str, str] = Field(default_factory=dict)
    file: str | None = Field(None, description="ARX 格式层次文件（; 分隔，UTF-8）")
    level: int = Field(1, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _load(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("file") and not data.get("mapping"):
            h = Hierarchy.from_csv(Path(data["file"]).stem, Path(data["file"]))
            level = int(data.get("level", 1))
            if level >= h.height:
                raise InvalidInput(f"层次文件只有 {h.height} 层，没有第 {level} 层",
                                   f"The hierarchy has {h.height} levels, not level {level}", code="bad_hierarchy")
            data = {**data, "mapping": h.mapping(level)}
        return data

    @model_validator(mode="after")
    def _nonempty(self) -> HierarchyGeneralize:
        if not self.mapping:
            raise ValueError("a hierarchy needs 'mapping' or 'file' / 需要 mapping 或 file")
        return self

    def _text(self, col: exp.Expression, ctx_family: str) -> exp.Expression:
        return col.copy() if ctx_family == STRING else exp.cast(col.copy(), "VARCHAR")

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        case = exp.Case(this=self._text(col, ctx.family))
        for k in sorted(self.mapping):
            case = case.when(lit(k), lit(self.mapping[k]))
        return case.else_(exp.null())

    def preflight(self, col: exp.Expression, column: str) -> tuple[PreflightCheck, ...]:
        text = exp.cast(col.copy(), "VARCHAR")
        outside = exp.and_(exp.not_(exp.Is(this=col.copy(), expression=exp.null())),
                           exp.not_(exp.In(this=text, expressions=[lit(k) for k in sorted(self.mapping)])))
        return (PreflightCheck(column, outside, f"列“{column}”有泛化层次未覆盖的值",
                               f"Column {column!r} has values the hierarchy does not cover"),)
