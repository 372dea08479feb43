"""``sm4_encrypt``: deterministic SM4 encryption (GB/T 37964 cryptographic technique).

Reversible with the key: the output records the key id and the resource it comes from
(``k1@101001/000009:…``) and :func:`shudata.privacy.decrypt.decrypt_tokens` turns it back for
that resource's provider department only. Deterministic (SIV), so equal
values stay equal and joins on the ciphertext work.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from sqlglot import exp

from shudata.privacy.operators.base import CompileContext, Operator, Technique, as_text, lit, udf_call
from shudata.privacy.operators.udfs import sm4_udf


class Sm4Encrypt(Operator):
    """SM4 加密 / SM4 encryption. Technique: cryptographic. Reversible with the key."""

    name: ClassVar[str] = "sm4_encrypt"
    zh: ClassVar[str] = "SM4 加密"
    technique: ClassVar[Technique] = Technique.CRYPTOGRAPHIC
    reversible: ClassVar[bool] = True

    key_id: str = Field(min_length=1, max_length=64)

    def key_ids(self) -> tuple[str, ...]:
        return (self.key_id,)

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        ctx.udfs.setdefault("shudata_sm4", sm4_udf(ctx.keys or {}, ctx.binding))
        return udf_call("SHUDATA_SM4", as_text(col, ctx), lit(self.key_id))
