"""Step 3b: only harmless functions.

Functions sqlglot does not model (``exp.Anonymous``) must be on the reviewed allow-list
of DuckDB scalar/aggregate/window functions (``allowed_functions.txt``). Functions it
does model are accepted unless they read files, secrets or settings, or their names
match the deny patterns. Nothing can read the environment, settings, metadata or files.

>>> from sqlglot import parse_one
>>> reject_forbidden_functions(parse_one("SELECT upper(strip_accents(x)), count(*) FROM t")).sql()
'SELECT UPPER(STRIP_ACCENTS(x)), COUNT(*) FROM t'
>>> reject_forbidden_functions(parse_one("SELECT getenv('HOME')"))
Traceback (most recent call last):
...
shudata.core.errors.InvalidInput: 不允许调用函数 getenv：沙箱中不能读取环境、设置、元数据或文件
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from sqlglot import exp

from shudata.query.errors import sql_error

DENY_PATTERN = re.compile(
    r"^(__internal|current_setting$|current_query|current_statement|getvariable$|getenv$|nextval$|currval$|pg_|"
    r"has_\w+_privilege$|json_(de)?serialize_(sql|plan)$|json_execute_serialized_sql$|\w*_description$|"
    r"duckdb_|pragma_|read_|to_file$|secret|sqlite_|postgres_|mysql_|iceberg_|delta_|parquet_|glob$|load|"
    r"install|checkpoint|force_checkpoint|enable_|disable_|which_secret|sniff_csv|test_|sleep|query(_table)?$|"
    r"system|shell|current_schemas$|in_search_path$|stats$)",
    re.IGNORECASE)

_ANONYMOUS: tuple[type[exp.Expr], ...] = tuple(
    cls for name in ("Anonymous", "AnonymousAggFunc", "CombinedAggFunc", "CombinedParameterizedAgg",
                     "ParameterizedAgg")
    if isinstance(cls := getattr(exp, name, None), type))


@functools.cache
def allowed_functions() -> frozenset[str]:
    """The reviewed allow-list of function names (lower case)."""
    text = resources.files("shudata.query.rules").joinpath("allowed_functions.txt").read_text("utf-8")
    names = (line.strip().lower() for line in text.splitlines())
    return frozenset(n for n in names if n and not n.startswith("#") and not DENY_PATTERN.search(n))


def function_names(node: exp.Func) -> tuple[str, ...]:
    """The names a function node may be called by (lower case).

    >>> from sqlglot import parse_one
    >>> function_names(parse_one("read_csv('x')", read="duckdb"))
    ('read_csv',)
    """
    if isinstance(node, _ANONYMOUS):
        return (str(node.name).lower(),)
    return tuple(n.lower() for n in type(node).sql_names()) or (type(node).__name__.lower(),)


def reject_forbidden_functions(tree: exp.Expr) -> exp.Expr:
    """Return ``tree`` if every function in it is allowed; raise ``InvalidInput`` otherwise."""
    allowed = allowed_functions()
    for node in tree.find_all(exp.Func):
        names = function_names(node)
        denied = any(DENY_PATTERN.search(n) for n in names)
        unknown = isinstance(node, _ANONYMOUS) and names[0] not in allowed
        if denied or unknown:
            raise sql_error(f"不允许调用函数 {names[0]}：沙箱中不能读取环境、设置、元数据或文件",
                            f"Function {names[0]} is not allowed: the sandbox cannot read the environment, "
                            "settings, metadata or files", code="sql_function_forbidden", function=names[0])
    return tree
