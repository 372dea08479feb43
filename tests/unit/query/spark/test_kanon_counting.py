"""k-anonymity counting on Spark (issue 17): the distinct quasi-identifier tuples and counts, the
equivalence-class sizes and risk, and the lattice search's optimum and suppression are the same as
on DuckDB and as over the whole table in memory."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.support.spark import content_hash

from shudata.privacy.kanon.counting import encode_counts, engine_risk, tuple_counts
from shudata.privacy.kanon.data import encode
from shudata.privacy.kanon.lattice import search
from shudata.privacy.kanon.models import DistinctLDiversity, KAnonymity
from shudata.privacy.kanon.risk import table_risk
from shudata.privacy.service_models import default_hierarchy
from shudata.query.engines.base import Limits, TableSource
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.engines.spark import SparkEngine

pytestmark = pytest.mark.spark
QIS = ["年龄", "性别", "区划"]
LONG = Limits(timeout_s=900)


@pytest.fixture(scope="module")
def patients(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, TableSource]:
    rng = random.Random(11)
    n = 4000
    table = pa.table({
        "年龄": pa.array([rng.randrange(0, 100) for _ in range(n)], pa.int64()),
        "性别": [rng.choice(["男", "女"]) for _ in range(n)],
        "区划": [rng.choice(["510104", "510105", "510107", "510703", "511102", "513401"]) for _ in range(n)],
        "病种": [rng.choice(["高血压", "糖尿病", "肺炎", "骨折", None]) for _ in range(n)]})
    path: Path = tmp_path_factory.mktemp("kanon") / "p.parquet"
    pq.write_table(table, path, row_group_size=1500)
    return table, TableSource("t", [path])


def test_tuple_counts_and_risk_are_identical(duck: DuckDBEngine, spark: SparkEngine,
                                             patients: tuple[pa.Table, TableSource]) -> None:
    table, source = patients
    a, b = tuple_counts(duck, source, QIS, "病种", LONG), tuple_counts(spark, source, QIS, "病种", LONG)
    assert a.num_rows == b.num_rows > 100 and content_hash(a) == content_hash(b)
    assert sum(b.column("__n").to_pylist()) == table.num_rows
    in_memory = table_risk(table, QIS)
    assert engine_risk(duck, source, QIS, LONG) == engine_risk(spark, source, QIS, LONG) == in_memory
    assert in_memory.unique_share > 0  # some records are unique before generalisation


@pytest.mark.parametrize("suppression", [0.0, 0.02])
def test_the_search_finds_the_same_optimum_and_suppression(spark: SparkEngine, patients: tuple[pa.Table, TableSource],
                                                          suppression: float) -> None:
    table, source = patients
    hs = {q: default_hierarchy(table, q) for q in QIS}
    models = [KAnonymity(k=5), DistinctLDiversity(l=2)]
    whole = search(encode(table, QIS, hs, "病种"), models, suppression=suppression)
    counted = search(encode_counts(tuple_counts(spark, source, QIS, "病种", LONG), QIS, hs, "病种"), models,
                     suppression=suppression)
    assert whole.optimum is not None and counted.optimum is not None
    assert (counted.optimum.node, counted.optimum.suppressed, counted.optimum.classes) == \
        (whole.optimum.node, whole.optimum.suppressed, whole.optimum.classes)
    assert counted.optimum.value == pytest.approx(whole.optimum.value, rel=1e-12)  # summed in another order
    assert counted.lattice_size == whole.lattice_size
