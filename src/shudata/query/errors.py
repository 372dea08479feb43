"""Errors of the SQL sandbox: clear 4xx messages in Chinese and English.

Every error carries ``details`` with ``action = "query.run"`` so that the web layer's
audit of refusals files them under the query action (404s included).

>>> e = sql_error("只允许查询", "Only queries are allowed", code="sql_not_select")
>>> (e.status, e.code, e.details["action"])
(422, 'sql_not_select', 'query.run')
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from shudata.core.errors import InvalidInput, NotFound

ACTION = "query.run"

ALLOWED_HINT_ZH = "只允许只读查询：SELECT、WITH … SELECT、UNION/INTERSECT/EXCEPT 与 VALUES"
ALLOWED_HINT_EN = "only read-only queries are allowed: SELECT, WITH … SELECT, UNION/INTERSECT/EXCEPT and VALUES"


def details(**extra: Any) -> dict[str, Any]:
    """Details for a sandbox error (always names the query action)."""
    return {"action": ACTION, "resource_type": "query", **{k: v for k, v in extra.items() if v is not None}}


def sql_error(zh: str, en: str, *, code: str, **extra: Any) -> InvalidInput:
    """A refused statement (422)."""
    return InvalidInput(zh, en, code=code, details=details(**extra))


def table_not_found(name: str) -> NotFound:
    """A table name that is neither a resource nor a CTE (404)."""
    return NotFound(f"没有名为“{name}”的数据表：请用资源代码（加双引号，如 \"101001/000123\"）、别名或资源名称",
                    f"No table named {name!r}: use a resource code (double-quoted, e.g. \"101001/000123\"), "
                    "an alias or the resource name", code="table_not_found", details=details(table=name))


def system_catalog(name: str) -> InvalidInput:
    """A name of DuckDB's system catalogue (``pg_settings``, ``duckdb_views`` …) used as a table (422).

    >>> system_catalog("pg_settings").en
    'pg_settings is part of the database system catalogue, which queries cannot read; use the resources you may read'
    """
    return sql_error(f"“{name}”属于数据库系统目录，查询中不能读取；只能查询有权限的目录资源"
                     "（或本查询中定义的 WITH 子查询）",
                     f"{name} is part of the database system catalogue, which queries cannot read; use the "
                     "resources you may read", code="sql_system_catalog", table=name)


def qualified_name(table: exp.Table) -> InvalidInput:
    """A table name with a database or schema prefix (``main.x``, ``pg_catalog.pg_settings``) (422)."""
    name = ".".join(p.name if isinstance(p, exp.Identifier) else p.sql("duckdb") for p in table.parts)
    return sql_error(f"不允许带数据库或模式前缀的表名“{name}”：请只写资源代码（加双引号）、别名或资源名称",
                     f"Table names with a database or schema prefix ({name!r}) are not allowed: write only a "
                     "resource code (double-quoted), an alias or a resource name", code="sql_qualified_name",
                     table=name)
