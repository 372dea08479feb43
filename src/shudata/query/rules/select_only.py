"""Step 2: only read-only queries.

The statement must be a query (SELECT, a set operation, VALUES) and no node anywhere in
it may be a statement that writes, loads, attaches, sets or describes something.

>>> from sqlglot import parse_one
>>> ensure_select_only(parse_one("WITH a AS (SELECT 1 AS x) SELECT x FROM a")).sql()
'WITH a AS (SELECT 1 AS x) SELECT x FROM a'
>>> ensure_select_only(parse_one("DROP TABLE t"))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
shudata.core.errors.InvalidInput: 不允许 DROP TABLE：只允许只读查询：SELECT、WITH ... SELECT...
"""

from __future__ import annotations

from typing import NoReturn

from sqlglot import exp

from shudata.query.errors import ALLOWED_HINT_EN, ALLOWED_HINT_ZH, sql_error

ROOTS: tuple[type[exp.Expr], ...] = (exp.Select, exp.SetOperation, exp.Values)

# Statement and clause kinds that never belong in a read-only query.
_FORBIDDEN_NAMES = (
    "DDL", "DML", "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "TruncateTable",
    "Command", "Pragma", "Set", "SetItem", "Use", "Describe", "Show", "Summarize", "Copy", "Attach", "Detach",
    "Install", "LoadData", "Transaction", "Commit", "Rollback", "Into", "Cache", "Uncache", "Refresh",
    "Export", "Kill", "Grant", "Revoke", "Analyze", "Declare", "Execute", "Placeholder", "Parameter",
    "HistoricalData", "Lock",
)
FORBIDDEN: tuple[type[exp.Expr], ...] = tuple(
    cls for name in _FORBIDDEN_NAMES if isinstance(cls := getattr(exp, name, None), type))

_HINTS = {
    "HistoricalData": ("历史版本请用查询选项 versions={资源: 版本号}", "select old versions with the versions option"),
    "Placeholder": ("不支持参数占位符", "parameters are not supported"),
    "Parameter": ("不支持参数占位符", "parameters are not supported"),
    "Lock": ("不支持加锁子句", "locking clauses are not supported"),
}


_DISPLAY = {"HistoricalData": "AT (VERSION …)", "Placeholder": "$n", "Parameter": "$n", "Lock": "FOR UPDATE",
            "Into": "SELECT INTO", "SetItem": "SET", "TruncateTable": "TRUNCATE", "LoadData": "LOAD DATA"}


def statement_name(node: exp.Expr) -> str:
    """A short upper-case name of the statement or clause kind, for messages.

    >>> from sqlglot import parse_one
    >>> statement_name(parse_one("PRAGMA version", read="duckdb"))
    'PRAGMA'
    """
    if type(node).__name__ in _DISPLAY:
        return _DISPLAY[type(node).__name__]
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    if isinstance(node, exp.Create | exp.Drop) and node.args.get("kind"):
        return f"{type(node).__name__.upper()} {node.args['kind']}".upper()
    return type(node).__name__.upper()


def ensure_select_only(tree: exp.Expr) -> exp.Expr:
    """Return ``tree`` unchanged if it is a read-only query; raise ``InvalidInput`` otherwise."""
    if not isinstance(tree, ROOTS):
        _refuse(tree)
    for node in tree.walk():
        if isinstance(node, FORBIDDEN):
            _refuse(node)
    return tree


def _refuse(node: exp.Expr) -> NoReturn:
    name = statement_name(node)
    zh, en = _HINTS.get(type(node).__name__, (ALLOWED_HINT_ZH, ALLOWED_HINT_EN))
    if isinstance(node, exp.Column):  # a bare word such as CHECKPOINT parses as a column
        name = node.sql().upper()
    raise sql_error(f"不允许 {name}：{zh}", f"{name} is not allowed: {en}", code="sql_not_select",
                    statement=name)
