"""Spark Connect (issue 17): a real Spark Connect server started from the pyspark package on a
loopback port; a sandboxed query (masked column included) and a quality run go through
``sc://127.0.0.1:PORT`` and give DuckDB's answers; the server then stops."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlglot
from tests.support.spark import RULES, ConnectServer, content_hash, messy_citizens

from shudata.quality.reference import region_sources
from shudata.quality.rules import parse_rule_set
from shudata.quality.run import Target, evaluate
from shudata.query.access import ResolvedTable, TableAccess
from shudata.query.engines.base import TableSource
from shudata.query.engines.choose import where
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.engines.spark import SparkConfig, SparkEngine, stop_session
from shudata.query.sandbox import sandbox

pytestmark = [pytest.mark.spark, pytest.mark.slow]
WHY = ConnectServer.shipped()


@pytest.mark.skipif(WHY is not None, reason=f"Spark Connect server not available: {WHY}")
def test_sandbox_query_and_quality_run_through_spark_connect(tmp_path: Path) -> None:
    path = tmp_path / "citizens.parquet"
    pq.write_table(messy_citizens(10_000, seed=21), path, row_group_size=2500)
    lookups = region_sources(tmp_path / "ref")
    server = ConnectServer(tmp_path / "connect").start()
    stop_session()  # this process's classic session (if any) gives way to the Connect one
    try:
        spark = SparkEngine(config=SparkConfig(master=server.url))
        assert where(spark) == {"engine": "spark", "master": server.url}
        duck = DuckDBEngine(threads=2)
        cols = tuple(pq.read_schema(path).names)
        resolved = {"citizens": ResolvedTable("s_1", cols, TableAccess(
            columns=("姓名", "区划代码", "收入"),
            column_exprs={"姓名": sqlglot.parse_one("SUBSTRING(\"姓名\", 1, 1) || '*'", read="duckdb")}))}
        sql = ('SELECT "区划代码", "姓名", COUNT(*) AS n, MAX("收入") AS s FROM citizens '
               'WHERE TRIM("姓名") <> \'\' GROUP BY "区划代码", "姓名" ORDER BY n DESC, "区划代码", "姓名"')
        tables = {"s_1": TableSource("s_1", [path])}
        a = duck.query(sandbox(sql, resolved, max_rows=5000, dialect="duckdb").sql, tables)
        on_spark = sandbox(sql, resolved, max_rows=5000, dialect="spark").sql
        assert "`" in on_spark
        b = spark.query(on_spark, tables)
        assert a.num_rows == b.num_rows > 10 and content_hash(a) == content_hash(b)
        assert a.column("n").to_pylist() == b.column("n").to_pylist()  # the same order
        target, rs = Target.from_parquet("t", [path]), parse_rule_set(RULES)
        x = evaluate(duck, target, rs, lookups=lookups, as_of=dt.date(2024, 1, 1), vectorised=False)
        y = evaluate(spark, target, rs, lookups=lookups, as_of=dt.date(2024, 1, 1), vectorised=False)
        assert x.rows == y.rows == 10_000
        assert [(r.key, r.failed, r.samples) for r in x.results] == [(r.key, r.failed, r.samples) for r in y.results]
        assert any(r.failed for r in x.results)
    finally:
        stop_session()
        code = server.stop()
    assert code is not None and server.proc is not None and server.proc.poll() is not None  # it has stopped
