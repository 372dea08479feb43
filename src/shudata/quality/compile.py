"""Rule set → SQL for one engine dialect: one scan counts every rule's failures.

The queries share one shape::

    WITH __src AS (SELECT *, <helper columns> FROM "t"),
         __flags AS (SELECT __src.*, <failure predicate> AS "__f0", … FROM __src LEFT JOIN <lookups>)
    SELECT …  FROM __flags

and are built as sqlglot trees (the predicates of :mod:`shudata.quality.compile_exprs` placed
in a query built with sqlglot's builders), rendered as DuckDB SQL, then generated for the
target dialect by sqlglot, so the DuckDB and Spark engines run the same logic (golden files
in ``tests/golden/quality``).

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
    c,
    case,
    cast,
    coalesce,
    col,
    flexible_date_e,
    fn,
    lit,
    missing,
    not_,
    or_,
    paren,
    row_check,
    sql,
    text_e,
)
from shudata.quality.rule_base import RuleBase
from shudata.query.engines.dialects import to_spark

__all__ = ["REGIONS_TABLE", "CompiledCheck", "Ctx", "compile_check", "failing_rows_sql", "split_sql"]

DIALECTS = ("duckdb", "spark")


# What DuckDB's TRIM(x) removes (Unicode Zs: every code point below U+10000 was tried); Spark's
# TRIM(x) removes only U+0020, so Spark gets this set spelled out (TRIM(BOTH '…' FROM x)).
DUCKDB_TRIM_CHARS = " \u00a0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u202f\u205f\u3000"


def _same_trim(tree: exp.Expr) -> exp.Expr:
    for node in tree.find_all(exp.Trim):
        if node.args.get("expression") is None and node.args.get("position") is None:
            node.set("expression", exp.Literal.string(DUCKDB_TRIM_CHARS))
            node.set("position", "BOTH")
    return tree


def transpile(sql: str, dialect: str) -> str:
    """DuckDB SQL → ``dialect``; DuckDB SQL is returned as built (parsing it costs time).

    Spark's ``TRIM(x)`` trims fewer characters than DuckDB's: the set is written out so both
    engines flag the same values (tests/unit/query/spark/test_identity.py).

    >>> transpile("SELECT TRIM(a) = '' FROM t", "spark").startswith("SELECT TRIM(BOTH ' \\u00a0\\u1680")
    True
    """
    if dialect == "duckdb":
        return sql
    if dialect == "spark":  # + refusal of what Spark would answer differently (422 spark_divergent)
        return to_spark(_same_trim(sqlglot.parse_one(sql, read="duckdb")))
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
    return any(x.name == alias and not x.table for x in expr.find_all(exp.Column))


def _as(e: exp.Expr, alias: str) -> exp.Expr:
    return exp.alias_(e, alias, quoted=True, copy=False)


def _table(name: str) -> exp.Table:
    return exp.Table(this=exp.to_identifier(name, quoted=True))


def _sub(query: exp.Select, alias: str) -> exp.Subquery:
    return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _star(table: str | None = None) -> exp.Expr:
    return exp.Column(this=exp.Star(), table=exp.to_identifier(table)) if table else exp.Star()


def source_select(table: str, helpers: Sequence[tuple[str, exp.Expr]]) -> exp.Select:
    """The table plus helper columns. A helper may use the helpers listed before it: one that
    does gets its own projection layer; independent helpers share one."""
    query = exp.select(_star()).from_(_table(table), copy=False)
    layer: list[exp.Expr] = []
    first: dict[str, exp.Expr] = {}
    for alias, e in helpers:  # rules on one column share helpers (same alias, same expression)
        first.setdefault(alias, e)
    unique = list(first.items())
    for alias, e in unique:
        if any(_uses(e, a) for a, _e in unique if a != alias):
            if layer:
                query = exp.select(_star(), *layer).from_(_sub(query, "__l"), copy=False)
                layer = []
            query = exp.select(_star(), _as(c(e), alias)).from_(_sub(query, "__l"), copy=False)
        else:
            layer.append(_as(e, alias))
    if layer:
        query = exp.select(_star(), *layer).from_(_sub(query, "__l"), copy=False)
    return query


def _flag(i: int, check: RowCheck) -> exp.Expr:
    return _as(coalesce(check.fails, exp.false()), f"__f{i}")  # each predicate is placed once


def _flags_query(table: str, checks: Sequence[RowCheck], outer: exp.Select) -> exp.Select:
    """``outer`` (a query over ``__flags``) with the CTEs ``__src`` (table and helpers) and
    ``__flags`` (every row with its failure flags, after the lookup joins)."""
    flags = exp.select(_star("__src"), *(_flag(i, x) for i, x in enumerate(checks))).from_("__src", copy=False)
    for x in checks:
        for j in x.joins:
            flags = flags.join(j.tree(), copy=False)
    src = source_select(table, [h for x in checks for h in x.helpers])
    return outer.with_("__src", as_=src, copy=False).with_("__flags", as_=flags, copy=False)


def _checks(rules: Sequence[RuleBase], ctx: Ctx) -> list[RowCheck]:
    return [row_check(r, i, ctx) for i, r in enumerate(rules)]


def _lookups(checks: Sequence[RowCheck]) -> frozenset[str]:
    return frozenset(j.table for x in checks for j in x.joins)


def _shown(sample: exp.Expr) -> exp.Expr:
    """A sample value as text; a missing value is shown as ∅."""
    return coalesce(cast(c(sample), "VARCHAR"), lit("∅"))


def _filtered(agg: type[exp.AggFunc], value: exp.Expr, where: exp.Expr) -> exp.Expr:
    return exp.Filter(this=agg(this=value), expression=exp.Where(this=where))


def _sample_aggs(i: int, check: RowCheck) -> tuple[list[exp.Expr], exp.Expr | None]:
    """The smallest and largest failing value of rule ``i``, and the projected sample column
    (``None`` when the aggregate reads a plain text column directly).

    When failing rows always hold a value of a text column (``check.present``), the
    aggregates read that column under ``FILTER (WHERE __f{i})``: no per-row expression.
    Otherwise a ``CASE`` keeps the (possibly costly) sample expression to the failing rows."""
    f = col(f"__f{i}")
    if check.present and isinstance(check.sample, exp.Column) and not check.sample.table:
        return [_as(_filtered(exp.Min, c(check.sample), c(f)), f"__lo{i}"),
                _as(_filtered(exp.Max, c(check.sample), c(f)), f"__hi{i}")], None
    s = col(f"__s{i}")
    return ([_as(exp.Min(this=c(s)), f"__lo{i}"), _as(exp.Max(this=c(s)), f"__hi{i}")],
            _as(case((f, _shown(check.sample))), f"__s{i}"))


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
    local = [i for i, x in enumerate(checks) if not x.joins]
    joined = [i for i, x in enumerate(checks) if x.joins]
    samples = [_sample_aggs(i, x) for i, x in enumerate(checks)]
    narrow: list[exp.Expr] = [_flag(i, checks[i]) for i in local]
    keep: list[str] = [name for i in range(len(checks)) if samples[i][1] is None
                       for name in row_rules[i].columns_used()]
    for i in joined:
        keep += [*row_rules[i].columns_used(), *(a for a, _e in checks[i].helpers)]
    narrow += [col(name) for name in dict.fromkeys(keep)]
    narrow += [proj for i in local if (proj := samples[i][1]) is not None]
    null_cols = tuple(columns) if null_stats else ()
    narrow += [_as(missing(text_e(name, ctx), ctx), f"__m{n}") for n, name in enumerate(null_cols)]
    date_max: list[tuple[str, str]] = []
    for r in rules:
        name = getattr(r, "column", None)
        if r.type == "timeliness" and name:
            alias = f"__max{len(date_max)}"
            date_max.append((alias, name))
            narrow.append(_as(flexible_date_e(text_e(name, ctx)), alias + "_d"))
    src = source_select(table, [h for x in checks for h in x.helpers])
    pre = exp.select(*(narrow or [exp.alias_(exp.Literal.number(1), "__one")])).from_("__src", copy=False)
    flags = exp.select(_star("__pre"), *(_flag(i, checks[i]) for i in joined)).from_("__pre", copy=False)
    for i in joined:
        for j in checks[i].joins:
            flags = flags.join(j.tree(), copy=False)
    flags = flags.select(*(proj for i in joined if (proj := samples[i][1]) is not None), append=True, copy=False)
    aggs: list[exp.Expr] = [_as(exp.Count(this=exp.Star()), "__rows")]
    aggs += [_as(fn("COUNT_IF", col(f"__f{i}")), f"__fail{i}") for i in range(len(checks))]
    aggs += [a for a_s, _s in samples for a in a_s]
    aggs += [_as(fn("COUNT_IF", col(f"__m{n}")), f"__null{n}") for n in range(len(null_cols))]
    aggs += [_as(cast(exp.Max(this=col(alias + "_d")), "VARCHAR"), alias) for alias, _c in date_max]
    query = exp.select(*aggs).from_("__flags", copy=False).with_("__src", as_=src, copy=False) \
        .with_("__pre", as_=pre, copy=False).with_("__flags", as_=flags, copy=False)
    return CompiledCheck(sql(query), tuple(r.key for r in row_rules), null_cols, tuple(date_max), _lookups(checks))


def failing_rows_sql(rule: RuleBase, *, table: str, columns: Sequence[str], ctx: Ctx,
                     dialect: str = "duckdb", limit: int | None = None) -> str:
    """A standalone query returning the rows that fail ``rule`` (stored with every result)."""
    checks = _checks([rule], ctx)
    outer = exp.select(*(col(x) for x in columns)).from_("__flags", copy=False).where(col("__f0"), copy=False)
    if limit is not None:
        outer = outer.limit(int(limit), copy=False)
    return transpile(sql(_flags_query(table, checks, outer)), dialect)


def samples_sql(rules: Sequence[RuleBase], indexes: Sequence[int], *, table: str, ctx: Ctx,
                per_rule: int = 5, dialect: str = "duckdb") -> str:
    """Up to ``per_rule`` failing values for each rule index in ``indexes`` (one query)."""
    row_rules = [r for r in rules if r.scope == "row"]
    parts: list[exp.Select] = []
    for i in indexes:
        check = row_check(row_rules[i], i, ctx)  # each branch computes only its own rule
        inner = exp.select(exp.alias_(exp.Literal.number(i), "__i"),
                           exp.alias_(cast(c(check.sample), "VARCHAR"), "__v"))
        inner = inner.from_(_sub(source_select(table, list(check.helpers)), "__src"), copy=False)
        for j in check.joins:
            inner = inner.join(j.tree(), copy=False)
        inner = inner.where(check.fails, copy=False).limit(int(per_rule), copy=False)
        parts.append(exp.select(_star()).from_(exp.Subquery(this=inner), copy=False))
    query: exp.Query = parts[0]
    for part in parts[1:]:
        query = exp.union(query, part, distinct=False, copy=False)
    return transpile(sql(query), dialect)


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
    cols = [col(x) for x in columns]
    flags = [col(f"__f{i}") for i in range(len(checks))]
    any_fail = or_(*flags) if flags else exp.false()
    reasons = [case((f, lit(str(i)))) for i, f in enumerate(flags)]
    reasons_expr = fn("CONCAT_WS", ",", *reasons) if checks else lit("")
    accepted = exp.select(*cols).from_("__flags", copy=False).where(not_(paren(c(any_fail))), copy=False)
    quarantined = exp.select(*(c(x) for x in cols), _as(reasons_expr, "__rules")).from_("__flags", copy=False) \
        .where(c(any_fail), copy=False)
    return SplitSql(transpile(sql(_flags_query(table, checks, accepted)), dialect),
                    transpile(sql(_flags_query(table, checks, quarantined)), dialect), _lookups(checks))
