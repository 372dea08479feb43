"""Rule set → SQL for one engine dialect: one scan counts every rule's failures.

The queries share one shape::

    WITH __src AS (SELECT *, <helper columns> FROM "t"),
         __flags AS (SELECT __src.*, <failure predicate> AS "__f0", … FROM __src LEFT JOIN <lookups>)
    SELECT …  FROM __flags

and are written in DuckDB SQL, then generated for the target dialect by sqlglot, so the
DuckDB and Spark engines run the same logic (golden files in ``tests/golden/quality``).

>>> from shudata.quality.rules import parse_rule_set
>>> rs = parse_rule_set([{"type": "not_null", "column": "名称"}])
>>> c = compile_check(rs.rules, table="t", columns=["名称"], ctx=Ctx(placeholders=("-",)))
>>> c.row_keys
('not_null:名称',)
>>> c.sql("duckdb").endswith('MAX("__s0") AS "__hi0" FROM __flags')
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from shudata.quality.compile_exprs import (
    REGIONS_TABLE,
    Ctx,
    RowCheck,
    flexible_date_e,
    missing,
    qi,
    ql,
    row_check,
    sql,
    text_e,
)
from shudata.quality.rule_base import RuleBase

__all__ = ["REGIONS_TABLE", "CompiledCheck", "Ctx", "compile_check", "failing_rows_sql", "split_sql"]

DIALECTS = ("duckdb", "spark")


def transpile(sql: str, dialect: str) -> str:
    """DuckDB SQL → ``dialect``; DuckDB SQL is returned as built (parsing it costs time)."""
    if dialect == "duckdb":
        return sql
    return sqlglot.transpile(sql, read="duckdb", write=dialect)[0]


@dataclass(frozen=True)
class CompiledCheck:
    """The checking query of a rule set and what its output columns mean."""

    duckdb_sql: str
    row_keys: tuple[str, ...]
    null_columns: tuple[str, ...]
    date_max: tuple[tuple[str, str], ...]  # (alias, column) newest date per timeliness rule
    lookups: frozenset[str] = field(default_factory=frozenset)  # reference tables the query reads

    def sql(self, dialect: str = "duckdb") -> str:
        return transpile(self.duckdb_sql, dialect)


def _uses(expr: exp.Expr, alias: str) -> bool:
    return any(c.name == alias and not c.table for c in expr.find_all(exp.Column))


def source_select(table: str, helpers: Sequence[tuple[str, exp.Expr]]) -> str:
    """The table plus helper columns. A helper may use the helpers listed before it: one that
    does gets its own projection layer; independent helpers share one."""
    query = f"SELECT * FROM {qi(table)}"
    layer: list[str] = []
    unique = list({(alias, sql(expr)): (alias, expr) for alias, expr in helpers}.values())  # shared by rules
    for alias, expr in unique:
        if any(_uses(expr, a) for a, _e in unique if a != alias):
            if layer:
                query = f"SELECT *, {', '.join(layer)} FROM ({query}) AS __l"
                layer = []
            query = f"SELECT *, {sql(expr)} AS {qi(alias)} FROM ({query}) AS __l"
        else:
            layer.append(f"{sql(expr)} AS {qi(alias)}")
    if layer:
        query = f"SELECT *, {', '.join(layer)} FROM ({query}) AS __l"
    return query


def _flags_ctes(table: str, checks: Sequence[RowCheck]) -> str:
    src = f"__src AS ({source_select(table, [h for c in checks for h in c.helpers])})"
    flags = ", ".join(f"COALESCE({sql(c.fails)}, FALSE) AS {qi(f'__f{i}')}" for i, c in enumerate(checks))
    joins = "".join(
        j.sql() for c in checks for j in c.joins)
    return f"WITH {src}, __flags AS (SELECT __src.*{', ' + flags if flags else ''} FROM __src{joins})"


def _checks(rules: Sequence[RuleBase], ctx: Ctx) -> list[RowCheck]:
    return [row_check(r, i, ctx) for i, r in enumerate(rules)]


def _lookups(checks: Sequence[RowCheck]) -> frozenset[str]:
    return frozenset(j.table for c in checks for j in c.joins)


def _shown(sample: exp.Expr) -> str:
    """A sample value as text; a missing value is shown as ∅."""
    return f"COALESCE(CAST({sql(sample)} AS VARCHAR), '∅')"


def _sample_aggs(i: int, check: RowCheck) -> tuple[str, str | None]:
    """The smallest and largest failing value of rule ``i``, and the projected sample column
    (``None`` when the aggregate reads a plain text column directly).

    When failing rows always hold a value of a text column (``check.present``), the
    aggregates read that column under ``FILTER (WHERE __f{i})``: no per-row expression.
    Otherwise a ``CASE`` keeps the (possibly costly) sample expression to the failing rows."""
    f = qi(f"__f{i}")
    if check.present and isinstance(check.sample, exp.Column) and not check.sample.table:
        col = sql(check.sample)
        return (f"MIN({col}) FILTER (WHERE {f}) AS {qi(f'__lo{i}')}, "
                f"MAX({col}) FILTER (WHERE {f}) AS {qi(f'__hi{i}')}"), None
    s = qi(f"__s{i}")
    return (f"MIN({s}) AS {qi(f'__lo{i}')}, MAX({s}) AS {qi(f'__hi{i}')}",
            f"CASE WHEN {f} THEN {_shown(check.sample)} END AS {s}")


def compile_check(rules: Sequence[RuleBase], *, table: str, columns: Sequence[str], ctx: Ctx,
                  null_stats: bool = False) -> CompiledCheck:
    """One aggregate query: row count, failures per row rule (with the smallest and largest
    failing value as samples), nulls per column, newest dates.

    Rules without lookups are evaluated in a first projection (``__pre``), which keeps only
    flags, the sample columns and the few columns the lookup rules still need, so the hash
    joins of the lookup rules carry narrow rows; the aggregates count flags
    (``COUNT_IF``) and take samples under ``FILTER``."""
    row_rules = [r for r in rules if r.scope == "row"]
    checks = _checks(row_rules, ctx)
    local = [i for i, c in enumerate(checks) if not c.joins]
    joined = [i for i, c in enumerate(checks) if c.joins]
    samples = [_sample_aggs(i, c) for i, c in enumerate(checks)]
    narrow = [f"COALESCE({sql(checks[i].fails)}, FALSE) AS {qi(f'__f{i}')}" for i in local]
    keep: list[str] = [qi(col) for i in range(len(checks)) if samples[i][1] is None
                       for col in row_rules[i].columns_used()]
    for i in joined:
        keep += [qi(x) for x in row_rules[i].columns_used()] + [qi(a) for a, _e in checks[i].helpers]
    narrow += list(dict.fromkeys(keep))
    narrow += [samples[i][1] or "" for i in local if samples[i][1] is not None]
    null_cols = tuple(columns) if null_stats else ()
    narrow += [f"{sql(missing(text_e(c, ctx), ctx))} AS {qi(f'__m{n}')}" for n, c in enumerate(null_cols)]
    date_max: list[tuple[str, str]] = []
    for r in rules:
        col = getattr(r, "column", None)
        if r.type == "timeliness" and col:
            alias = f"__max{len(date_max)}"
            date_max.append((alias, col))
            narrow.append(f"{sql(flexible_date_e(text_e(col, ctx)))} AS {qi(alias + '_d')}")
    ctes = [f"__src AS ({source_select(table, [h for c in checks for h in c.helpers])})",
            f"__pre AS (SELECT {', '.join(narrow) or '1 AS __one'} FROM __src)"]
    late = "".join(f", COALESCE({sql(checks[i].fails)}, FALSE) AS {qi(f'__f{i}')}" for i in joined)
    joins = "".join(j.sql() for i in joined for j in checks[i].joins)
    late += "".join(f", {samples[i][1]}" for i in joined if samples[i][1] is not None)
    ctes.append(f"__flags AS (SELECT __pre.*{late} FROM __pre{joins})")
    aggs = ['COUNT(*) AS "__rows"']
    aggs += [f"COUNT_IF({qi(f'__f{i}')}) AS {qi(f'__fail{i}')}" for i in range(len(checks))]
    aggs += [a for a, _s in samples]
    aggs += [f"COUNT_IF({qi(f'__m{n}')}) AS {qi(f'__null{n}')}" for n in range(len(null_cols))]
    aggs += [f"CAST(MAX({qi(alias + '_d')}) AS VARCHAR) AS {qi(alias)}" for alias, _c in date_max]
    query = f"WITH {', '.join(ctes)} SELECT {', '.join(aggs)} FROM __flags"
    return CompiledCheck(query, tuple(r.key for r in row_rules), null_cols, tuple(date_max), _lookups(checks))


def failing_rows_sql(rule: RuleBase, *, table: str, columns: Sequence[str], ctx: Ctx,
                     dialect: str = "duckdb", limit: int | None = None) -> str:
    """A standalone query returning the rows that fail ``rule`` (stored with every result)."""
    checks = _checks([rule], ctx)
    cols = ", ".join(qi(c) for c in columns)
    lim = f" LIMIT {int(limit)}" if limit is not None else ""
    return transpile(f'{_flags_ctes(table, checks)} SELECT {cols} FROM __flags WHERE "__f0"{lim}', dialect)


def samples_sql(rules: Sequence[RuleBase], indexes: Sequence[int], *, table: str, ctx: Ctx,
                per_rule: int = 5, dialect: str = "duckdb") -> str:
    """Up to ``per_rule`` failing values for each rule index in ``indexes`` (one query)."""
    row_rules = [r for r in rules if r.scope == "row"]
    parts = []
    for i in indexes:
        check = row_check(row_rules[i], i, ctx)  # each branch computes only its own rule
        joins = "".join(
            j.sql() for j in check.joins)
        src = f"({source_select(table, list(check.helpers))}) AS __src"
        parts.append(f"SELECT * FROM (SELECT {i} AS __i, CAST({sql(check.sample)} AS VARCHAR) AS __v "
                     f"FROM {src}{joins} WHERE {sql(check.fails)} LIMIT {int(per_rule)})")
    return transpile(" UNION ALL ".join(parts), dialect)


@dataclass(frozen=True)
class SplitSql:
    accepted: str
    quarantined: str  # the original columns plus "__rules": comma-separated rule indexes
    lookups: frozenset[str]


def split_sql(rules: Sequence[RuleBase], *, table: str, columns: Sequence[str], ctx: Ctx,
              dialect: str = "duckdb") -> SplitSql:
    """Accepted rows (no blocking rule fails) and quarantined rows (at least one fails).

    The two WHERE clauses are exact complements (predicates are never NULL), so
    ``accepted + quarantined == input`` holds by construction; the caller still verifies it.
    """
    checks = _checks(rules, ctx)
    cols = ", ".join(qi(c) for c in columns)
    ctes = _flags_ctes(table, checks)
    any_fail = " OR ".join(qi(f"__f{i}") for i in range(len(checks))) or "FALSE"
    reasons = ", ".join(f"CASE WHEN {qi(f'__f{i}')} THEN {ql(str(i))} END" for i in range(len(checks)))
    reasons_expr = f"CONCAT_WS(',', {reasons})" if checks else "''"
    accepted = f"{ctes} SELECT {cols} FROM __flags WHERE NOT ({any_fail})"
    quarantined = f'{ctes} SELECT {cols}, {reasons_expr} AS "__rules" FROM __flags WHERE {any_fail}'
    return SplitSql(transpile(accepted, dialect), transpile(quarantined, dialect), _lookups(checks))
