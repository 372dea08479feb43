"""Step 3a: no table functions, files or URLs in FROM.

Only ``range``, ``generate_series`` and ``unnest`` may produce rows; everything else in
a FROM clause must be a plain table name (resolved in the next step). Names that look
like files or URLs (``FROM 'data.parquet'``, ``FROM 'https://…'``) are refused here with
a message saying why.

>>> from sqlglot import parse_one
>>> reject_table_functions(parse_one("SELECT * FROM range(3) AS r(i)", read="duckdb")).sql("duckdb")
'SELECT * FROM RANGE(0, 3) AS r(i)'
>>> reject_table_functions(parse_one("SELECT * FROM glob('*')", read="duckdb"))
Traceback (most recent call last):
...
shudata.core.errors.InvalidInput: 不允许表函数 glob：查询只能读取有权限的目录资源（可用 range、generate_series、unnest）
"""

from __future__ import annotations

import re

from sqlglot import exp

from shudata.query.errors import sql_error
from shudata.query.rules.functions import function_names

ROW_SOURCES = frozenset({"range", "generate_series", "unnest"})

FILE_LIKE = re.compile(
    r"(://|^[/~\\.]|^[a-z]:[\\/]|\.(csv|tsv|txt|parquet|json|jsonl|ndjson|xlsx?|db|duckdb|sqlite3?|arrow|"
    r"avro|orc|gz|zst|blob)$|[*?])", re.IGNORECASE)


def reject_table_functions(tree: exp.Expr) -> exp.Expr:
    """Return ``tree`` if its FROM items are tables or allowed row sources."""
    for table in tree.find_all(exp.Table):
        source = table.this
        if isinstance(source, exp.Func):
            name = function_names(source)[0]
            if name not in ROW_SOURCES and not isinstance(source, exp.GenerateSeries | exp.Unnest):
                raise sql_error(f"不允许表函数 {name}：查询只能读取有权限的目录资源"
                                "（可用 range、generate_series、unnest）",
                                f"Table function {name} is not allowed: queries read only permitted catalog "
                                "resources (range, generate_series and unnest are available)",
                                code="sql_table_function_forbidden", function=name)
        elif not isinstance(source, exp.Identifier):
            raise sql_error("FROM 中只能写数据表名称", "Only table names may appear in FROM",
                            code="sql_table_function_forbidden")
        elif FILE_LIKE.search(table.name):
            raise sql_error(f"不允许直接读取文件或网址“{table.name}”：请用目录资源的代码或别名",
                            f"Reading files or URLs ({table.name!r}) is not allowed: use a catalog resource's "
                            "code or alias", code="sql_file_access", table=table.name)
    return tree
