"""SQL sandbox cost: the same queries through the sandbox vs plain DuckDB, same process.

A generated table (default 2,000,000 rows; Chinese column names and values, seeded) is
written to Parquet once. Each query then runs

- baseline: plain DuckDB on one long-lived connection, a view with the same masking and
  filter over ``read_parquet``, no checks;
- sandboxed: ``compile_sandboxed`` (parse, checks, access subquery with a masked column
  and a row filter, row cap) and ``DuckDBEngine.query`` (fresh locked-down connection,
  DuckDB parse check, time limit).

    .venv/bin/python bench/query.py            # 2,000,000 rows
    .venv/bin/python bench/query.py --quick    # 200,000 rows, fewer repeats

Prints one JSON line per figure; ``query.ratio_vs_duckdb`` (baseline time / sandbox time
over the query mix, target ≥ 0.8) and ``query.overhead_ms`` (median added latency on a
tiny query, target ≤ 50 ms; ``query.overhead_cpu_ms`` is the CPU part of it). Most of the
fixed cost is opening a fresh in-memory DuckDB database per query (about 40 ms of CPU),
the price of binding ``allowed_paths`` to exactly the query's files.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlglot import parse_one

from shudata.query.access import ResolvedTable, TableAccess
from shudata.query.engines.base import Limits, TableSource
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.sandbox import compile_sandboxed

CITIES = ["成都市", "绵阳市", "德阳市", "宜宾市", "南充市", "泸州市", "乐山市", "达州市"]
QUERIES = [
    'SELECT "城市", count(*) AS n, avg("年龄") AS a FROM people GROUP BY 1 ORDER BY 1',
    'SELECT "姓名", "年龄", rank() OVER (PARTITION BY "城市" ORDER BY "年龄" DESC) AS r FROM people '
    'QUALIFY r <= 3 ORDER BY 1, 2',
    'SELECT count(DISTINCT "姓名") FROM people WHERE "年龄" BETWEEN 30 AND 40',
    'SELECT * FROM people WHERE "城市" = \'宜宾市\' ORDER BY "年龄" LIMIT 1000',
]
TINY = "SELECT 1 AS x"


def make_table(rows: int) -> pa.Table:
    idx = pa.array(range(rows), pa.int64())
    return pa.table({
        "姓名": pc.binary_join_element_wise("张", pc.cast(pc.divide(idx, 7), pa.string()), ""),
        "身份证号": pc.binary_join_element_wise("5101", pc.cast(pc.add(idx, 10**13), pa.string()), ""),
        "城市": pa.array([CITIES[i % len(CITIES)] for i in range(rows)]),
        "年龄": pc.add(pc.cast(pc.bit_wise_and(idx, 63), pa.int64()), 18),
    })


def cpu_timed(fn: Callable[[], object], repeat: int) -> float:
    """Mean process CPU time per call (all threads): what a loaded machine cannot hide."""
    t0 = time.process_time()
    for _ in range(repeat):
        fn()
    return (time.process_time() - t0) / repeat


def timed(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rows", type=int)
    args = ap.parse_args()
    rows = args.rows or (200_000 if args.quick else 2_000_000)
    repeat = 3 if args.quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "people.parquet"
        pq.write_table(make_table(rows), path)
        con = duckdb.connect(config={"threads": 2})
        con.execute("CREATE VIEW people AS SELECT left(\"姓名\", 1) || '**' AS \"姓名\", \"城市\", \"年龄\" "
                    f"FROM read_parquet('{path}') WHERE \"年龄\" >= 18")  # the same masking, as a plain view
        engine = DuckDBEngine(threads=2, memory_limit="1GB")
        access = TableAccess(columns=("姓名", "城市", "年龄"), row_filter=parse_one('"年龄" >= 18', read="duckdb"),
                             column_exprs={"姓名": parse_one("left(\"姓名\", 1) || '**'", read="duckdb")})
        tables = {"people": ResolvedTable("src_people", ("姓名", "身份证号", "城市", "年龄"), access)}
        sources = {"src_people": TableSource("src_people", [path])}

        def sandboxed(sql: str) -> Callable[[], object]:
            return lambda: engine.query(compile_sandboxed(sql, tables, max_rows=100_001), sources,
                                        Limits(timeout_s=120))

        base = sum(timed(lambda q=q: con.sql(q).to_arrow_table(), repeat) for q in QUERIES)
        box = sum(timed(sandboxed(q), repeat) for q in QUERIES)
        tiny_base = timed(lambda: con.sql(TINY).to_arrow_table(), repeat * 10)
        tiny_box = timed(sandboxed(TINY), repeat * 10)
        cpu_base = cpu_timed(lambda: con.sql(TINY).to_arrow_table(), repeat * 10)
        cpu_box = cpu_timed(sandboxed(TINY), repeat * 10)
    figures = [
        {"figure": "query.baseline_s", "value": round(base, 4), "target": None, "unit": "s"},
        {"figure": "query.sandbox_s", "value": round(box, 4), "target": None, "unit": "s"},
        {"figure": "query.overhead_cpu_ms", "value": round((cpu_box - cpu_base) * 1000, 2), "target": 50,
         "unit": "ms"},
        {"figure": "query.overhead_ms", "value": round((tiny_box - tiny_base) * 1000, 2), "target": 50, "unit": "ms"},
        {"figure": "query.ratio_vs_duckdb", "value": round(base / box, 3), "target": 0.8, "unit": "ratio"},
    ]
    for f in figures:
        print(json.dumps(f, ensure_ascii=False))


if __name__ == "__main__":
    main()
