"""Row filters of grants: a validated SQL predicate over permitted columns only.

Only comparisons, IN, BETWEEN, LIKE, IS NULL, AND/OR/NOT, literals and column names
are allowed — no functions, subqueries or other tables — so a filter cannot read or
leak anything beyond the rows it selects.

>>> validate_row_filter("行政区划代码 LIKE '5101%' AND 年龄 >= 18", ["行政区划代码", "年龄"]).sql()
"行政区划代码 LIKE '5101%' AND 年龄 >= 18"
>>> validate_row_filter("年龄 > (SELECT 1)", ["年龄"])
Traceback (most recent call last):
...
shudata.core.errors.InvalidInput: 行过滤条件只能使用比较、IN、BETWEEN、LIKE、IS NULL 和 AND/OR/NOT（不允许：Subquery）
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from shudata.core.errors import InvalidInput

ALLOWED: tuple[type[exp.Expression], ...] = (
    exp.And, exp.Or, exp.Not, exp.Paren, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In,
    exp.Between, exp.Like, exp.ILike, exp.Is, exp.Null, exp.Boolean, exp.Literal, exp.Column,
    exp.Identifier, exp.Neg, exp.Tuple,
)


def validate_row_filter(text: str, columns: Iterable[str]) -> exp.Expr:
    """Parse ``text`` and check it; return the predicate expression."""
    allowed_cols = set(columns)
    if len(text) > 2000:
        raise InvalidInput("行过滤条件过长（最多 2000 字符）", "Row filter too long (max 2000 characters)",
                           code="row_filter_too_long")
    if not text.strip():
        raise _syntax("条件为空", "the condition is empty")
    try:
        tree = sqlglot.parse_one(text, dialect="duckdb")
    except TokenError as exc:
        raise _syntax("引号未闭合", "a quote is not closed") from exc
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        near = (str(first.get("start_context", ""))[-20:] + str(first.get("highlight", ""))).strip()
        col = first.get("col")
        raise _syntax(f"第 {col} 个字符附近“{near}”" if col and near else "无法解析",
                      f"near character {col}, {near!r}" if col and near else "it cannot be read") from exc
    for node in tree.walk():
        if not isinstance(node, ALLOWED):
            raise InvalidInput(
                f"行过滤条件只能使用比较、IN、BETWEEN、LIKE、IS NULL 和 AND/OR/NOT（不允许：{type(node).__name__}）",
                f"Row filters allow only comparisons, IN, BETWEEN, LIKE, IS NULL and AND/OR/NOT "
                f"(not {type(node).__name__})", code="row_filter_forbidden")
        if isinstance(node, exp.Column):
            if node.table:
                raise InvalidInput("行过滤条件不能引用其他表", "Row filters cannot reference other tables",
                                   code="row_filter_forbidden")
            if node.name not in allowed_cols:
                raise InvalidInput(f"行过滤条件引用了不可用的信息项“{node.name}”",
                                   f"Row filter uses a column that is not permitted: {node.name}",
                                   code="row_filter_column_denied")
    return tree


def _syntax(where_zh: str, where_en: str) -> InvalidInput:
    """A row filter that is not a well-formed condition (422), with the form it should take.

    >>> _syntax("引号未闭合", "a quote is not closed").en.split("; ")[0]
    'The row filter is not a valid condition (a quote is not closed)'
    >>> _syntax("引号未闭合", "a quote is not closed").zh.split("；")[0]
    '行过滤条件写法有误（引号未闭合）'
    """
    return InvalidInput(f"行过滤条件写法有误（{where_zh}）；请按 城市 = '成都' AND 年龄 >= 18 的形式书写："
                        "文本用单引号，条件之间用 AND/OR 连接，括号成对",
                        f"The row filter is not a valid condition ({where_en}); write it like 城市 = '成都' AND "
                        "年龄 >= 18: text in single quotes, conditions joined by AND/OR, every parenthesis closed",
                        code="row_filter_syntax")


def combine(filters: Iterable[exp.Expr | None]) -> exp.Expr | None:
    """AND together the non-empty filters (a grant's filter and a narrower one of a call)."""
    parts = [f for f in filters if f is not None]
    if not parts:
        return None
    return exp.and_(*[exp.paren(p) for p in parts])
