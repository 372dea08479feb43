"""Step 4: resolve table names and put each table behind its access subquery.

A name is either a CTE of the query visible where it stands (scoping as DuckDB does it,
:mod:`shudata.query.rules.scope`) or one of the caller's tables: qualified names
(``main.x``, ``pg_catalog.pg_settings``) and names of DuckDB's system catalogue are
refused (422), everything else is resolved through ``ctx.resolve`` (unknown -> 404, not
readable -> 403) and replaced by
``(SELECT <visible, rewritten columns> FROM <source> WHERE <filter>) AS <alias>``. The
outer query can then only ever see what the subquery exposes: ``SELECT *``,
``COLUMNS(*)``, struct references, correlated subqueries and CTEs named like a table
all go through it.

>>> from sqlglot import parse_one
>>> from shudata.query.access import ResolvedTable, TableAccess
>>> from shudata.query.context import SandboxContext, mapping_resolver
>>> ctx = SandboxContext(mapping_resolver({"people": ResolvedTable("s1", ("name", "id_no"),
...                                          TableAccess(columns=("name",)))}))
>>> print(protect_tables(parse_one("SELECT * FROM people p"), ctx).sql("duckdb"))
SELECT * FROM (SELECT "name" AS "name" FROM "s1") AS p
"""

from __future__ import annotations

from sqlglot import exp

from shudata.query.access import access_subquery
from shudata.query.context import SandboxContext
from shudata.query.errors import qualified_name, sql_error, system_catalog
from shudata.query.rules.scope import is_cte_reference, is_system_name

_CARRIED = ("laterals", "joins", "pivots", "sample")


def protect_tables(tree: exp.Expr, ctx: SandboxContext) -> exp.Expr:
    """Replace every stored-table reference in ``tree`` by its access subquery."""
    for table in list(tree.find_all(exp.Table)):
        if table.args.get("db") or table.args.get("catalog"):
            raise qualified_name(table)
        if not isinstance(table.this, exp.Identifier):
            continue  # allowed row sources (range, unnest), checked by the previous step
        if is_cte_reference(table):
            continue
        if is_system_name(table.name):
            raise system_catalog(table.name)
        for arg in ("system_time", "version", "when", "changes", "partition", "indexed", "hints"):
            if table.args.get(arg):
                raise sql_error("不支持该表修饰语法；历史版本请用查询选项 versions={资源: 版本号}",
                                "This table modifier is not supported; select old versions with the versions "
                                "option", code="sql_not_select", table=table.name)
        resolved = ctx.resolve(table.name)
        alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name, quoted=True))
        sub = exp.Subquery(this=access_subquery(resolved.source, resolved.columns, resolved.access),
                           alias=alias.copy())
        for arg in _CARRIED:
            if table.args.get(arg):
                sub.set(arg, table.args[arg])
        table.replace(sub)
    return tree
