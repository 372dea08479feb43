"""Step 4: resolve table names and put each table behind its access subquery.

Every reference to a stored table (anything that is not a CTE in scope) is resolved
through ``ctx.resolve`` (unknown -> 404, not readable -> 403) and replaced by
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
from shudata.query.errors import sql_error, table_not_found

_CARRIED = ("laterals", "joins", "pivots", "sample")


def is_cte_reference(table: exp.Table) -> bool:
    """Does ``table`` name a CTE visible where it stands (DuckDB scoping rules)?

    >>> from sqlglot import parse_one
    >>> q = parse_one("WITH a AS (SELECT * FROM a) SELECT * FROM a")
    >>> [is_cte_reference(t) for t in q.find_all(exp.Table)]  # outer reference, then the CTE's own
    [True, False]
    """
    name = table.name.casefold()
    child: exp.Expr = table
    node = table.parent
    while node is not None:
        if isinstance(node, exp.With):
            ctes = list(node.expressions)
            idx = next((i for i, c in enumerate(ctes) if c is child), len(ctes))
            visible = ctes[: idx + 1] if node.args.get("recursive") else ctes[:idx]
            if name in {c.alias_or_name.casefold() for c in visible}:
                return True
        else:
            with_ = node.args.get("with_")
            if isinstance(with_, exp.With) and with_ is not child and name in {
                    c.alias_or_name.casefold() for c in with_.expressions}:
                return True
        child, node = node, node.parent
    return False


def protect_tables(tree: exp.Expr, ctx: SandboxContext) -> exp.Expr:
    """Replace every stored-table reference in ``tree`` by its access subquery."""
    for table in list(tree.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier):
            continue  # allowed row sources (range, unnest), checked by the previous step
        if table.args.get("db") or table.args.get("catalog"):
            raise table_not_found(".".join(p.name for p in table.parts))
        if is_cte_reference(table):
            continue
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
