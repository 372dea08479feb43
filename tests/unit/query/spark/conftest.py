"""One local Spark engine for the whole test session (its SparkSession is created once)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.spark import spark_engine as _spark_engine

from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.engines.spark import SparkEngine

pytest.importorskip("pyspark")


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkEngine]:
    engine = _spark_engine()
    engine.spark()  # start it once, here, not inside the first test's time
    yield engine


@pytest.fixture(scope="session")
def duck() -> DuckDBEngine:
    return DuckDBEngine(threads=2, memory_limit="1GB")
