"""``bucket``: numbers → labelled buckets by boundaries (income → ``5000-10000``).

GB/T 37964 generalisation; irreversible.

>>> from shudata.privacy.operators.base import CompileContext
>>> import pyarrow as pa
>>> from sqlglot import exp
>>> op = Bucket(boundaries=[1000, 5000])
>>> print(op.compile(exp.column("x"), CompileContext("x", "float", pa.float64())).sql("duckdb"))
CASE WHEN x IS NULL THEN NULL WHEN x < 1000 THEN '<1000' WHEN x < 5000 THEN '1000-5000' ELSE '>=5000' END
"""

from __future__ import annotations

import itertools
from typing import ClassVar

from pydantic import Field, model_validator
from sqlglot import exp

from shudata.privacy.operators.base import NUMERIC, CompileContext, Operator, Technique, lit
from shudata.privacy.operators.number_band import _num


class Bucket(Operator):
    """分桶 / bucketing. Technique: generalisation. Irreversible."""

    name: ClassVar[str] = "bucket"
    zh: ClassVar[str] = "分桶"
    technique: ClassVar[Technique] = Technique.GENERALISATION
    accepts: ClassVar[frozenset[str]] = NUMERIC
    hides_value: ClassVar[bool] = False

    boundaries: tuple[float, ...] = Field(min_length=1)
    labels: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _check(self) -> Bucket:
        if any(b >= c for b, c in zip(self.boundaries, self.boundaries[1:], strict=False)):
            raise ValueError("boundaries must be strictly increasing / 分界点必须严格递增")
        if self.labels is not None and len(self.labels) != len(self.boundaries) + 1:
            raise ValueError("need one more label than boundaries / 标签数应比分界点多一个")
        return self

    def bucket_labels(self) -> tuple[str, ...]:
        if self.labels is not None:
            return self.labels
        b = [_num(x) for x in self.boundaries]
        return (f"<{b[0]}", *(f"{x}-{y}" for x, y in itertools.pairwise(b)), f">={b[-1]}")

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        labels = self.bucket_labels()
        case = exp.Case().when(exp.Is(this=col.copy(), expression=exp.null()), exp.null())
        for bound, label in zip(self.boundaries, labels, strict=False):
            case = case.when(exp.LT(this=col.copy(), expression=lit(bound)), lit(label))
        return case.else_(lit(labels[-1]))
