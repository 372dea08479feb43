"""Spark Connect (issue 17): a real Spark Connect server started from the pyspark package on a
loopback port; a sandboxed query (masked column included), a quality run and the CSV ingest's
chunk tasks (``map_tasks``: ``mapInArrow`` on the server's executors) go through
``sc://127.0.0.1:PORT`` and give what DuckDB and the in-process reader give; the server then stops."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from tests.support.spark import RULES, ConnectServer, content_hash, messy_citizens

from shudata.core.errors import ShudataError
from shudata.lake.ingest import csv as csvmod
from shudata.lake.ingest.source import IngestOptions
from shudata.lake.ingest.types import ColumnSpec
from shudata.quality.reference import region_sources
from shudata.quality.rules import parse_rule_set
from shudata.quality.run import Target, evaluate
from shudata.query.access import ResolvedTable, TableAccess
from shudata.query.engines.base import TableSource
from shudata.query.engines.choose import where
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.engines.spark import SparkConfig, SparkEngine, map_tasks, stop_session
from shudata.query.sandbox import sandbox

pytestmark = [pytest.mark.spark, pytest.mark.slow]
WHY = ConnectServer.shipped()


@pytest.mark.skipif(WHY is not None, reason=f"Spark Connect server not available: {WHY}")
def test_sandbox_query_quality_run_and_csv_chunks_through_spark_connect(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
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
        _csv_chunks_on_connect(spark, tmp_path, monkeypatch)
    finally:
        stop_session()
        code = server.stop()
    assert code is not None and server.proc is not None and server.proc.poll() is not None  # it has stopped


def _csv_chunks_on_connect(spark: SparkEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Spark path of a CSV ingest (``jobs/spark_ingest.py``: the in-process reader's chunk step,
    one ``mapInArrow`` task per chunk) through Connect: the same parts and row count as the
    in-process reader; a ragged row is refused the same way (same code, same line)."""
    monkeypatch.setattr(csvmod, "MIN_TAIL", 4 << 10)
    rng = random.Random(5)
    names, cities = ["伟", "芳", " 敏", "静　"], ["成都市", "", "N/A", "绵阳市"]
    lines = ["姓名,城市,收入"] + [
        f"{rng.choice('张李王刘陈')}{rng.choice(names)},{rng.choice(cities)},"
        f"{rng.choice([str(rng.randrange(1000, 90000)), '', 'NULL'])}" for _ in range(6000)]
    specs = [ColumnSpec("姓名", "姓名", "C", 20), ColumnSpec("城市", "城市", "C", 20), ColumnSpec("收入", "收入", "N")]
    options = IngestOptions()

    def both(name: str, text: str) -> list[object]:
        path = tmp_path / name
        path.write_bytes(text.encode("gb18030"))
        info = csvmod.inspect_csv(path, name, options)
        out: list[object] = []
        for where_ in ("local", "connect"):
            staging = tmp_path / f"{name}.{where_}"
            staging.mkdir()
            try:
                if where_ == "local":
                    stats = csvmod.stage_csv(info, specs, staging, options, workers=1)
                else:
                    tasks = list(csvmod.chunk_tasks(info, specs, staging, options, 16 << 10))
                    assert len(tasks) >= 4  # several mapInArrow tasks
                    stats = csvmod.gather(info, zip(tasks, map_tasks(spark, csvmod.run_chunk, tasks), strict=True))
            except ShudataError as exc:
                out.append((exc.code, exc.details.get("line"), exc.details.get("lines")))
                continue
            table = pa.concat_tables([pq.read_table(p) for p in sorted(staging.glob("part-*.parquet"))])
            out.append((stats.rows, table.schema, content_hash(table)))
        return out

    good = both("人员.csv", "\n".join(lines) + "\n")
    assert good[0] == good[1] and good[0][0] > 4000  # type: ignore[index]  # (section-like rows are skipped)
    ragged = both("ragged.csv", "\n".join([*lines[:4000], "王伟,成都市,3000,多出的一格", *lines[4000:]]) + "\n")
    assert ragged[0] == ragged[1] and ragged[0][0] is not None, ragged  # type: ignore[index]
