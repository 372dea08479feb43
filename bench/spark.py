"""Spark scale-out benchmark: the citizens job (8 masked columns + 10 quality rules) on Spark vs DuckDB.

A generated citizens table (tests/support/spark.py ``messy_citizens``: Faker zh_CN, seeded, with
NULLs, padded values and bad check digits; default 10,000,000 rows, ``--quick`` 200,000) is written
to Parquet once (bench/out/, cached). The job is the masked export (``mask_source``) plus the
quality run (``evaluate``, SQL path) of tests/support/spark.py's POLICY and RULES. Measured in the
same run:

* ``spark.identical``: 1 when the masked file's content hash and every rule's counts and samples
  on Spark equal DuckDB's (target 1);
* ``spark.ratio_vs_duckdb``: job throughput on Spark ``local[2]`` / DuckDB with 2 threads (target ≥ 0.3);
* ``spark.scaling_2_vs_1``: job throughput on a standalone cluster (master + 2 single-core workers
  started from the pyspark package) using both workers / using one (``spark.cores.max``; target ≥ 1.6);
* ``spark.udf_ratio_vs_native``: the resident-ID check digit as a vectorised Arrow UDF / the same
  check written as plain Spark SQL string functions, counting valid IDs (target ≥ 0.5).

Every engine is measured warm (one job on a 400,000-row table first, outside the timed region,
whose scans reach every executor: JIT, Python workers, reference data; DuckDB too), with the same
Spark settings for both sides of each ratio (``LOCAL_BENCH``, ``CLUSTER_BENCH``); the cluster and the
sessions start outside it.

Ends with one JSON line per figure. Usage:
.venv/bin/python bench/spark.py [--quick] [--rows N] [--skip-cluster] [--warm-rows N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests.support: the generator and cluster the tests use

from tests.support.spark import (  # noqa: E402
    KEYS,
    POLICY,
    RULES,
    Cluster,
    content_hash,
    messy_citizens,
)

from shudata.lake.parquet import ROW_GROUP_ROWS  # noqa: E402
from shudata.privacy.compile import compile_plan  # noqa: E402
from shudata.privacy.mask import mask_source  # noqa: E402
from shudata.privacy.policy import Policy  # noqa: E402
from shudata.quality.reference import default_cache_dir, region_sources  # noqa: E402
from shudata.quality.rules import parse_rule_set  # noqa: E402
from shudata.quality.run import Target, evaluate  # noqa: E402
from shudata.query.engines.base import Limits, ScalarUdf, TableSource  # noqa: E402
from shudata.query.engines.duckdb import DuckDBEngine  # noqa: E402
from shudata.query.engines.spark import SparkConfig, SparkEngine, stop_session  # noqa: E402

OUT = HERE / "out"
# The warm-up job (JIT, Python workers, imports) runs on a table of this many rows: 4 of the lake's
# 131,072-row groups (17.6 MB), so that its scans split into a task per core on 2 cores and every
# executor of the 2-worker cluster runs every stage once before the timed job. The first version's
# 100,000 rows (one row group, one task) warmed one executor only: the second compiled its code
# inside the timed job (docs/scale-out.md). ``--warm-rows`` sets another size.
WARM_ROWS = 400_000
# Sized for the 10M-row table on this machine, the same for every Spark run: heap for the
# uniqueness rule's sort (1g spilled), file splits of at most 32 MB (the engine then sizes them so
# that the scan tasks are a multiple of the cores: ``split_bytes``), 8 shuffle partitions
# (adaptive execution merges them on smaller tables).
TUNING = (("spark.sql.files.maxPartitionBytes", "32m"), ("spark.sql.shuffle.partitions", "8"))
LOCAL_BENCH = SparkConfig(master="local[2]", conf=(("spark.driver.memory", "3g"), *TUNING))
CLUSTER_BENCH = (("spark.executor.memory", "1536m"), ("spark.driver.memory", "2g"), *TUNING)
AS_OF = dt.date(2024, 1, 1)
LONG = Limits(timeout_s=24 * 3600)
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)


def emit(figure: str, value: float, target: float | None, unit: str) -> None:
    print(json.dumps({"figure": figure, "value": round(value, 3), "target": target, "unit": unit}), flush=True)


def dataset(rows: int) -> Path:
    """The generated table laid out as the lake writes a version (row groups of ROW_GROUP_ROWS rows):
    a row group is the unit of a Spark scan task, so 500,000-row groups gave a 200,000-row table one
    task (one core) however many cores the job had."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"spark_citizens_{rows}_rg{ROW_GROUP_ROWS}.parquet"
    if not path.exists():
        t0 = time.perf_counter()
        tmp = path.with_suffix(".tmp")
        step = 500_000
        with pq.ParquetWriter(tmp, messy_citizens(10, seed=0).schema, compression="zstd") as w:
            for start in range(0, rows, step):
                w.write_table(messy_citizens(min(step, rows - start), seed=start + 1), row_group_size=ROW_GROUP_ROWS)
        tmp.rename(path)
        print(f"generated {rows} rows in {time.perf_counter() - t0:.1f} s → {path}", flush=True)
    return path


def cpu_seconds(procs: list[psutil.Process]) -> float:
    """CPU seconds used so far by ``procs`` and their descendants (ended children not counted)."""
    total = 0.0
    for p in procs:
        for q in [p, *p.children(recursive=True)]:
            try:
                t = q.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
    return total


def job(engine: Any, path: Path, out: Path) -> tuple[float, list[tuple[Any, ...]]]:
    """The citizens job: masked export + quality run. (seconds, each rule's key, failures, samples)."""
    t0 = time.perf_counter()
    plan = compile_plan(Policy.parse(POLICY), pq.read_schema(path), keys=KEYS)
    mask_source(TableSource("t", [path]), plan, out, engine=engine, limits=LONG)
    report = evaluate(engine, Target.from_parquet("t", [path]), parse_rule_set(RULES),
                      lookups=region_sources(default_cache_dir()), as_of=AS_OF, vectorised=False)
    seconds = time.perf_counter() - t0
    return seconds, [(r.key, r.failed, tuple(r.samples)) for r in report.results]


def check_digit_ok(ids: pa.Array) -> pa.Array:
    """Resident-ID check digit, vectorised over an Arrow batch (no loop per row)."""
    arr = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    ok18 = pc.fill_null(pc.equal(pc.utf8_length(arr), 18), False)
    text = pc.if_else(ok18, arr, pa.scalar("000000000000000000")).cast(pa.string())
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset:text.offset + len(text) + 1]
    if len(text) == 0:
        return pa.array([], pa.bool_())
    starts = offsets[:-1]
    digits = data[starts[:, None] + np.arange(18)[None, :]]
    body = digits[:, :17].astype(np.int64) - 48
    numeric = np.all((body >= 0) & (body <= 9), axis=1)
    expected = CHECK[(body * WEIGHTS).sum(axis=1) % 11]
    last = digits[:, 17]
    last = np.where(last == ord("x"), ord("X"), last)
    good = numeric & (expected == last) & np.asarray(ok18.to_numpy(zero_copy_only=False))
    return pa.array(good, pa.bool_())


NATIVE_CHECK = ("CASE WHEN LENGTH(`身份证号`) = 18 AND SUBSTRING(`身份证号`, 1, 17) RLIKE '^[0-9]{17}$' THEN "
                "SUBSTRING('10X98765432', CAST((" + " + ".join(
                    f"CAST(SUBSTRING(`身份证号`, {i + 1}, 1) AS INT) * {w}" for i, w in enumerate(WEIGHTS)) +
                ") % 11 AS INT) + 1, 1) = UPPER(SUBSTRING(`身份证号`, 18, 1)) ELSE FALSE END")


def udf_ratio(spark: SparkEngine, path: Path) -> tuple[float, bool]:
    udf = ScalarUdf("SHUDATA_ID_CHECK", check_digit_ok, ("VARCHAR",), "BOOLEAN")
    eng = spark.with_udfs((udf,))
    src = {"t": TableSource("t", [path])}
    q_udf = "SELECT COUNT_IF(SHUDATA_ID_CHECK(`身份证号`)) AS n FROM t"
    q_native = f"SELECT COUNT_IF({NATIVE_CHECK}) AS n FROM t"
    eng.query(q_udf, src, LONG)  # Python workers started
    times: dict[str, float] = {}
    counts: dict[str, int] = {}
    for label, q in (("udf", q_udf), ("native", q_native), ("udf", q_udf), ("native", q_native)):
        t0 = time.perf_counter()
        counts[label] = int(eng.query(q, src, LONG).column(0)[0].as_py())
        times[label] = min(times.get(label, 1e9), time.perf_counter() - t0)
    return times["native"] / times["udf"], counts["udf"] == counts["native"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="200,000 rows")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--skip-cluster", action="store_true", help="no standalone cluster (scaling not measured)")
    ap.add_argument("--warm-rows", type=int, default=WARM_ROWS,
                    help="rows of the warm-up table (default %(default)s: a task per core on 2 cores)")
    args = ap.parse_args()
    rows = args.rows or (200_000 if args.quick else 10_000_000)
    path = dataset(rows)
    warm = dataset(min(rows, args.warm_rows))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="shudata-bench-spark-", dir=OUT) as tmp:
        work = Path(tmp)
        duck = DuckDBEngine(threads=2, memory_limit="4GB")
        job(duck, warm, work / "duck-warm.parquet")  # every engine is measured warm: imports, reference data
        c0 = cpu_seconds([psutil.Process()])
        d_time, d_results = job(duck, path, work / "duck.parquet")
        d_cpu = cpu_seconds([psutil.Process()]) - c0
        print(f"duckdb (2 threads): {d_time:.2f} s, {rows / d_time:,.0f} rows/s; CPU {d_cpu:.1f} s of "
              f"{2 * d_time:.1f} core-seconds ({d_cpu / (2 * d_time):.0%} busy)", flush=True)
        spark = SparkEngine(config=LOCAL_BENCH)
        spark.query("SELECT 1", {}, LONG)  # the session starts outside the measured job
        job(spark, warm, work / "warm.parquet")  # JIT, Python workers: measured below on a warm session
        c0 = cpu_seconds([psutil.Process()])
        s_time, s_results = job(spark, path, work / "spark.parquet")
        used = cpu_seconds([psutil.Process()]) - c0
        print(f"spark local[2]: {s_time:.2f} s, {rows / s_time:,.0f} rows/s; CPU {used:.1f} s of {2 * s_time:.1f} "
              f"core-seconds ({used / (2 * s_time):.0%} busy)", flush=True)
        same = s_results == d_results and \
            content_hash(pq.read_table(work / "duck.parquet")) == content_hash(pq.read_table(work / "spark.parquet"))
        ratio_udf, udf_same = udf_ratio(spark, path)
        stop_session()
        scaling = None
        if not args.skip_cluster:
            cluster = Cluster(work / "cluster", workers=2, cores=1, memory="2g").start()
            try:
                rates = {}
                for cores in (1, 2):
                    eng = SparkEngine(config=cluster.config(cores_max=cores, extra=CLUSTER_BENCH))
                    eng.query("SELECT 1", {}, LONG)  # executors start outside the measured job
                    job(eng, warm, work / f"warm{cores}.parquet")
                    me, workers = psutil.Process(), [psutil.Process(p.pid) for p in cluster.procs]
                    d0, e0 = cpu_seconds([me]), cpu_seconds(workers)
                    t, res = job(eng, path, work / f"cluster{cores}.parquet")
                    # the workers are this process's children: its count includes them and their executors
                    executors = cpu_seconds(workers) - e0
                    driver = cpu_seconds([me]) - d0 - executors
                    same = same and res == d_results
                    rates[cores] = rows / t
                    print(f"standalone, {cores} worker core(s): {t:.2f} s, {rates[cores]:,.0f} rows/s; CPU: driver "
                          f"(Python + its JVM) {driver:.1f} s, executors {executors:.1f} s of {t * cores:.1f} "
                          f"core-seconds ({executors / (t * cores):.0%} busy)", flush=True)
                    stop_session()
                scaling = rates[2] / rates[1]
            finally:
                stop_session()
                cluster.stop()
    print(f"bench/spark.py: {rows:,} rows, {time.perf_counter() - started:.0f} s in all; load {os.getloadavg()}",
          flush=True)
    emit("spark.identical", 1.0 if same and udf_same else 0.0, 1, "bool")
    if scaling is not None:
        emit("spark.scaling_2_vs_1", scaling, 1.6, "x")
    emit("spark.ratio_vs_duckdb", d_time / s_time, 0.3, "x")
    emit("spark.udf_ratio_vs_native", ratio_udf, 0.5, "x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
