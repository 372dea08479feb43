"""``noise``: add random noise to numbers (GB/T 37964 randomisation; irreversible).

Laplace or uniform noise of the given scale, drawn per row (outputs differ run to run).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field
from sqlglot import exp

from shudata.privacy.operators.base import NUMERIC, CompileContext, Operator, Technique, lit, udf_call
from shudata.privacy.operators.udfs import noise_udf


class Noise(Operator):
    """加噪 / add noise. Technique: randomisation. Irreversible."""

    name: ClassVar[str] = "noise"
    zh: ClassVar[str] = "加噪"
    technique: ClassVar[Technique] = Technique.RANDOMISATION
    accepts: ClassVar[frozenset[str]] = NUMERIC
    hides_value: ClassVar[bool] = False

    scale: float = Field(gt=0)
    distribution: Literal["laplace", "uniform"] = "laplace"

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        ctx.udfs.setdefault("shudata_noise", noise_udf())
        return udf_call("SHUDATA_NOISE", exp.cast(col.copy(), "DOUBLE"), lit(self.scale), lit(self.distribution))
