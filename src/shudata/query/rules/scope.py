"""Name resolution with scoping: is a table name a CTE of the query, or a stored table?

A table name in FROM/JOIN is a CTE reference only where DuckDB binds it to that CTE:

* a CTE is visible in the body of its ``WITH`` and in the bodies of the CTEs defined
  *after* it in the same ``WITH`` (never before: forward references go to the catalogue);
* a CTE is visible inside its own body only when the ``WITH`` is ``RECURSIVE`` and the body
  is ``<anchor> UNION [ALL] <recursive term>`` with the name in the recursive term. In
  ``WITH RECURSIVE pg_settings AS (SELECT * FROM pg_settings)`` or in the anchor, DuckDB
  reads the catalogue's object of that name, so the sandbox does not treat it as a CTE;
* inside a CTE's own body a non-recursive use of its name ends the search (it is not
  looked up in outer scopes either): the sandbox then resolves it as a stored table,
  which always stays on the safe side.

Everything that is not a CTE reference must be one of the caller's tables; the names of
DuckDB's system catalogue (``pg_settings``, ``duckdb_views``, ``sqlite_master``,
``information_schema`` …) get their own message.

>>> from sqlglot import parse_one
>>> q = parse_one("WITH RECURSIVE pg_settings AS (SELECT * FROM pg_settings) SELECT * FROM pg_settings")
>>> [is_cte_reference(t) for t in q.find_all(exp.Table)]  # the outer reference, then the body's
[True, False]
>>> q = parse_one("WITH RECURSIVE r AS (SELECT * FROM r UNION ALL SELECT n + 1 FROM r) SELECT * FROM r")
>>> [(t.parent_select.sql()[:19], is_cte_reference(t)) for t in q.find_all(exp.Table)]  # outer, anchor, term
[('WITH RECURSIVE r AS', True), ('SELECT * FROM r', False), ('SELECT n + 1 FROM r', True)]
>>> is_system_name("PG_Settings"), is_system_name("people")
(True, False)
"""

from __future__ import annotations

import re

from sqlglot import exp

# Databases and schemas of a DuckDB connection (DuckDB 2.0: memory, system, temp; main,
# pg_catalog, information_schema).
SYSTEM_SCHEMAS = frozenset({"memory", "system", "temp", "main", "pg_catalog", "information_schema"})

# Unqualified names DuckDB resolves to its system catalogue (``duckdb_views() WHERE
# internal`` reachable without a schema: duckdb_*, pg_*, sqlite_*, pragma_database_list).
SYSTEM_PREFIX = re.compile(r"^(duckdb_|pg_|sqlite_|pragma_|information_schema)", re.IGNORECASE)


def is_system_name(name: str) -> bool:
    """Is ``name`` (one identifier) a name of DuckDB's system catalogue?"""
    return bool(SYSTEM_PREFIX.search(name))


def _names(ctes: list[exp.Expr]) -> set[str]:
    return {c.alias_or_name.casefold() for c in ctes}


def _in_recursive_term(table: exp.Table, cte: exp.Expr) -> bool:
    """Is ``table`` inside the recursive term (right operand) of ``cte``'s UNION body?"""
    body = cte.this
    if not isinstance(body, exp.Union):
        return False
    term = body.expression
    node: exp.Expr | None = table
    while node is not None and node is not cte:
        if node is term:
            return True
        node = node.parent
    return False


def is_cte_reference(table: exp.Table) -> bool:
    """Does ``table`` name a CTE visible where it stands (DuckDB's scoping rules)?"""
    name = table.name.casefold()
    child: exp.Expr = table
    node = table.parent
    while node is not None:
        if isinstance(node, exp.With):
            ctes = list(node.expressions)
            idx = next((i for i, c in enumerate(ctes) if c is child), len(ctes))
            if name in _names(ctes[:idx]):
                return True
            if idx < len(ctes) and ctes[idx].alias_or_name.casefold() == name:
                # its own name inside a CTE's body: a CTE only in a recursive term
                return bool(node.args.get("recursive")) and _in_recursive_term(table, ctes[idx])
        else:
            with_ = node.args.get("with_")
            if isinstance(with_, exp.With) and with_ is not child and name in _names(list(with_.expressions)):
                return True
        child, node = node, node.parent
    return False
