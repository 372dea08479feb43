"""The SQL sandbox: user SQL in, checked and rewritten engine SQL out.

A pipeline of small pure steps over the sqlglot tree, in the order of :data:`RULES`
(after :func:`~shudata.query.rules.parse.parse_one_statement`):

1. ``ensure_select_only`` — read-only queries only;
2. ``reject_table_functions`` — no table functions, files or URLs in FROM;
3. ``reject_forbidden_functions`` — allow-listed functions only;
4. ``protect_tables`` — resolve names (404/403) and wrap each in its access subquery;
5. ``enforce_limit`` — the row cap.

The result is generated for the engine's dialect without comments.

>>> from shudata.query.access import ResolvedTable, TableAccess
>>> tables = {"enterprise_credit": ResolvedTable("s_1", ("uscc", "名称", "法人"),
...                                              TableAccess(columns=("uscc", "名称")))}
>>> print(compile_sandboxed('SELECT "名称" FROM enterprise_credit -- note', tables, max_rows=10))
SELECT "名称" FROM (SELECT "uscc" AS "uscc", "名称" AS "名称" FROM "s_1") AS "enterprise_credit" LIMIT 10
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlglot import exp

from shudata.query.access import ResolvedTable
from shudata.query.context import Resolver, SandboxContext, mapping_resolver
from shudata.query.engines.dialects import to_spark
from shudata.query.errors import sql_error
from shudata.query.rules.functions import reject_forbidden_functions
from shudata.query.rules.limit import enforce_limit
from shudata.query.rules.parse import parse_one_statement
from shudata.query.rules.protect import protect_tables
from shudata.query.rules.select_only import ensure_select_only
from shudata.query.rules.table_functions import reject_table_functions

Rule = Callable[[exp.Expr, SandboxContext], exp.Expr]


def _checked(check: Callable[[exp.Expr], exp.Expr]) -> Rule:
    def rule(tree: exp.Expr, _ctx: SandboxContext) -> exp.Expr:
        return check(tree)

    rule.__name__ = check.__name__
    return rule


RULES: tuple[Rule, ...] = (
    _checked(ensure_select_only),
    _checked(reject_table_functions),
    _checked(reject_forbidden_functions),
    protect_tables,
    enforce_limit,
)


@dataclass(frozen=True)
class Sandboxed:
    """The outcome of the sandbox: the rewritten tree, its SQL and the tables it reads."""

    tree: exp.Expr
    tables: Mapping[str, ResolvedTable]
    dialect: str = "duckdb"

    @functools.cached_property
    def sql(self) -> str:
        """The engine SQL, generated when first asked (a page of the SQL sandbox runs SQL
        generated from :attr:`tree` around it instead, so it never needs this one)."""
        return _generate(self.tree, self.dialect)


def _generate(tree: exp.Expr, dialect: str) -> str:
    try:
        if dialect == "spark":  # DuckDB's answers on Spark, or 422 spark_divergent naming the construct
            return to_spark(tree)
        return tree.sql(dialect=dialect, comments=False)
    except RecursionError:
        raise sql_error("SQL 嵌套层数过深，请简化表达式", "The SQL is nested too deeply; simplify it",
                        code="sql_too_deep") from None


def sandbox(sql: str, tables: Mapping[str, ResolvedTable] | Resolver, *, max_rows: int | None = None,
            dialect: str = "duckdb", read_dialect: str = "duckdb") -> Sandboxed:
    """Check and rewrite ``sql``; raise a 4xx ``ShudataError`` when it is refused.

    Args:
        sql: the caller's SQL (one statement).
        tables: table name -> resolved table, or a resolver function.
        max_rows: the row cap (``None``: none).
        dialect: the engine's sqlglot dialect for the output.
        read_dialect: the dialect the caller writes in.
    """
    resolver = mapping_resolver(tables) if isinstance(tables, Mapping) else tables
    used: dict[str, ResolvedTable] = {}

    def tracking(name: str) -> ResolvedTable:
        resolved = resolver(name)
        used[resolved.source] = resolved
        return resolved

    ctx = SandboxContext(resolve=tracking, max_rows=max_rows, dialect=dialect)
    try:
        tree = parse_one_statement(sql, read_dialect)
        for rule in RULES:
            tree = rule(tree, ctx)
        return Sandboxed(tree=tree, tables=used, dialect=dialect)
    except RecursionError:
        raise sql_error("SQL 嵌套层数过深，请简化表达式", "The SQL is nested too deeply; simplify it",
                        code="sql_too_deep") from None


def compile_sandboxed(sql: str, tables: Mapping[str, ResolvedTable] | Resolver, *, max_rows: int | None = None,
                      dialect: str = "duckdb") -> str:
    """The engine SQL for ``sql`` under the given tables and their access rules.

    The lower-level entry point for code that brings its own :class:`TableAccess`
    (privacy, sharing, hosted computation); :func:`shudata.query.service.run_query` is
    the one that resolves catalog resources and permissions.
    """
    return sandbox(sql, tables, max_rows=max_rows, dialect=dialect).sql
