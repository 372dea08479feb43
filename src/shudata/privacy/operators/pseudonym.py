"""``pseudonym``: keyed pseudonym, HMAC-SM3 under a managed key (GB/T 37964 pseudonymisation).

The same value gives the same token in every dataset masked under the same key, so joins
still work; without the key the token reveals nothing. Irreversible (a lookup table is
needed to re-identify, and none is kept).

>>> from shudata.privacy.operators.base import CompileContext
>>> import pyarrow as pa
>>> from sqlglot import exp
>>> KeyedPseudonym(key_id="k1").compile(exp.column("x"), CompileContext("x", "string", pa.string())).sql("duckdb")
"SHUDATA_PSEUDONYM(x, 'k1', 16)"
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from sqlglot import exp

from shudata.privacy.operators.base import CompileContext, Operator, Technique, as_text, lit, udf_call
from shudata.privacy.operators.udfs import pseudonym_udf


class KeyedPseudonym(Operator):
    """密钥假名（HMAC-SM3）/ keyed pseudonym. Technique: pseudonymisation. Irreversible."""

    name: ClassVar[str] = "pseudonym"
    zh: ClassVar[str] = "密钥假名（HMAC-SM3）"
    technique: ClassVar[Technique] = Technique.PSEUDONYMISATION

    key_id: str = Field(min_length=1, max_length=64)
    length: int = Field(16, ge=8, le=32, description="令牌字节数（十六进制长度为两倍）")

    def key_ids(self) -> tuple[str, ...]:
        return (self.key_id,)

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        ctx.udfs.setdefault("shudata_pseudonym", pseudonym_udf(ctx.keys or {}))
        return udf_call("SHUDATA_PSEUDONYM", as_text(col, ctx), lit(self.key_id), lit(self.length))
