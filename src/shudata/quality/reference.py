"""Reference tables the rules join to (行政区划 codes), materialised once as small Parquet files.

The codes come from :mod:`shudata.standards.regions` (historical GB/T 2260 timeline and the
current table); the engine reads them like any other table, so Spark sees the same data.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shudata.quality.compile_exprs import REGIONS_TABLE
from shudata.query.engines.base import TableSource
from shudata.standards.regions import all_regions, historical_codes


def _write_once(path: Path, codes: list[str]) -> Path:
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    pq.write_table(pa.table({"code": pa.array(sorted(codes), pa.string())}), tmp)
    os.replace(tmp, path)
    return path


def region_sources(cache_dir: Path) -> dict[str, TableSource]:
    """``__ref_regions`` (every code ever valid) and ``__ref_regions_current``."""
    hist = _write_once(cache_dir / "regions_historical.parquet", list(historical_codes()))
    cur = _write_once(cache_dir / "regions_current.parquet", list(all_regions()))
    return {REGIONS_TABLE: TableSource(REGIONS_TABLE, [hist]),
            REGIONS_TABLE + "_current": TableSource(REGIONS_TABLE + "_current", [cur])}


def default_cache_dir() -> Path:
    """A per-user cache used when no settings are at hand (CLI ``profile``, tests, bench)."""
    return Path(tempfile.gettempdir()) / f"shudata-quality-ref-{os.getuid()}"
