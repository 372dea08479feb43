"""DuckDB's own reading of the SQL, checked before it runs (defence in depth).

The sandbox checks the sqlglot tree; this module asks DuckDB's parser
(``json_serialize_sql``) what the generated text means to DuckDB and refuses any table
that is not one of the query's views or CTEs, any table function but ``range``,
``generate_series`` and ``unnest``, and any function matching the sandbox's deny
patterns. A disagreement between the two parsers therefore cannot open a way to files,
settings, metadata or the raw views.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import duckdb

from shudata.core.errors import PermissionDenied
from shudata.query.rules.functions import DENY_PATTERN
from shudata.query.rules.table_functions import ROW_SOURCES


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _refuse(what: str) -> PermissionDenied:
    return PermissionDenied(f"查询被引擎安全检查拒绝：{what}", f"The engine's safety check refused the query: {what}",
                            code="sql_engine_refused", details={"action": "query.run", "resource_type": "query"})


def verify_sql(con: duckdb.DuckDBPyConnection, sql: str, views: Mapping[str, object]) -> None:
    """Raise ``PermissionDenied`` unless ``sql`` reads only ``views``, CTEs and safe functions."""
    row = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()
    tree = json.loads(row[0][0])
    if tree.get("error"):
        message = str(tree.get("error_message", ""))
        if "Only SELECT" in message:
            raise PermissionDenied(
                "只能运行单条 SELECT；PIVOT 请写明取值列表，如 PIVOT t ON 城市 IN ('成都', '绵阳') USING sum(值)",
                "Only a single SELECT may run; write PIVOT with an explicit IN list, e.g. "
                "PIVOT t ON city IN ('a', 'b') USING sum(v)",
                code="sql_engine_refused", details={"action": "query.run", "resource_type": "query"})
        raise _refuse(message or "not a single SELECT")
    if len(tree.get("statements", [])) != 1:
        raise _refuse("only one statement may run")
    nodes = list(_nodes(tree))
    ctes = {str(e.get("key", "")).casefold() for n in nodes if isinstance(n.get("cte_map"), dict)
            for e in n["cte_map"].get("map", []) if isinstance(e, dict)}
    allowed_tables = {v.casefold() for v in views} | ctes
    for node in nodes:
        if node.get("type") == "BASE_TABLE":
            name = str(node.get("table_name", ""))
            if node.get("schema_name") or node.get("catalog_name") or name.casefold() not in allowed_tables:
                raise _refuse(f"table {name!r}")
        elif node.get("type") == "TABLE_FUNCTION":
            fn = node.get("function") or {}
            name = str(fn.get("function_name", "")) if isinstance(fn, dict) else ""
            if name.lower() not in ROW_SOURCES:
                raise _refuse(f"table function {name!r}")
        elif "function_name" in node and DENY_PATTERN.search(str(node["function_name"])):
            raise _refuse(f"function {node['function_name']!r}")
