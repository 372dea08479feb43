"""Step 1: parse exactly one statement.

>>> parse_one_statement("SELECT 1;").sql()
'SELECT 1'
>>> parse_one_statement("SELECT 1; DROP TABLE t")
Traceback (most recent call last):
...
shudata.core.errors.InvalidInput: 只能提交一条语句（发现 2 条）；请去掉多余的分号和语句
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from shudata.query.errors import sql_error

MAX_SQL_CHARS = 100_000


def parse_one_statement(sql: str, dialect: str = "duckdb") -> exp.Expr:
    """Parse ``sql`` (one statement, optional trailing semicolon) into a sqlglot tree.

    Raises:
        InvalidInput: empty input, a syntax error (with line and column), or more than
            one statement.
    """
    if not sql or not sql.strip():
        raise sql_error("SQL 语句为空", "The SQL statement is empty", code="sql_empty")
    if len(sql) > MAX_SQL_CHARS:
        raise sql_error(f"SQL 语句过长（超过 {MAX_SQL_CHARS} 个字符）",
                        f"The SQL statement is longer than {MAX_SQL_CHARS} characters", code="sql_too_long")
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        line, col = first.get("line"), first.get("col")
        near = (str(first.get("start_context", ""))[-20:] + str(first.get("highlight", ""))).strip()
        raise sql_error(f"SQL 语法错误：第 {line} 行第 {col} 列附近“{near}”",
                        f"SQL syntax error at line {line}, column {col} near {near!r}",
                        code="sql_syntax_error", line=line, col=col) from exc
    except TokenError as exc:
        raise sql_error(f"SQL 无法识别（引号或注释未闭合？）：{exc}",
                        f"SQL cannot be tokenized (unclosed quote or comment?): {exc}",
                        code="sql_syntax_error") from exc
    if len(statements) != 1:
        raise sql_error(f"只能提交一条语句（发现 {len(statements)} 条）；请去掉多余的分号和语句",
                        f"Submit exactly one statement ({len(statements)} found); remove extra semicolons "
                        "and statements", code="sql_multiple_statements")
    return statements[0]
