"""Which engine runs a job: DuckDB in-process by default, Spark when the operator says so.

The ``engine`` setting picks the default; ``spark_resources`` (resource codes) and
``spark_route_min_mb`` (size of the version's Parquet files) send single resources to Spark
while everything else stays on DuckDB. :func:`where` is what job records store about the run.

>>> from shudata.core.config import Settings
>>> s = Settings(spark_resources="R001, R002", spark_route_min_mb=512)
>>> routed_to_spark(s, resource="R002"), routed_to_spark(s, resource="R009", size_bytes=10 << 20)
(True, False)
>>> routed_to_spark(s, resource="R009", size_bytes=600 << 20)
True
>>> make_engine(s).name, engine_for(s, resource="R001").name
('duckdb', 'spark')
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from shudata.core.config import Settings
from shudata.query.engines.base import Engine
from shudata.query.engines.duckdb import DuckDBEngine
from shudata.query.engines.spark import SparkConfig, SparkEngine, parse_conf, parse_master

log = logging.getLogger("shudata.jobs.engine")


def spark_config(settings: Settings) -> SparkConfig:
    """The Spark settings of ``settings``, checked (422 on a bad master URL or conf line)."""
    parse_master(settings.spark_master)
    path_map: tuple[tuple[str, str], ...] = ()
    if settings.spark_lake_uri:
        path_map = ((str(settings.lake_dir), settings.spark_lake_uri),)
    return SparkConfig(master=settings.spark_master, conf=tuple(sorted(parse_conf(settings.spark_conf).items())),
                       path_map=path_map)


def duckdb_engine(settings: Settings) -> DuckDBEngine:
    return DuckDBEngine(threads=settings.duckdb_threads, memory_limit=settings.duckdb_memory_limit)


def spark_engine(settings: Settings) -> SparkEngine:
    return SparkEngine(config=spark_config(settings))


def make_engine(settings: Settings) -> Engine:
    """The default engine of the node (the ``engine`` setting)."""
    return spark_engine(settings) if settings.engine == "spark" else duckdb_engine(settings)


def spark_resources(settings: Settings) -> frozenset[str]:
    return frozenset(c.strip() for c in (settings.spark_resources or "").split(",") if c.strip())


def routed_to_spark(settings: Settings, *, resource: str | None = None, size_bytes: int | None = None) -> bool:
    """Whether a job over ``resource`` (its data version ``size_bytes`` large) runs on Spark."""
    if settings.engine == "spark":
        return True
    if resource is not None and resource in spark_resources(settings):
        return True
    limit = settings.spark_route_min_mb
    return limit is not None and size_bytes is not None and size_bytes >= limit * (1 << 20)


def files_size(files: Iterable[Path | str]) -> int:
    """Bytes of the files that exist (the size of a data version)."""
    total = 0
    for f in files:
        p = Path(f)
        if p.exists():
            total += p.stat().st_size
    return total


def engine_for(settings: Settings, *, resource: str | None = None, size_bytes: int | None = None,
               files: Iterable[Path | str] | None = None) -> Engine:
    """The engine for a job over one resource: Spark when routed there, otherwise the default."""
    if size_bytes is None and files is not None and settings.spark_route_min_mb is not None:
        size_bytes = files_size(files)
    if routed_to_spark(settings, resource=resource, size_bytes=size_bytes):
        return spark_engine(settings)
    return make_engine(settings)


def where(engine: Any) -> dict[str, str]:
    """Where a job ran, for its record: ``{"engine": …, "master": …}``.

    >>> where(DuckDBEngine())
    {'engine': 'duckdb', 'master': 'in-process'}
    >>> where(SparkEngine())
    {'engine': 'spark', 'master': 'local[2]'}
    """
    name = str(getattr(engine, "name", type(engine).__name__))
    master = getattr(engine, "master", None)
    return {"engine": name, "master": str(master) if master else "in-process"}


def ran(engine: Any, started: float, rows: int | None, job: str, resource: str | None = None) -> dict[str, Any]:
    """Where and how long a job ran — ``{"engine", "master", "seconds", "rows"}`` — for its record
    (audit details, the quality report and workbench pages), also written to the job log
    (logger ``shudata.jobs.engine``). ``started`` is a :func:`time.perf_counter` reading.

    >>> r = ran(DuckDBEngine(), time.perf_counter(), 3, "query.run")
    >>> r["engine"], r["master"], r["rows"], r["seconds"] >= 0
    ('duckdb', 'in-process', 3, True)
    """
    info: dict[str, Any] = {**where(engine), "seconds": round(time.perf_counter() - started, 3), "rows": rows}
    log.info("job %s%s ran on %s (%s): %.3f s, %s rows", job, f" [{resource}]" if resource else "",
             info["engine"], info["master"], info["seconds"], rows)
    return info
