"""Cleaning pipelines: a declared list of steps → one chain of SQL CTEs → a new version.

Each step becomes one CTE over the previous one; value steps add a flag per column saying
whether the value changed, row steps (de-duplication) flag dropped rows, so one scan gives
the per-step counts recorded as lineage and one more writes the cleaned rows. Parse steps
(``parse_amount``, ``parse_date``) carry ``__q<k>``: the raw text of a present value that does
not parse, NULL otherwise; such rows are left out of the cleaned data and quarantined with
their reason (:meth:`CompiledPipeline.quarantine_sql`), so rows in = out + dropped + quarantined.

>>> p = parse_pipeline({"name": "景区", "steps": [{"step": "trim", "columns": ["名称"]}]})
>>> c = compile_pipeline(expand(p, lambda n: None), table="t", columns=["名称", "等级"], types={})
>>> c.out_columns
['名称', '等级']
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, field_validator

from shudata.core.errors import InvalidInput
from shudata.quality import cleaning_steps as S
from shudata.quality.compile import transpile
from shudata.quality.compile_exprs import STRING_TYPES, Ctx, is_missing, qi, ql, text
from shudata.quality.rule_base import errors_text


class Pipeline(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    steps: list[SerializeAsAny[S.StepBase]] = Field(min_length=1)

    @field_validator("steps", mode="before")
    @classmethod
    def _parse(cls, v: Any) -> list[S.StepBase]:
        if not isinstance(v, list):
            raise ValueError("steps 须为列表 / steps must be a list")
        return [S.parse_step(s) for s in v]


def parse_pipeline(data: Any) -> Pipeline:
    if isinstance(data, Pipeline):
        return data
    try:
        return Pipeline.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"清洗流程有误：{errors_text(exc)}", f"Invalid pipeline: {exc}",
                           code="pipeline_invalid") from exc


def expand(p: Pipeline, resolve: Callable[[str], Pipeline | None], _stack: tuple[str, ...] = ()) -> list[S.StepBase]:
    """Inline included pipelines; refuse cycles and unknown names."""
    stack = (*_stack, p.name)
    out: list[S.StepBase] = []
    for s in p.steps:
        if isinstance(s, S.Include):
            if s.name in stack:
                chain = " → ".join((*stack, s.name))
                raise InvalidInput(f"清洗流程之间存在循环引用：{chain}",
                                   f"Pipelines include each other in a cycle: {chain}", code="pipeline_cycle")
            inner = resolve(s.name)
            if inner is None:
                raise InvalidInput(f"引用的清洗流程“{s.name}”不存在", f"Included pipeline {s.name!r} does not exist",
                                   code="pipeline_unknown")
            out.extend(expand(inner, resolve, stack))
        else:
            out.append(s)
    return out


def check_columns(steps: Sequence[S.StepBase], columns: Sequence[str]) -> None:
    """Refuse steps that read columns missing at that point of the pipeline."""
    have = set(columns)
    for n, s in enumerate(steps, 1):
        missing = [c for c in s.columns_used() if c not in have]
        if missing:
            raise InvalidInput(f"第 {n} 步（{s.step}）引用了不存在的列：{'、'.join(missing)}",
                               f"Step {n} ({s.step}) uses missing columns: {', '.join(missing)}",
                               code="pipeline_missing_column", details={"missing": missing})
        have |= set(new_columns(s))


def new_columns(s: S.StepBase) -> list[str]:
    if isinstance(s, (S.RegionToCode, S.CodeToRegion, S.Merge)):
        return [s.target]
    if isinstance(s, S.Split):
        return list(s.into)
    if isinstance(s, S.ParseAmount):
        return [s.target_name, s.currency_name]
    if isinstance(s, S.ParseDate):
        return [s.target_name]
    return []


@dataclass
class CompiledPipeline:
    ctes: list[str]
    out_columns: list[str]
    change_flags: list[tuple[int, str]] = field(default_factory=list)  # (step index, flag)
    drop_flags: list[tuple[int, str]] = field(default_factory=list)
    lookups: set[str] = field(default_factory=set)
    quarantine_flags: list[tuple[int, str]] = field(default_factory=list)  # (step index, raw-value column)

    def _with(self) -> str:
        return "WITH " + ", ".join(self.ctes)

    def _quarantined(self) -> str:
        return " OR ".join(f"{f} IS NOT NULL" for _, f in self.quarantine_flags) or "FALSE"

    def data_sql(self, dialect: str = "duckdb") -> str:
        cols = ", ".join(qi(c) for c in self.out_columns)
        return transpile(f"{self._with()} SELECT {cols} FROM s{len(self.ctes) - 1} "
                         f"WHERE NOT __drop AND NOT ({self._quarantined()})", dialect)

    def quarantine_sql(self, dialect: str = "duckdb") -> str:
        """The rows a parse step sets aside: their cleaned columns and the raw values (``__q<k>``)."""
        cols = ", ".join([*(qi(c) for c in self.out_columns), *(f for _, f in self.quarantine_flags)])
        return transpile(f"{self._with()} SELECT {cols} FROM s{len(self.ctes) - 1} "
                         f"WHERE NOT __drop AND ({self._quarantined()})", dialect)

    def stats_sql(self, dialect: str = "duckdb") -> str:
        q = self._quarantined()
        aggs = ['COUNT(*) AS "__in"', f'SUM(CASE WHEN __drop OR ({q}) THEN 0 ELSE 1 END) AS "__out"',
                f'SUM(CASE WHEN NOT __drop AND ({q}) THEN 1 ELSE 0 END) AS "__quarantined"']
        aggs += [f"SUM(CASE WHEN NOT __drop AND {f} THEN 1 ELSE 0 END) AS {qi(f)}" for _, f in self.change_flags]
        aggs += [f"SUM(CASE WHEN {f} THEN 1 ELSE 0 END) AS {qi(f)}" for _, f in self.drop_flags]
        aggs += [f"SUM(CASE WHEN NOT __drop AND {f} IS NOT NULL THEN 1 ELSE 0 END) AS {qi(f)}"
                 for _, f in self.quarantine_flags]
        return transpile(f"{self._with()} SELECT {', '.join(aggs)} FROM s{len(self.ctes) - 1}", dialect)


def _project(cols: Sequence[str], replace: Mapping[str, str], extra: Sequence[str]) -> str:
    parts = [f"{replace[c]} AS {qi(c)}" if c in replace else qi(c) for c in cols]
    return ", ".join([*parts, *extra])


def compile_pipeline(steps: Sequence[S.StepBase], *, table: str, columns: Sequence[str],
                     types: Mapping[str, str]) -> CompiledPipeline:
    """The CTE chain ``s0 … sN``; every CTE carries the data columns, flags and ``__drop``."""
    cols = list(columns)
    ctx = Ctx(column_types=dict(types))
    c = CompiledPipeline([f"s0 AS (SELECT {', '.join(qi(x) for x in cols)}, FALSE AS __drop FROM {qi(table)})"], cols)
    flags: list[str] = []
    for k, s in enumerate(steps, 1):
        prev = f"s{k - 1}"
        carried = [*flags, "__drop"]
        if s.kind == "rows":
            keys = s.columns_used() or tuple(cols)
            part = s.key(text(s.column, ctx)) if isinstance(s, S.DedupeFuzzy) else ", ".join(qi(x) for x in keys)
            order = ", ".join(qi(x) for x in cols)
            flag = f"__d{k}"
            dup = f"(NOT __drop AND ROW_NUMBER() OVER (PARTITION BY __drop, {part} ORDER BY {order}) > 1)"
            c.ctes.append(f"s{k} AS (SELECT {_project(cols, {}, [*flags, f'{dup} AS {flag}'])}, "
                          f"__drop OR {dup} AS __drop FROM {prev})")
            c.drop_flags.append((k, flag))
            flags.append(flag)
            continue
        replace, extra, joins = _step_sql(s, k, cols, ctx, c)
        c.ctes.append(f"s{k} AS (SELECT {_project(cols, replace, [*carried, *extra])} FROM {prev}{joins})")
        for x in new_columns(s):
            if x not in cols:
                cols.append(x)
        flags += [n for n in (e.rsplit(" AS ", 1)[1] for e in extra) if n.startswith("__")]  # new data columns
        # are in ``cols`` already
    c.out_columns = cols
    return c


def _step_sql(s: S.StepBase, k: int, cols: list[str], ctx: Ctx, c: CompiledPipeline
              ) -> tuple[dict[str, str], list[str], str]:
    """(replaced columns, new flag/new columns, joins) of one value or new-column step."""
    replace: dict[str, str] = {}
    extra: list[str] = []
    joins = ""
    if isinstance(s, (S.RegionToCode, S.CodeToRegion)):
        v = f"TRIM({text(s.column, ctx)})"
        if isinstance(s, S.RegionToCode):
            where = f" WHERE code LIKE '{s.within}%'" if s.within else ""
            cur = "CASE WHEN cur THEN code END"
            sub = (f"SELECT name AS __k, COALESCE(MIN({cur}), MIN(code)) AS __v FROM __ref_region_names{where} "
                   f"GROUP BY name HAVING COUNT(DISTINCT {cur}) = 1 "
                   f"OR (COUNT(DISTINCT {cur}) = 0 AND COUNT(DISTINCT code) = 1)")
            c.lookups.add("__ref_region_names")
        else:
            sub = "SELECT code AS __k, MIN(name) AS __v FROM __ref_region_names_current GROUP BY code"
            c.lookups.add("__ref_region_names_current")
        joins = f" LEFT JOIN ({sub}) AS __j{k} ON {v} = __j{k}.__k"
        target = s.target
        new = f"__j{k}.__v"
        if target in cols:
            replace[target] = f"COALESCE({new}, {qi(target)})"
        else:
            extra.append(f"{new} AS {qi(target)}")
        extra.append(f"__j{k}.__v IS NOT NULL AS __c{k}_0")
        c.change_flags.append((k, f"__c{k}_0"))
        return replace, extra, joins
    if isinstance(s, S.Split):
        v = text(s.column, ctx)
        extra += [f"SPLIT_PART({v}, {ql(s.separator)}, {i + 1}) AS {qi(x)}" for i, x in enumerate(s.into)]
        extra.append(f"{v} IS NOT NULL AS __c{k}_0")
        c.change_flags.append((k, f"__c{k}_0"))
        return replace, extra, joins
    if isinstance(s, (S.ParseAmount, S.ParseDate)):
        v = text(s.column, ctx)
        parsed = s.amount_sql(v) if isinstance(s, S.ParseAmount) else s.date_sql(v)
        value = f"(CASE WHEN {is_missing(v, ctx)} THEN NULL ELSE {parsed} END)"
        outputs = [(s.target_name, value)]
        if isinstance(s, S.ParseAmount):
            outputs.append((s.currency_name, f"(CASE WHEN {value} IS NULL THEN NULL ELSE "
                                             f"{s.converted_currency_sql(v)} END)"))
        for name, expr in outputs:
            if name in cols:
                replace[name] = expr
            else:
                extra.append(f"{expr} AS {qi(name)}")
        extra.append(f"({value} IS NOT NULL) AS __c{k}_0")
        extra.append(f"(CASE WHEN NOT {is_missing(v, ctx)} AND {parsed} IS NULL THEN {v} END) AS __q{k}")
        c.change_flags.append((k, f"__c{k}_0"))
        c.quarantine_flags.append((k, f"__q{k}"))
        known = ctx.column_types  # later steps see the new types (compile_pipeline's own dict)
        if isinstance(known, dict):
            known[s.target_name] = "double" if isinstance(s, S.ParseAmount) else "date32[day]"
            if isinstance(s, S.ParseAmount):
                known[s.currency_name] = "string"
        return replace, extra, joins
    if isinstance(s, S.Merge):
        parts = ", ".join(text(x, ctx) for x in s.columns)
        extra += [f"CONCAT_WS({ql(s.separator)}, {parts}) AS {qi(s.target)}", f"TRUE AS __c{k}_0"]
        c.change_flags.append((k, f"__c{k}_0"))
        return replace, extra, joins
    targets = list(s.columns_used())
    if isinstance(s, S.MissingValues) and not targets:  # every text column
        targets = [x for x in cols if ctx.column_types.get(x, "string").lower() in STRING_TYPES]
    for j, col in enumerate(targets):
        v = text(col, ctx)
        new = s.expr(v)
        replace[col] = new
        extra.append(f"({v} IS DISTINCT FROM {new}) AS __c{k}_{j}")
        c.change_flags.append((k, f"__c{k}_{j}"))
    return replace, extra, joins
