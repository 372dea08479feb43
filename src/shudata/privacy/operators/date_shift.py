"""``date_shift``: shift dates by a keyed per-entity offset (GB/T 37964 randomisation).

Every date of one entity (e.g. one patient's ID column) moves by the same number of days,
so intervals within an entity survive; the offset is derived from HMAC-SM3 of the entity
value under a managed key, in ±``max_days`` and never zero. Irreversible without the key.

>>> from shudata.privacy.operators.base import CompileContext
>>> import pyarrow as pa
>>> from sqlglot import exp
>>> op = DateShift(key_id="k1", entity_column="pid", max_days=30)
>>> op.compile(exp.column("d"), CompileContext("d", "date", pa.date32())).sql("spark")
"CAST(DATE_ADD(CAST(d AS DATE), CAST(SHUDATA_SHIFT_DAYS(CAST(`pid` AS STRING), 'k1', 30) AS INT)) AS DATE)"
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field
from sqlglot import exp

from shudata.privacy.operators.base import DATE, STRING, CompileContext, Operator, Technique, lit, udf_call
from shudata.privacy.operators.udfs import shift_udf


class DateShift(Operator):
    """按实体日期偏移 / per-entity date shift. Technique: randomisation. Irreversible."""

    name: ClassVar[str] = "date_shift"
    zh: ClassVar[str] = "按实体日期偏移"
    technique: ClassVar[Technique] = Technique.RANDOMISATION
    accepts: ClassVar[frozenset[str]] = frozenset({DATE, STRING})
    hides_value: ClassVar[bool] = False

    key_id: str = Field(min_length=1, max_length=64)
    entity_column: str = Field(min_length=1)
    max_days: int = Field(30, ge=1, le=3650)

    def key_ids(self) -> tuple[str, ...]:
        return (self.key_id,)

    def compile(self, col: exp.Expression, ctx: CompileContext) -> exp.Expression:
        ctx.udfs.setdefault("shudata_shift_days", shift_udf(ctx.keys or {}))
        entity = exp.cast(exp.column(self.entity_column, quoted=True), "VARCHAR")
        # INT, not the function's BIGINT: Spark's DATE_ADD takes an INT day count (|days| <= 3650)
        shift = exp.cast(udf_call("SHUDATA_SHIFT_DAYS", entity, lit(self.key_id), lit(self.max_days)), "INT")
        added = exp.DateAdd(this=exp.cast(col.copy(), "DATE"), expression=shift, unit=exp.var("DAY"))
        return exp.cast(added, "DATE")
