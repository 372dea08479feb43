"""``synthetic``: consistent synthetic replacement (Faker ``zh_CN``, seeded per key).

The same value always becomes the same fake value under the same key (so counts and
joins survive); a fake value never equals its own input. Technique: data synthesis.
Irreversible. A fake name may coincide with some other real person's name: names are
not unique identifiers.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field
from sqlglot import exp

from shudata.privacy.operators.base import CompileContext, Operator, Technique, as_text, lit, udf_call
from shudata.privacy.operators.udfs import synthetic_udf


class Synthetic(Operator):
    """合成数据替换 / synthetic replacement. Technique: data synthesis. Irreversible."""

    name: ClassVar[str] = "synthetic"
    zh: ClassVar[str] = "合成数据替换"
    technique: ClassVar[Technique] = Technique.SYNTHESIS

    key_id: str = Field(min_length=1, max_length=64)
    kind: Literal["name", "address", "company", "email", "city"]

    def key_ids(self) -> tuple[str, ...]:
        return (self.key_id,)

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        ctx.udfs.setdefault("shudata_synthetic", synthetic_udf(ctx.keys or {}))
        return udf_call("SHUDATA_SYNTHETIC", as_text(col, ctx), lit(self.key_id), lit(self.kind))
