"""行政区划 code tables (GB/T 2260 and NBS statistical division codes), bundled with the package.

>>> name_of("510104")
'锦江区'
>>> province_of("510104")
'510000'
>>> city_of("510104")
'510100'
>>> is_known_county_code("510104")
True
>>> is_known_county_code("519999")
False
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Region:
    code: str  # 6-digit code (province 510000, city 510100, county 510104)
    name: str
    level: str  # province | city | county
    parent: str | None


def _rows(name: str) -> list[dict[str, str]]:
    path = resources.files("shudata.standards").joinpath("data", "regions", name)
    text = path.read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@functools.cache
def all_regions() -> dict[str, Region]:
    """Current regions keyed by 6-digit code (provinces, prefectures, counties)."""
    out: dict[str, Region] = {}
    for r in _rows("provinces.csv"):
        out[r["code"] + "0000"] = Region(r["code"] + "0000", r["name"], "province", None)
    for r in _rows("cities.csv"):
        out[r["code"] + "00"] = Region(r["code"] + "00", r["name"], "city", r["provinceCode"] + "0000")
    for r in _rows("areas.csv"):
        out[r["code"]] = Region(r["code"], r["name"], "county", r["cityCode"] + "00")
    return out


@functools.cache
def historical_codes() -> frozenset[str]:
    """Every county-level code that was ever valid (for the first 6 digits of old IDs)."""
    codes = {r["code"] for r in _rows("gbt2260_code_timeline.csv")}
    return frozenset(codes | set(all_regions()))


def is_known_county_code(code: str) -> bool:
    return code in historical_codes()


def name_of(code: str) -> str | None:
    r = all_regions().get(code)
    return r.name if r else None


def province_of(code: str) -> str:
    return code[:2] + "0000"


def city_of(code: str) -> str:
    return code[:4] + "00"


@functools.cache
def sichuan_counties() -> list[Region]:
    """County-level regions of Sichuan (51xxxx), for demo data and tests."""
    return [r for r in all_regions().values() if r.level == "county" and r.code.startswith("51")]


@functools.cache
def name_index() -> dict[str, list[str]]:
    """Region name (full and without the 省/市/县/区 suffix) -> codes, for normalisation."""
    idx: dict[str, list[str]] = {}
    for r in all_regions().values():
        if r.name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue
        idx.setdefault(r.name, []).append(r.code)
        short = r.name.rstrip("省市县区")
        if len(short) >= 2 and short != r.name:
            idx.setdefault(short, []).append(r.code)
    return idx
