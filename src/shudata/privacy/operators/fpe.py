"""``fpe_pseudonym``: format-preserving keyed pseudonyms for resident IDs and mobiles.

The output passes downstream validators (an ID has a real county code, a real date and
the right check digit; a mobile has a current prefix) and is never equal to a real input:
pseudonym IDs carry birth dates in 1880-1899, which no living person's number has; a
pseudonym mobile never equals its own input (the whole mobile space is allocated, so no
stronger promise is possible). Technique: pseudonymisation. Irreversible.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field
from sqlglot import exp

from shudata.privacy.operators.base import STRING, CompileContext, Operator, Technique, as_text, lit, udf_call
from shudata.privacy.operators.udfs import fpe_udf


class FormatPreservingPseudonym(Operator):
    """保留格式的假名 / format-preserving pseudonym. Technique: pseudonymisation. Irreversible."""

    name: ClassVar[str] = "fpe_pseudonym"
    zh: ClassVar[str] = "保留格式的假名"
    technique: ClassVar[Technique] = Technique.PSEUDONYMISATION
    accepts: ClassVar[frozenset[str]] = frozenset({STRING, "integer"})

    key_id: str = Field(min_length=1, max_length=64)
    kind: Literal["resident_id", "mobile"]

    def key_ids(self) -> tuple[str, ...]:
        return (self.key_id,)

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        ctx.udfs.setdefault("shudata_fpe", fpe_udf(ctx.keys or {}))
        return udf_call("SHUDATA_FPE", as_text(col, ctx), lit(self.key_id), lit(self.kind))
