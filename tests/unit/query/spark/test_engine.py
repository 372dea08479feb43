"""The Spark engine behind the engine protocol: limits (408/409), errors as 4xx, no file access
from SQL, Arrow UDFs, copies as one Parquet file, and the sandbox routing a resource to Spark."""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from tests.support.spark import content_hash, messy_citizens

from shudata.core.errors import BadRequest, Conflict, InvalidInput, QueryTimeout, Unavailable
from shudata.query.engines import spark as spark_mod
from shudata.query.engines.base import Cancel, Limits, ScalarUdf, TableSource
from shudata.query.engines.choose import engine_for, make_engine, where
from shudata.query.engines.spark import SparkEngine, parse_conf, parse_master
from shudata.query.service import run_query

pytestmark = pytest.mark.spark
HEAVY = "SELECT SUM(HASH(a.id, b.id)) FROM range(400000000) a CROSS JOIN range(10) b"


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TableSource]:
    path = tmp_path_factory.mktemp("p") / "p.parquet"
    pq.write_table(pa.table({"姓名": ["张三", None, " 李四\u3000"], "年龄": [30, 41, None]}), path)
    return {"t": TableSource("t", [path])}


def test_query_udf_and_copy(spark: SparkEngine, people: dict[str, TableSource], tmp_path: Path) -> None:
    udf = ScalarUdf("MARK", lambda a: pc.binary_join_element_wise(a, pa.scalar("*"), ""), ("VARCHAR",), "VARCHAR")
    eng = spark.with_udfs((udf,))
    got = eng.query("SELECT MARK(`姓名`) AS m, `年龄` FROM t ORDER BY `年龄` NULLS FIRST", people)
    assert got.to_pylist() == [{"m": " 李四\u3000*", "年龄": None}, {"m": "张三*", "年龄": 30}, {"m": None, "年龄": 41}]
    assert spark.query("SELECT * FROM t", people, Limits(max_rows=2)).num_rows == 2
    with spark.session(people) as run:
        assert run.query("SELECT COUNT(*) AS n FROM t").column(0).to_pylist() == [3]
    assert sum(b.num_rows for b in spark.stream("SELECT * FROM t", people, batch_rows=1)) == 3
    rows = spark.copy_to_parquet("SELECT * FROM t WHERE `年龄` IS NOT NULL", people, tmp_path / "out.parquet")
    assert rows == 2 and pq.read_table(tmp_path / "out.parquet").num_rows == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.parquet"]  # the work directory is gone


def test_a_copy_in_several_parts_is_joined_by_the_jvm_as_it_was_written(spark: SparkEngine, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Several parts are joined by parquet-hadoop in the driver JVM, row groups copied as they are:
    the same rows, in part order, as pyarrow's decode-and-encode join (Spark Connect's); nothing
    (no Hadoop checksum file) is left next to the target."""
    src = tmp_path / "in" / "c.parquet"
    src.parent.mkdir()
    table = messy_citizens(3000, seed=3)
    pq.write_table(table, src)
    tables = {"t": TableSource("t", [src])}
    joined: list[object] = []
    real = spark_mod._append_row_groups
    monkeypatch.setattr(spark_mod, "_append_row_groups", lambda *a: joined.append(a) or real(*a))
    out = tmp_path / "out"
    out.mkdir()
    rows = spark.copy_to_parquet("SELECT /*+ REPARTITION(3) */ * FROM t", tables, out / "a.parquet")
    assert rows == 3000 and len(joined) == 1 and len(joined[0][1]) == 3  # type: ignore[index]
    assert sorted(p.name for p in out.iterdir()) == ["a.parquet"]
    a = pq.read_table(out / "a.parquet")
    assert pq.ParquetFile(out / "a.parquet").metadata.num_row_groups == 3
    monkeypatch.setattr(spark_mod, "_append_row_groups", real)
    work = tmp_path / "parts"
    with spark._open(tables, Limits()) as s:
        s.sql("SELECT /*+ REPARTITION(3) */ * FROM t").write.parquet(str(work))
    spark_mod.join_parts(work, tmp_path / "b.parquet")  # no session: pyarrow
    b = pq.read_table(tmp_path / "b.parquet")
    assert a.schema.equals(b.schema) and content_hash(a) == content_hash(b) == content_hash(table)


def test_errors_are_4xx_and_files_are_out_of_reach(spark: SparkEngine, people: dict[str, TableSource]) -> None:
    with pytest.raises(InvalidInput) as info:
        spark.query("SELECT nope FROM t", people)
    assert info.value.code == "sql_invalid" and info.value.status == 422
    path = people["t"].files[0]
    with pytest.raises(InvalidInput):  # runSQLOnFiles is off: a path is just an unknown table
        spark.query(f"SELECT * FROM parquet.`{path}`", people)
    with pytest.raises(BadRequest):
        spark.query("SELECT 1", {"t": TableSource("t", [])})


def test_a_runtime_error_does_not_quote_the_value_it_failed_on(spark: SparkEngine, tmp_path: Path) -> None:
    """CAST of a resident ID to DATE fails on the value: the refusal (which also goes to the audit
    trail) names the error and the types, never the stored value (as DuckDB's since a901a7a)."""
    ident = "110101199003077777"
    path = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"公民身份号码": [ident], "n": ["13800138000"]}), path)
    tables = {"t": TableSource("t", [path])}
    for sql in ("SELECT CAST(`公民身份号码` AS DATE) FROM t", "SELECT CAST(CAST(n AS BIGINT) AS INT) FROM t"):
        with pytest.raises((InvalidInput, Unavailable)) as info:
            spark.query(sql, tables)
        text = f"{info.value.zh} {info.value.en}"
        assert ident not in text and "13800138000" not in text and "…" in text, text


def test_time_limit_and_cancel_stop_the_spark_jobs(spark: SparkEngine, people: dict[str, TableSource]) -> None:
    with pytest.raises(QueryTimeout) as info:
        spark.query(HEAVY, people, Limits(timeout_s=2))
    assert info.value.status == 408
    cancel = Cancel()
    threading.Timer(2, cancel.cancel).start()
    with pytest.raises(Conflict) as stopped:
        spark.query(HEAVY, people, Limits(timeout_s=600, cancel=cancel))
    assert stopped.value.code == "query_cancelled"
    sc = spark.spark().sparkContext
    assert sc.statusTracker().getActiveJobsIds() == []  # nothing keeps running on the executors


def test_masters_and_settings() -> None:
    assert [parse_master(m).kind for m in ("local[4]", "spark://a:7077,b:7077", "sc://h:15002/;token=x")] == \
        ["local", "standalone", "connect"]
    with pytest.raises(InvalidInput):
        parse_master("spark://nohost")
    assert parse_conf("spark.executor.memory=8g") == {"spark.executor.memory": "8g"}
    with pytest.raises(InvalidInput):
        parse_conf("executor.memory=8g")
    conf = spark_mod.SparkConfig(master="sc://h:15002")
    assert conf.parsed().connect and SparkEngine(conf).master == "sc://h:15002"


def test_executors_get_the_throughput_collector_unless_the_operator_says_otherwise() -> None:
    built = spark_mod._builder_conf(spark_mod.SparkConfig(master="spark://a:7077"))
    assert built["spark.executor.extraJavaOptions"].split() == ["-XX:-DontCompileHugeMethods", "-XX:+UseParallelGC"]
    assert built["spark.driver.extraJavaOptions"] == "-XX:-DontCompileHugeMethods"  # local mode's tasks: unchanged
    mine = spark_mod.SparkConfig(master="spark://a:7077", conf=(("spark.executor.extraJavaOptions", "-XX:+UseG1GC"),))
    assert spark_mod._builder_conf(mine)["spark.executor.extraJavaOptions"] == "-XX:+UseG1GC"


@pytest.mark.sqlite_only
def test_the_sandbox_routes_a_resource_to_spark(rt, world, spark: SparkEngine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings = rt.settings.model_copy(update={  # Spark's first job of a session takes seconds on a busy machine
        "query_timeout_s": 120.0,
        "spark_resources": "101001/000001", "spark_master": spark.config.master,
        "spark_conf": ";".join(f"{k}={v}" for k, v in spark.config.conf)})
    assert make_engine(settings).name == "duckdb" and engine_for(settings, resource="101001/000001").name == "spark"
    assert where(engine_for(settings, resource="101001/000001")) == {"engine": "spark", "master": "local[2]"}
    ran: list[str] = []
    original = SparkEngine._collect

    def spy(self: SparkEngine, session, sql: str, max_rows: int | None):  # type: ignore[no-untyped-def]
        ran.append(sql)
        return original(self, session, sql, max_rows)

    monkeypatch.setattr(SparkEngine, "_collect", spy)
    sql = 'SELECT "城市", COUNT(*) AS n FROM people GROUP BY "城市" ORDER BY "城市"'
    with rt.transaction() as s:
        on_spark = run_query(session=s, settings=settings, actor=world.a_user, sql=sql)
        on_duck = run_query(session=s, settings=rt.settings, actor=world.a_user, sql=sql)
    assert ran and "`" in ran[0]  # Spark SQL (backquoted names) ran on Spark
    assert on_spark.rows == on_duck.rows and on_spark.total == on_duck.total
