"""The SQL sandbox on Spark (issue 17): its time limit cancels the Spark jobs (408, nothing left
running), its row and byte limits cut the page as on DuckDB, a divergent construct is refused
before anything runs, and the run records where it ran (engine, master, seconds, rows)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.core.errors import InvalidInput, QueryTimeout
from shudata.query.engines.spark import SparkEngine
from shudata.query.service import run_query

pytestmark = [pytest.mark.spark, pytest.mark.sqlite_only]
CODE = "101001/000001"


def _routed(rt, spark: SparkEngine, **extra):  # type: ignore[no-untyped-def]
    return rt.settings.model_copy(update={
        "query_timeout_s": 120.0, "spark_resources": CODE, "spark_master": spark.config.master,
        "spark_conf": ";".join(f"{k}={v}" for k, v in spark.config.conf), **extra})


def test_time_limit_cancels_the_spark_jobs(rt, world, spark: SparkEngine) -> None:  # type: ignore[no-untyped-def]
    with rt.transaction() as s:  # the first Spark jobs of the test outside the limit
        run_query(session=s, settings=_routed(rt, spark), actor=world.a_user, sql="SELECT COUNT(*) FROM people")
    settings = _routed(rt, spark, query_timeout_s=3.0)
    slow = "SELECT COUNT(*) AS n FROM " + ", ".join(f"people p{i}" for i in range(24))  # 3**24 rows
    with rt.transaction() as s, pytest.raises(QueryTimeout) as info:
        run_query(session=s, settings=settings, actor=world.a_user, sql=slow)
    assert info.value.status == 408 and info.value.details["engine"] == "spark"
    assert spark.spark().sparkContext.statusTracker().getActiveJobsIds() == []  # cancelled on the executors


def test_row_and_byte_limits_hold_on_spark(rt, world, spark: SparkEngine) -> None:  # type: ignore[no-untyped-def]
    sql = ("SELECT a.\"城市\", b.\"城市\" AS c2, c.\"城市\" AS c3, d.\"城市\" AS c4 FROM people a, people b, people c, "
           "people d ORDER BY 1, 2, 3, 4")  # 81 rows
    capped = _routed(rt, spark, query_max_rows=40)
    with rt.transaction() as s:
        on_spark = run_query(session=s, settings=capped, actor=world.a_user, sql=sql, limit=100)
        on_duck = run_query(session=s, settings=rt.settings.model_copy(update={"query_max_rows": 40}),
                            actor=world.a_user, sql=sql, limit=100)
    assert on_spark.ran and on_spark.ran["engine"] == "spark" and on_duck.ran and on_duck.ran["engine"] == "duckdb"
    assert on_spark.truncated and on_spark.total == 40 and len(on_spark.rows) == min(40, rt.settings.page_size_max)
    assert (on_spark.rows, on_spark.total, on_spark.truncated) == (on_duck.rows, on_duck.total, on_duck.truncated)
    small = _routed(rt, spark, result_max_bytes=200)
    with rt.transaction() as s:
        cut = run_query(session=s, settings=small, actor=world.a_user, sql=sql, limit=100)
        cut_duck = run_query(session=s, settings=rt.settings.model_copy(update={"result_max_bytes": 200}),
                             actor=world.a_user, sql=sql, limit=100)
    assert cut.byte_capped and 0 < len(cut.rows) < 100 and cut.next_offset == len(cut.rows)
    assert (cut.rows, cut.next_offset) == (cut_duck.rows, cut_duck.next_offset)
    with rt.transaction() as s:
        details = [json.loads(d) for d in s.scalars(select(AuditEntry.details).where(
            AuditEntry.action == "query.run").order_by(AuditEntry.id))]
    where = {k: details[-2]["ran"][k] for k in ("engine", "master")}
    assert where == {"engine": "spark", "master": spark.config.master}
    assert details[-2]["ran"]["rows"] == len(cut.rows) and details[-2]["ran"]["seconds"] >= 0


def test_a_divergent_query_is_refused_before_it_runs(rt, world, spark: SparkEngine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    started: list[object] = []
    monkeypatch.setattr(SparkEngine, "_open", lambda *a, **k: started.append(a) or (_ for _ in ()).throw(
        AssertionError("a session was opened")))
    with rt.transaction() as s, pytest.raises(InvalidInput) as info:
        run_query(session=s, settings=_routed(rt, spark), actor=world.a_user,
                  sql="SELECT \"城市\" FROM people ORDER BY \"城市\" COLLATE nocase")
    assert info.value.code == "spark_divergent" and "排序规则" in info.value.zh and not started
    with rt.transaction() as s:  # on DuckDB the same query runs
        assert run_query(session=s, settings=rt.settings, actor=world.a_user,
                         sql="SELECT \"城市\" FROM people ORDER BY \"城市\" COLLATE nocase").rows
