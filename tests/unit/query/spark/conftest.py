"""One local Spark engine for the whole test session (its SparkSession is created once)."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from tests.support.spark import spark_engine as _spark_engine

from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.engines.spark import SparkEngine

pytest.importorskip("pyspark")


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkEngine]:
    engine = _spark_engine()
    before = signal.getsignal(signal.SIGINT)
    engine.spark()  # start it once, here, not inside the first test's time
    # SparkContext, started on the main thread, replaces the SIGINT handler with one that calls into
    # its JVM gateway: once the context is gone at the end of the session, a SIGINT reaching this
    # xdist worker raised inside whatever ran (an "unraisable exception" in the CI log). pytest's own stays.
    signal.signal(signal.SIGINT, before)
    yield engine


@pytest.fixture(scope="session")
def duck() -> DuckDBEngine:
    return DuckDBEngine(threads=2, memory_limit="1GB")
