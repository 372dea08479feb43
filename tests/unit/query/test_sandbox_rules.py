"""Single steps of the sandbox pipeline, table-driven."""

from __future__ import annotations

import pytest
from sqlglot import exp, parse_one

from shudata.core.errors import InvalidInput, NotFound
from shudata.query.access import ResolvedTable, TableAccess, access_subquery
from shudata.query.rules.scope import is_cte_reference
from shudata.query.sandbox import RULES, compile_sandboxed, sandbox

TABLES = {"t": ResolvedTable("src_t", ("a", "b")), "u": ResolvedTable("src_u", ("a",))}


def test_rules_run_in_the_documented_order():
    assert [r.__name__ for r in RULES] == ["ensure_select_only", "reject_table_functions",
                                          "reject_forbidden_functions", "protect_tables", "enforce_limit"]


@pytest.mark.parametrize(("sql", "expected"), [
    ("WITH t AS (SELECT 1) SELECT * FROM t", [True]),  # CTE shadows the table
    ("WITH x AS (SELECT * FROM t) SELECT * FROM x", [True, False]),  # table inside a CTE body
    ("WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", [True, False]),  # later CTE not visible
    ("WITH RECURSIVE r AS (SELECT 1 UNION ALL SELECT * FROM r) SELECT * FROM r", [True, True]),  # recursive
    ("WITH RECURSIVE r AS (SELECT * FROM r) SELECT * FROM r", [True, False]),  # no UNION: the catalogue's r
    ("WITH RECURSIVE r AS (SELECT * FROM r UNION SELECT 1) SELECT * FROM r", [True, False]),  # in the anchor
    ("WITH RECURSIVE r AS (SELECT 1 EXCEPT SELECT * FROM r) SELECT * FROM r", [True, False]),  # not a UNION
    ("WITH RECURSIVE a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a", [True, False]),  # forward
    ("WITH r AS (SELECT 1) SELECT * FROM (WITH RECURSIVE r AS (SELECT * FROM r) SELECT * FROM r)",
     [True, False]),  # own name in its body ends the search, even with an outer r
    ("SELECT * FROM (WITH t AS (SELECT 1) SELECT * FROM t) s, t", [False, True]),  # CTE scope is its query
])
def test_cte_scoping(sql: str, expected: list[bool]):
    tree = parse_one(sql, read="duckdb")
    assert [is_cte_reference(t) for t in tree.find_all(exp.Table)] == expected


def test_same_table_twice_resolves_once_and_reports_used_tables():
    out = sandbox("SELECT * FROM t x JOIN t y ON x.a = y.a JOIN u ON u.a = x.a", TABLES, max_rows=5)
    assert set(out.tables) == {"src_t", "src_u"} and out.sql.count('FROM "src_t"') == 2


def test_unknown_table_is_404_naming_it():
    with pytest.raises(NotFound) as info:
        compile_sandboxed("SELECT * FROM t JOIN 四川省不存在的资源 z ON true", TABLES)
    assert "四川省不存在的资源" in info.value.zh and info.value.details["table"] == "四川省不存在的资源"


@pytest.mark.parametrize("sql", [
    "SELECT " + "(" * 20000 + "1" + ")" * 20000,  # recursion bomb for the parser
])
def test_too_deep_sql_is_a_422_not_a_crash(sql: str):
    with pytest.raises(InvalidInput) as info:
        compile_sandboxed(sql, TABLES)
    assert info.value.code == "sql_too_deep"


@pytest.mark.parametrize(("access", "code"), [
    (TableAccess(columns=("a", "nope")), "access_unknown_column"),  # visible column that is not stored
    (TableAccess(columns=()), "access_no_columns"),  # nothing left to see
    (TableAccess(row_filter=parse_one("region = 1")), "access_unknown_column"),  # would correlate outward
    (TableAccess(column_exprs={"zzz": parse_one("1")}), "access_unknown_column"),  # rewrite of a missing column
    (TableAccess(column_exprs={"a": parse_one("other.a")}), "access_unknown_column"),  # qualified reference
])
def test_bad_access_rules_are_refused(access: TableAccess, code: str):
    with pytest.raises(InvalidInput) as info:
        access_subquery("src", ("a", "b"), access)
    assert info.value.code == code


def test_restrict_intersects_columns_ands_filters_and_stacks_rewrites():
    first = TableAccess(columns=("a", "b"), row_filter=parse_one("a > 1"), column_exprs={"a": parse_one("a + 1")})
    second = TableAccess(columns=("a",), row_filter=parse_one("b < 5"), column_exprs={"a": parse_one("a * 10")})
    both = first.restrict(second)
    assert both.columns == ("a",)
    assert both.row_filter is not None and both.row_filter.sql() == "a > 1 AND b < 5"
    assert both.column_exprs["a"].sql() == "(a + 1) * 10"


def test_output_dialect_is_the_engines():
    masked = {"people": ResolvedTable("s1", ("姓名", "身份证号"), TableAccess(
        columns=("姓名",), column_exprs={"姓名": parse_one("left(\"姓名\", 1) || '**'", read="duckdb")}))}
    spark = compile_sandboxed('SELECT "姓名" FROM people', masked, max_rows=10, dialect="spark")
    assert spark == "SELECT `姓名` FROM (SELECT LEFT(`姓名`, 1) || '**' AS `姓名` FROM `s1`) AS `people` LIMIT 10"
