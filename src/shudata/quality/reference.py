"""Reference tables the rules join to (行政区划 codes), materialised once as small Parquet files.

The codes come from :mod:`shudata.standards.regions` (historical GB/T 2260 timeline and the
current table); the engine reads them like any other table, so Spark sees the same data.
"""

from __future__ import annotations

import csv
import os
import tempfile
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shudata.quality.compile_exprs import REGIONS_TABLE
from shudata.query.engines.base import TableSource
from shudata.standards.regions import all_regions, historical_codes, name_index


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
    """Lookup tables of the rules: ``__ref_regions`` (every code ever valid) and
    ``__ref_regions_current``. Written once per cache directory; each query reads the small files."""
    hist = _write_once(cache_dir / "regions_historical.parquet", list(historical_codes()))
    cur = _write_once(cache_dir / "regions_current.parquet", list(all_regions()))
    return {REGIONS_TABLE: TableSource(REGIONS_TABLE, [hist]),
            REGIONS_TABLE + "_current": TableSource(REGIONS_TABLE + "_current", [cur])}


def default_cache_dir() -> Path:
    """A per-user cache used when no settings are at hand (CLI ``profile``, tests, bench)."""
    return Path(tempfile.gettempdir()) / f"shudata-quality-ref-{os.getuid()}"


def region_name_rows() -> list[tuple[str, str, bool]]:
    """(name, code, current) triples: current full and short names, ``阿坝州``-style short names
    of autonomous prefectures, and historical names from the GB/T 2260 timeline."""
    pairs: set[tuple[str, str, bool]] = set()
    for name, codes in name_index().items():
        pairs.update((name, c, True) for c in codes)
    for r in all_regions().values():
        if r.name.endswith("自治州") and len(r.name) > 5:
            pairs.add((r.name[:2] + "州", r.code, True))
    current = {(n, c) for n, c, _ in pairs}
    path = resources.files("shudata.standards").joinpath("data", "regions", "gbt2260_code_timeline.csv")
    with path.open("r", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("kind") == "main" and row["name"] not in ("市辖区", "县") \
                    and (row["name"], row["code"]) not in current:
                pairs.add((row["name"], row["code"], False))
    return sorted(pairs)


def region_name_sources(cache_dir: Path) -> dict[str, TableSource]:
    """``__ref_region_names`` (name → code, every known name) and ``__ref_region_names_current``
    (code → current name)."""
    names = cache_dir / "region_names_v2.parquet"
    current = cache_dir / "region_names_current.parquet"
    if not names.exists():
        rows = region_name_rows()
        _write_table(names, pa.table({"name": [r[0] for r in rows], "code": [r[1] for r in rows],
                                      "cur": [r[2] for r in rows]}))
    if not current.exists():
        regs = sorted(all_regions().values(), key=lambda r: r.code)
        _write_table(current, pa.table({"name": [r.name for r in regs], "code": [r.code for r in regs]}))
    return {"__ref_region_names": TableSource("__ref_region_names", [names]),
            "__ref_region_names_current": TableSource("__ref_region_names_current", [current])}


def _write_table(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    pq.write_table(table, tmp)
    os.replace(tmp, path)
