"""Compile-time refusal (issue 17): a construct Spark SQL cannot run with DuckDB's answer is refused
before anything runs, naming the construct (422 ``spark_divergent``); what can be made identical
is rewritten, and the rewrites give the same rows on both engines."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot

from shudata.core.errors import InvalidInput
from shudata.quality.compile import failing_rows_sql
from shudata.quality.compile_exprs import Ctx
from shudata.quality.rules import parse_rule_set
from shudata.query.engines.base import Limits, TableSource
from shudata.query.engines.dialects import divergences, java_regex, to_spark
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.engines.spark import SparkEngine, parse_conf

REFUSED = {  # construct → DuckDB SQL using it → words the message must contain
    "collation": ("SELECT 名称 FROM t ORDER BY 名称 COLLATE zh", "排序规则"),
    "collation in a comparison": ("SELECT * FROM t WHERE 名称 COLLATE nocase = 'a'", "排序规则"),
    r"regex \s": (r"SELECT * FROM t WHERE regexp_matches(名称, '^\s+$')", r"\s"),
    "regex POSIX class": ("SELECT * FROM t WHERE regexp_matches(名称, '[[:alpha:]]')", "POSIX"),
    r"regex \p": (r"SELECT * FROM t WHERE regexp_matches(名称, '\p{Han}')", r"\p{…}"),
    r"regex \b": (r"SELECT regexp_extract(名称, '\bx', 0) FROM t", "单词边界"),
    "regex $ inside": ("SELECT * FROM t WHERE regexp_matches(名称, 'a$|b')", "$"),
    "regex not a literal": ("SELECT * FROM t WHERE regexp_matches(名称, 地址)", "字符串常量"),
    "regexp_replace first match": ("SELECT regexp_replace(名称, '[0-9]', '#') FROM t", "只替换第一处"),
    "regexp_replace back-reference": (r"SELECT regexp_replace(名称, '([0-9])', '\1', 'g') FROM t", "反向引用"),
    "integer shift": ("SELECT 1 << 70", "位移"),
    "sample": ("SELECT * FROM t USING SAMPLE 10 ROWS", "抽样"),
    "DuckDB-only function": ("SELECT jaro_winkler_similarity(名称, 地址) FROM t", "JAROWINKLER_SIMILARITY"),
    "table function": ("SELECT r.range FROM t CROSS JOIN range(5) r", "表函数"),
    "unnest": ("SELECT u.x FROM unnest([1, 2]) AS u(x)", "表函数"),
    "DuckDB-only function 2": ("SELECT list_aggr([1, 2], 'sum')", "LIST_AGGR"),
}


@pytest.mark.parametrize("construct", sorted(REFUSED))
def test_each_divergent_construct_is_refused_by_name(construct: str) -> None:
    sql, words = REFUSED[construct]
    with pytest.raises(InvalidInput) as info:
        to_spark(sql)
    assert info.value.code == "spark_divergent" and info.value.status == 422
    assert words in info.value.zh, info.value.zh
    assert info.value.details["constructs"]


def test_what_is_the_same_passes_and_what_can_be_made_the_same_is_rewritten() -> None:
    assert to_spark("SELECT a FROM t ORDER BY a").endswith("ORDER BY a NULLS LAST")  # DuckDB's NULL order
    assert "OVER (ORDER BY a NULLS LAST)" in to_spark("SELECT ROW_NUMBER() OVER (ORDER BY a) FROM t")
    assert "TRIM(BOTH ' \u00a0" in to_spark("SELECT TRIM(a) FROM t")  # DuckDB's set of spaces
    assert to_spark("SELECT * FROM t WHERE regexp_matches(a, '^[0-9]{6}$')").endswith("'(?d)^[0-9]{6}\\\\z'")
    assert "REGEXP_REPLACE(a, '(?d)[0-9]', '#')" in to_spark("SELECT regexp_replace(a, '[0-9]', '#', 'g') FROM t")
    assert "SHUDATA_PSEUDONYM" in to_spark("SELECT shudata_pseudonym(a, 'k1', 16) FROM t")  # the platform's UDFs
    assert java_regex("[$]$") == "(?d)[$]\\z" and java_regex("a$b") is None
    assert divergences(sqlglot.parse_one("SELECT a // 2, COUNT_IF(a > 1) FROM t", read="duckdb")) == []


def test_spark_ansi_mode_is_fixed_so_overflow_fails_on_both() -> None:
    with pytest.raises(InvalidInput):
        parse_conf("spark.sql.ansi.enabled=false")


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TableSource]:
    path = tmp_path_factory.mktemp("lines") / "t.parquet"
    values = ["123456", "123456\n", "12345\r6", "1234567", "\u00a0123456", "x", None, "12a456", "123456\r",
              "四川省成都市", "四川省\n成都"]
    pq.write_table(pa.table({"v": values, "名称": values}), path)
    return {"t": TableSource("t", [path])}


@pytest.mark.spark
def test_rewritten_regexes_and_overflow_behave_alike(duck: DuckDBEngine, spark: SparkEngine,
                                                      lines: dict[str, TableSource]) -> None:
    for pattern in ("^[0-9]{6}$", "^.{6}$", "^四川省.*$", "[0-9]+", "^1.3"):
        sql = f"SELECT v FROM t WHERE regexp_matches(v, '{pattern}') ORDER BY v"
        a, b = duck.query(sql, lines), spark.query(to_spark(sql), lines)
        assert a.column("v").to_pylist() == b.column("v").to_pylist(), pattern
    sql = "SELECT regexp_replace(v, '[0-9]', '#', 'g') AS r FROM t ORDER BY r"
    assert duck.query(sql, lines).to_pylist() == spark.query(to_spark(sql), lines).to_pylist()
    overflow = "SELECT CAST(9223372036854775807 AS BIGINT) + CAST(COUNT(*) AS BIGINT) AS n FROM t"
    with pytest.raises(InvalidInput):
        duck.query(overflow, lines)
    with pytest.raises(InvalidInput):
        spark.query(to_spark(overflow), lines, Limits(timeout_s=120))


def test_a_quality_rule_compiled_for_spark_is_refused_before_running(tmp_path: Path) -> None:
    rule = parse_rule_set([{"type": "regex", "column": "名称", "pattern": r"^\S+$"}]).rules[0]
    assert failing_rows_sql(rule, table="t", columns=["名称"], ctx=Ctx(), dialect="duckdb")  # DuckDB: fine
    with pytest.raises(InvalidInput) as info:
        failing_rows_sql(rule, table="t", columns=["名称"], ctx=Ctx(), dialect="spark")
    assert info.value.code == "spark_divergent" and r"\s" in info.value.zh
