"""A real Spark standalone cluster on this machine: a master and two workers as separate
processes on loopback ports (the pyspark package's own classes). A quality job and a masked
export run through it over a shared ``file://`` lake path, give DuckDB's output, and the
cluster stops cleanly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.support.spark import KEYS, POLICY, QUICK, RULES, Cluster, content_hash, messy_citizens

from shudata.privacy.compile import compile_plan
from shudata.privacy.mask import mask_source
from shudata.privacy.policy import Policy
from shudata.quality.reference import region_sources
from shudata.quality.rules import parse_rule_set
from shudata.quality.run import Target, evaluate
from shudata.query.engines.base import TableSource
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.engines.spark import SparkEngine, stop_session

pytest.importorskip("pyspark")
pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_quality_and_masked_export_on_a_standalone_cluster(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    path = lake / "citizens.parquet"
    pq.write_table(messy_citizens(8000, seed=11), path, row_group_size=2000)  # 4 scan tasks
    lookups = region_sources(lake / "ref")
    cluster = Cluster(tmp_path / "cluster", workers=2, cores=1).start()
    try:
        spark = SparkEngine(config=cluster.config(cores_max=2, extra=QUICK))
        session = spark.spark()
        assert session.sparkContext.master == cluster.url
        duck = DuckDBEngine(threads=2)
        target = Target.from_parquet("t", [path])
        rs = parse_rule_set(RULES)
        a = evaluate(duck, target, rs, lookups=lookups, as_of=dt.date(2024, 1, 1), vectorised=False)
        b = evaluate(spark, target, rs, lookups=lookups, as_of=dt.date(2024, 1, 1), vectorised=False)
        assert a.rows == b.rows == 8000
        assert [(r.key, r.failed, r.samples) for r in a.results] == [(r.key, r.failed, r.samples) for r in b.results]
        executors = session.sparkContext._jsc.sc().getExecutorMemoryStatus().size()  # driver + executors
        assert executors >= 3, executors  # both workers ran executors for this application
        apps = cluster.status()["activeapps"]
        assert len(apps) == 1 and apps[0]["cores"] == 2
        plan = compile_plan(Policy.parse(POLICY), pq.read_schema(path), keys=KEYS)
        x = mask_source(TableSource("t", [path]), plan, lake / "masked-duck.parquet", engine=duck)
        y = mask_source(TableSource("t", [path]), plan, lake / "masked-spark.parquet", engine=spark)
        assert x.rows == y.rows == 8000
        assert content_hash(pq.read_table(lake / "masked-duck.parquet")) == \
            content_hash(pq.read_table(lake / "masked-spark.parquet"))
    finally:
        stop_session()
        codes = cluster.stop()
    assert all(c is not None for c in codes)
    assert all(p.poll() is not None for p in cluster.procs)  # nothing left running
