"""Run a compiled pipeline with the engine, and preview fuzzy clusters (OpenRefine key collision:
fingerprint or n-gram fingerprint).

>>> step_counts([(1, "__c1_0"), (1, "__c1_1"), (2, "__d2")], {"__c1_0": 3, "__c1_1": 1, "__d2": 2})
{1: 4, 2: 2}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from shudata.quality import cleaning_steps as S
from shudata.quality.cleaning import CompiledPipeline, compile_pipeline
from shudata.quality.compile import transpile
from shudata.quality.compile_exprs import Ctx, is_missing, qi, text
from shudata.quality.run import Target
from shudata.query.engines.base import Engine, Limits, TableSource

LIMITS = Limits(timeout_s=3600.0)


@dataclass(frozen=True)
class StepOutcome:
    index: int
    step: str
    columns: list[str]
    describe_zh: str
    describe_en: str
    changed: int
    quarantined: int = 0


@dataclass(frozen=True)
class CleanOutcome:
    rows_in: int
    rows_out: int
    steps: list[StepOutcome]
    compiled: CompiledPipeline
    quarantined: int = 0


def step_counts(flags: Sequence[tuple[int, str]], row: Mapping[str, Any]) -> dict[int, int]:
    out: dict[int, int] = {}
    for k, f in flags:
        out[k] = out.get(k, 0) + int(row.get(f) or 0)
    return out


def plan(engine: Engine, target: Target, steps: Sequence[S.StepBase],
         lookups: Mapping[str, TableSource]) -> tuple[CleanOutcome, dict[str, TableSource]]:
    """Compile and count: how many values each step changes, how many rows come out."""
    compiled = compile_pipeline(steps, table=target.source.name, columns=target.columns, types=target.types)
    tables = {target.source.name: target.source, **{n: lookups[n] for n in compiled.lookups}}
    row = engine.query(compiled.stats_sql(engine.dialect), tables, LIMITS).to_pylist()[0]
    counts = step_counts([*compiled.change_flags, *compiled.drop_flags], row)
    held = step_counts(compiled.quarantine_flags, row)
    outcomes = [StepOutcome(k, s.step, list(s.columns_used()), *s.describe(), counts.get(k, 0), held.get(k, 0))
                for k, s in enumerate(steps, 1)]
    return CleanOutcome(int(row["__in"]), int(row["__out"] or 0), outcomes, compiled,
                        int(row["__quarantined"] or 0)), tables


def quarantined_rows(engine: Engine, outcome: CleanOutcome, steps: Sequence[S.StepBase],
                     tables: Mapping[str, TableSource]) -> list[tuple[dict[str, Any], list[str], str]]:
    """The rows parse steps set aside: (cleaned row, rule keys ``clean:<k>:<step>``, reasons)."""
    if not outcome.quarantined:
        return []
    flags = outcome.compiled.quarantine_flags
    out = []
    for rec in engine.query(outcome.compiled.quarantine_sql(engine.dialect), tables, LIMITS).to_pylist():
        keys, reasons = [], []
        for k, f in flags:
            raw = rec.pop(f, None)
            if raw is None:
                continue
            step = steps[k - 1]
            keys.append(f"clean:{k}:{step.step}")
            reason = getattr(step, "reason", None)
            reasons.append(f"第 {k} 步：" + (reason(str(raw))[0] if reason else f"“{raw}”无法处理"))
        out.append((rec, keys, "；".join(reasons)))
    return out


def cleaned_batches(engine: Engine, outcome: CleanOutcome, tables: Mapping[str, TableSource]
                    ) -> Iterator[pa.RecordBatch]:
    return engine.stream(outcome.compiled.data_sql(engine.dialect), tables, LIMITS)


@dataclass(frozen=True)
class Cluster:
    key: str
    values: list[tuple[str, int]]  # (value, rows), most frequent first

    @property
    def suggested(self) -> str:
        return self.values[0][0]


def clusters(engine: Engine, target: Target, column: str, limit: int = 200, *, method: str = "fingerprint",
             n: int = 2) -> list[Cluster]:
    """Groups of different spellings that share a key (for a preview before applying): the
    fingerprint key or the ``n``-gram fingerprint (``method="ngram"``)."""
    ctx = Ctx(column_types=dict(target.types))
    v = text(column, ctx)
    key = S.fuzzy_key(v, method, n)
    t = qi(target.source.name)
    sql = (f"WITH k AS (SELECT {key} AS __key, {v} AS __v FROM {t} WHERE NOT {is_missing(v, ctx)}), "
           f"multi AS (SELECT __key FROM k GROUP BY __key HAVING COUNT(DISTINCT __v) > 1 ORDER BY __key "
           f"LIMIT {int(limit)}) SELECT k.__key AS __key, k.__v AS __v, COUNT(*) AS n FROM k "
           f"JOIN multi ON k.__key = multi.__key GROUP BY k.__key, k.__v ORDER BY k.__key, n DESC, k.__v")
    rows = engine.query(transpile(sql, engine.dialect), {target.source.name: target.source}, LIMITS).to_pylist()
    out: dict[str, list[tuple[str, int]]] = {}
    for r in rows:
        out.setdefault(str(r["__key"]), []).append((str(r["__v"]), int(r["n"])))
    return [Cluster(k, vals) for k, vals in out.items()]


def cluster_mapping(chosen: Sequence[Cluster]) -> dict[str, str]:
    """A ``map_values`` mapping sending every spelling of each cluster to its suggested value.

    >>> cluster_mapping([Cluster("ab", [("A B", 3), ("a b", 1), ("Ａ Ｂ", 1)])])
    {'a b': 'A B', 'Ａ Ｂ': 'A B'}
    """
    return {v: c.suggested for c in chosen for v, _ in c.values if v != c.suggested}
