"""Re-identification risk (prosecutor, journalist, marketer), before and after.

Risk of a record = 1 / size of its equivalence class over the quasi-identifiers (in the
population table when one is given — the journalist model; otherwise the sample is taken
as the population and journalist risk equals prosecutor risk, as ARX does without a
population model).

>>> import pyarrow as pa
>>> r = table_risk(pa.table({"a": ["x", "x", "y"], "b": [1, 1, 2]}), ["a", "b"])
>>> (r.prosecutor_max, r.unique_share, round(r.marketer, 3))
(1.0, 0.333, 0.667)
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel

from shudata.core.errors import InvalidInput

BUCKETS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.34, 0.5, 1.0)


class RiskSummary(BaseModel):
    rows: int
    classes: int
    prosecutor_max: float  # highest risk of any record
    prosecutor_avg: float
    journalist_max: float
    journalist_avg: float
    marketer: float  # expected share of records re-identified
    unique_share: float  # share of records unique on the QIs
    highest_risk_share: float  # share of records at the highest risk
    histogram: list[dict[str, float | str]]  # records per risk band (for charts)


def _histogram(risk_per_record: npt.NDArray[np.float64]) -> list[dict[str, float | str]]:
    out: list[dict[str, float | str]] = []
    n = max(len(risk_per_record), 1)
    for lo, hi in itertools.pairwise(BUCKETS):
        mask = (risk_per_record > lo) & (risk_per_record <= hi) if lo else (risk_per_record <= hi)
        out.append({"band": f"{lo:.0%}-{hi:.0%}", "records": float(mask.sum()), "share": round(mask.sum() / n, 4)})
    return out


def risk_of_sizes(sizes: npt.NDArray[np.float64], population_sizes: npt.NDArray[np.float64] | None = None
                  ) -> RiskSummary:
    """Risk metrics from equivalence-class sizes (and the matching population class sizes)."""
    sizes = np.asarray(sizes, dtype=float)
    sizes = sizes[sizes > 0]
    n = float(sizes.sum())
    if n == 0:
        return RiskSummary(rows=0, classes=0, prosecutor_max=0, prosecutor_avg=0, journalist_max=0, journalist_avg=0,
                           marketer=0, unique_share=0, highest_risk_share=0, histogram=_histogram(np.zeros(0)))
    pop = sizes if population_sizes is None else np.maximum(np.asarray(population_sizes, dtype=float), sizes)
    per_record = np.repeat(1 / sizes, sizes.astype(np.int64))
    pmax = float(1 / sizes.min())
    return RiskSummary(
        rows=int(n), classes=len(sizes), prosecutor_max=round(pmax, 6), prosecutor_avg=round(len(sizes) / n, 6),
        journalist_max=round(float(1 / pop.min()), 6), journalist_avg=round(float((sizes / pop).sum() / n), 6),
        marketer=round(float((sizes / pop).sum() / n), 6) if population_sizes is not None else round(len(sizes) / n, 6),
        unique_share=round(float(sizes[sizes == 1].sum() / n), 3),
        highest_risk_share=round(float(sizes[sizes == sizes.min()].sum() / n), 6), histogram=_histogram(per_record))


def class_sizes(table: pa.Table, qis: Sequence[str], *, drop_suppressed: str | None = "*") -> pd.Series:
    """Rows per combination of QI values (records whose QIs are all ``*`` are left out)."""
    missing = [q for q in qis if q not in table.column_names]
    if missing:
        raise InvalidInput(f"准标识符列不存在：{'、'.join(missing)}", f"Quasi-identifiers not in the table: "
                           f"{', '.join(missing)}", code="unknown_qi")
    frame = table.select(list(qis)).to_pandas().astype("string").fillna("NULL")
    if drop_suppressed is not None and len(frame):
        frame = frame[~(frame == drop_suppressed).all(axis=1)]
    if frame.empty:
        return pd.Series(dtype=float)
    return frame.groupby(list(qis), sort=False, dropna=False).size()


def table_risk(table: pa.Table, qis: Sequence[str], population: pa.Table | None = None) -> RiskSummary:
    """Risk of ``table`` over ``qis`` (``population`` for the journalist model)."""
    sizes = class_sizes(table, qis)
    pop = None
    if population is not None:
        pop_sizes = class_sizes(population, qis)
        pop = pop_sizes.reindex(sizes.index).fillna(0).to_numpy(dtype=float)
    return risk_of_sizes(sizes.to_numpy(dtype=float), pop)
