"""The real economy and environment files of tests/data, reshaped by their declared layouts
(tests/data/economy/layouts.yaml), for the analysis tests and bench/analysis.py."""

from __future__ import annotations

import fnmatch
import functools
import re
from pathlib import Path

import pyarrow as pa
import yaml
from pydantic import TypeAdapter

from shudata.analysis import formulas
from shudata.analysis.layouts import Layout, NbsLayout, Reshaped, TableLayout, reshape

DATA = Path(__file__).resolve().parents[1] / "data"
LAYOUTS = DATA / "economy" / "layouts.yaml"


def real_files() -> list[Path]:
    """Every real data file of tests/data/economy and tests/data/environment."""
    out = []
    for folder in ("economy", "environment"):
        out += [p for p in sorted((DATA / folder).rglob("*")) if p.is_file() and p.suffix in (".csv", ".xls")]
    return out


def layout_for(path: Path) -> NbsLayout | TableLayout:
    rel = path.relative_to(DATA).as_posix()
    for entry in yaml.safe_load(LAYOUTS.read_text(encoding="utf-8")):
        pattern = entry["glob"]
        if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(rel, pattern.replace("**/", "")):
            spec = dict(entry["layout"])
            if "{code}" in str(spec.get("region", "")):
                m = re.match(r"(\d{4})_", path.name)
                spec["region"] = spec["region"].replace("{code}", m[1] if m else "")
            return TypeAdapter(Layout).validate_python(spec)  # type: ignore[no-any-return]
    raise LookupError(rel)


@functools.cache
def reshaped(path: Path) -> Reshaped:
    return reshape(path.read_bytes(), path.name, layout_for(path))


@functools.cache
def monthly_series(min_months: int = 48) -> dict[str, tuple[list[str], list[float]]]:
    """Every complete (gap-free, no NULL) monthly real series with at least ``min_months`` values:
    the NBS monthly series, and the Chengdu hourly readings averaged by month (≥ 75 % of hours).
    Keys name the series: ``indicator|region_code|site``."""
    tables = []
    for path in real_files():
        if "sichuan_station_hourly" in path.as_posix():
            continue  # one week of readings
        t = reshaped(path).table
        if path.name.startswith("chengdu_pm25"):
            t = formulas.resample(t, "月", how="mean")
        tables.append(t.filter(pa.compute.equal(t["frequency"], "月")))
    long = pa.concat_tables(tables).to_pylist()
    series: dict[str, dict[str, float | None]] = {}
    for r in long:
        key = f"{r['indicator']}|{r['region_code']}|{r['site'] or ''}"
        series.setdefault(key, {})[r["period"]] = r["value"]
    out = {}
    for key, by_period in series.items():
        periods = sorted(by_period)
        # the longest recent run of consecutive months with values
        run: list[str] = []
        for p in reversed(periods):
            if by_period[p] is None or (run and _prev_month(run[-1]) != p):
                break
            run.append(p)
        run.reverse()
        if len(run) >= min_months:
            out[key] = (run, [float(by_period[p]) for p in run])  # type: ignore[arg-type]
    return out


def _prev_month(period: str) -> str:
    y, m = int(period[:4]), int(period[5:7])
    return f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"
