"""DuckDB's own reading of the SQL, checked before it runs (defence in depth).

The sandbox checks the sqlglot tree; this module asks DuckDB's parser
(``json_serialize_sql``) what the generated text means to DuckDB and refuses any table
that is not one of the query's views or a CTE in scope where it stands (the same scoping
as :mod:`shudata.query.rules.scope`: earlier CTEs of the same ``WITH``, a CTE's own name
only in the recursive term of a ``RECURSIVE_CTE_NODE``), any table function but ``range``,
``generate_series`` and ``unnest``, and any function matching the sandbox's deny
patterns. A disagreement between the two parsers therefore cannot open a way to files,
settings, metadata or the raw views.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

import duckdb

from shudata.core.errors import InvalidInput, PermissionDenied
from shudata.query.errors import sql_error
from shudata.query.rules.functions import DENY_PATTERN
from shudata.query.rules.table_functions import ROW_SOURCES


def _nodes(tree: Any) -> Iterator[tuple[dict[str, Any], frozenset[str]]]:
    """Every JSON object of DuckDB's parse, with the CTE names visible where it stands."""
    stack: list[tuple[Any, frozenset[str]]] = [(tree, frozenset())]
    while stack:
        node, scope = stack.pop()
        if isinstance(node, list):
            stack.extend((n, scope) for n in node)
        elif isinstance(node, dict):
            yield node, scope
            entries = _cte_entries(node)
            inner = scope | {key for key, _ in entries}
            stack.extend((v, inner) for k, v in node.items() if k != "cte_map")
            for i, (key, body) in enumerate(entries):
                stack.extend(_cte_body(key, body, (scope | {k for k, _ in entries[:i]}) - {key}))


def _cte_entries(node: dict[str, Any]) -> list[tuple[str, Any]]:
    cte_map = node.get("cte_map")
    entries = cte_map.get("map", []) if isinstance(cte_map, dict) else []
    return [(str(e.get("key", "")).casefold(), (e.get("value") or {}).get("query_node")) for e in entries
            if isinstance(e, dict) and isinstance(e.get("value"), dict)]


def _cte_body(key: str, body: Any, scope: frozenset[str]) -> list[tuple[Any, frozenset[str]]]:
    """A CTE's body with its scope; its own name is visible only in a recursive term."""
    if isinstance(body, dict) and body.get("type") == "RECURSIVE_CTE_NODE" and \
            str(body.get("cte_name", "")).casefold() == key:
        rest = {k: v for k, v in body.items() if k not in ("left", "right")}
        return [(rest, scope), (body.get("left"), scope), (body.get("right"), scope | {key})]
    return [(body, scope)]


def _not_sql(tree: dict[str, Any]) -> InvalidInput:
    """SQL that DuckDB's parser rejects (422): a mistake in the statement, not a refusal.

    >>> _not_sql({"error_message": 'Max expression depth limit of 1000 exceeded. Use "SET …"'}).code
    'sql_too_deep'
    >>> e = _not_sql({"error_message": "zero-length delimited identifier"})
    >>> (e.status, e.code, e.en.split("; ")[1])
    (422, 'sql_syntax_error', 'an empty name such as AS "" is not allowed: give every alias a name')
    """
    message = str(tree.get("error_message", ""))
    if "expression depth" in message:
        return sql_error("表达式嵌套超过 1000 层，请简化查询（减少嵌套的括号、函数调用或连续的运算）",
                         "Expressions are nested more than 1000 levels deep; simplify the query (fewer nested "
                         "parentheses, function calls or chained operators)", code="sql_too_deep")
    hint_zh, hint_en = "请检查语句的写法", "check how the statement is written"
    if "zero-length" in message:
        hint_zh = '不允许空名称（如 AS ""），请给每个别名起名'
        hint_en = 'an empty name such as AS "" is not allowed: give every alias a name'
    return sql_error(f"DuckDB 无法解析该 SQL：{message}；{hint_zh}",
                     f"DuckDB cannot read this SQL: {message}; {hint_en}", code="sql_syntax_error")


def _refuse(what: str) -> PermissionDenied:
    return PermissionDenied(f"查询被引擎安全检查拒绝：{what}", f"The engine's safety check refused the query: {what}",
                            code="sql_engine_refused", details={"action": "query.run", "resource_type": "query"})


# Statements that passed, by their text and the views they may read: DuckDB's parse of a
# text never changes, so a page asked again (or its count) is not parsed and walked again.
PASSED_KEPT = 512
PASSED_MAX_CHARS = 20_000
_passed: OrderedDict[tuple[str, frozenset[str]], None] = OrderedDict()
_passed_lock = threading.Lock()


def verify_sql(con: duckdb.DuckDBPyConnection, sql: str, views: Mapping[str, object]) -> None:
    """Raise ``PermissionDenied`` unless ``sql`` reads only ``views``, CTEs and safe functions;
    ``InvalidInput`` (422) for SQL that DuckDB's parser cannot read."""
    key = (sql, frozenset(v.casefold() for v in views))
    with _passed_lock:
        if key in _passed:
            _passed.move_to_end(key)
            return
    _verify(con, sql, key[1])
    if len(sql) <= PASSED_MAX_CHARS:
        with _passed_lock:
            _passed[key] = None
            while len(_passed) > PASSED_KEPT:
                _passed.popitem(last=False)


def _verify(con: duckdb.DuckDBPyConnection, sql: str, views_folded: frozenset[str]) -> None:
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
        if tree.get("error_type") == "parser":
            raise _not_sql(tree)
        raise _refuse(message or "not a single SELECT")
    if len(tree.get("statements", [])) != 1:
        raise _refuse("only one statement may run")
    for node, scope in _nodes(tree):
        if node.get("type") == "BASE_TABLE":
            name = str(node.get("table_name", ""))
            if node.get("schema_name") or node.get("catalog_name") or (
                    name.casefold() not in views_folded and name.casefold() not in scope):
                raise _refuse(f"table {name!r}")
        elif node.get("type") == "SHOW_REF":  # SHOW, DESCRIBE, SUMMARIZE
            raise _refuse("SHOW / DESCRIBE / SUMMARIZE")
        elif node.get("type") == "TABLE_FUNCTION":
            fn = node.get("function") or {}
            name = str(fn.get("function_name", "")) if isinstance(fn, dict) else ""
            if name.lower() not in ROW_SOURCES:
                raise _refuse(f"table function {name!r}")
        elif "function_name" in node and (DENY_PATTERN.search(str(node["function_name"]))
                                          or node.get("schema") or node.get("catalog")):
            raise _refuse(f"function {node['function_name']!r}")
