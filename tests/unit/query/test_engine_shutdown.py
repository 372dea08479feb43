"""Shutdown stops DuckDB statements in progress and refuses new ones (issue #14, item 4)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shudata.core.errors import ShudataError, Unavailable
from shudata.query.engines import duckdb as engine_mod
from shudata.query.engines.base import Limits, TableSource


def test_interrupt_all_stops_a_running_query_and_refuses_new_ones(tmp_path: Path) -> None:
    f = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": list(range(2000))}), f)
    eng = engine_mod.DuckDBEngine(threads=1)
    tables = {"t": TableSource(name="t", files=[f])}
    slow = "SELECT count(*) FROM t a, t b, t c WHERE a.x + b.x + c.x = 17"  # ~8e9 rows: minutes
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            eng.query(slow, tables, Limits(timeout_s=120))
        except ShudataError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.5)
    try:
        t0 = time.monotonic()
        assert engine_mod.interrupt_all() == 1
        worker.join(10)
        assert not worker.is_alive() and time.monotonic() - t0 < 10
        assert isinstance(outcome[0], Unavailable) and outcome[0].status == 503
        with pytest.raises(Unavailable):
            eng.query("SELECT 1", tables)
    finally:
        engine_mod.reopen()
    assert eng.query("SELECT 1 AS one", tables).column(0).to_pylist() == [1]
