"""Which columns of a table are geographic: coordinate pairs (经度/纬度, lng/lat …) and region
columns (GB/T 2260 codes or names of provinces and prefecture-level units), and matching region
values to codes — by code (``510100``, a county ``510104`` rolls up, 12-digit adcodes) or by
name, full or short (``成都``/``成都市``, ``甘孜州``/``甘孜藏族自治州``, ``四川``/``四川省``,
``广西``/``广西壮族自治区``). Pure functions over column names and sample values, stdlib only.

>>> match_region("甘孜州"), match_region("四川"), match_region(510104), match_region("510000000000")
('513300', '510000', '510104', '510000')
>>> short_names("阿坝藏族羌族自治州")
['阿坝', '阿坝州']
>>> find_coordinates(["名称", "经度", "纬度"], {"名称": ["武侯祠"], "经度": [104.05], "纬度": [30.65]})
CoordinateColumns(lng='经度', lat='纬度', datum_hint=None)
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shudata.standards.geo import Datum
from shudata.standards.regions import all_regions

# the 56 recognised ethnic groups, longest first (to strip them off autonomous-area names)
_ETHNIC = sorted((
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗",
    "瑶", "白", "土家", "哈尼", "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山",
    "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗",
    "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯",
    "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴",
    "珞巴", "基诺",
), key=len, reverse=True)
_SUFFIXES = ("特别行政区", "自治区", "自治州", "地区", "省", "市", "盟")
# GB/T 2260 codes the NBS statistical tables (regions.py) leave out; the China map has them
_EXTRA = {"710000": "台湾省", "810000": "香港特别行政区", "820000": "澳门特别行政区"}
_MIN_SHARE = 0.8  # of the non-empty values that must match for a column to count


def short_names(name: str) -> list[str]:
    """The short forms people write for a province or prefecture-level name.

    >>> short_names("四川省"), short_names("成都市"), short_names("广西壮族自治区"), short_names("香港特别行政区")
    (['四川'], ['成都'], ['广西'], ['香港'])
    """
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            base = name[: -len(suffix)]
            break
    else:
        return []
    if suffix in ("自治区", "自治州"):
        changed = True
        while changed:
            changed = False
            for e in _ETHNIC:
                if base.endswith(e + "族") and len(base) > len(e) + 2:
                    base, changed = base[: -len(e) - 1], True
                    break
        if base.endswith("维吾尔"):  # 新疆维吾尔自治区 names the group without 族
            base = base[: -len("维吾尔")]
    out = [base]
    if suffix == "自治州":
        out.append(base + "州")
    return out


@functools.cache
def _name_index() -> dict[str, tuple[str, ...]]:
    """Province and prefecture-level names (full and short) → codes."""
    idx: dict[str, list[str]] = {}
    for r in all_regions().values():
        if r.level == "county" or r.name in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue
        for n in (r.name, *short_names(r.name)):
            idx.setdefault(n, []).append(r.code)
    for code, name in _EXTRA.items():
        for n in (name, *short_names(name)):
            idx.setdefault(n, []).append(code)
    return {k: tuple(v) for k, v in idx.items()}


def _code(value: Any) -> str | None:
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if len(text) == 12 and text.isdigit() and text.endswith("000000"):
        text = text[:6]
    if len(text) == 6 and text.isdigit() and (text in all_regions() or text in _EXTRA):
        return text
    return None


def region_candidates(value: Any) -> tuple[str, ...]:
    """Every region code a value may stand for (several for an ambiguous short name such as 吉林)."""
    if value is None or isinstance(value, bool):
        return ()
    code = _code(value)
    if code:
        return (code,)
    text = re.sub(r"\s+", "", str(value))
    return _name_index().get(text, ())


def match_region(value: Any) -> str | None:
    """The one region code a value names, or None (unknown, or ambiguous without context)."""
    found = region_candidates(value)
    return found[0] if len(found) == 1 else None


def roll_up(code: str, level: str) -> str:
    """A code at province (``510000``) or prefecture (``510100``) level.

    >>> roll_up("510104", "city"), roll_up("510104", "province"), roll_up("510000", "city")
    ('510100', '510000', '510000')
    """
    if level == "province":
        return code[:2] + "0000"
    return code if code.endswith("0000") else code[:4] + "00"


@dataclass(frozen=True)
class RegionColumn:
    column: str
    level: str  # "province": China's provinces map | "city": Sichuan's prefectures map
    by: str  # "code" | "name"
    codes: tuple[str | None, ...]  # per value given: the region at ``level`` (None: no match)
    matched: int  # how many non-empty values matched


def match_column(values: Sequence[Any]) -> RegionColumn | None:
    """Match one column's values; the level is the one most values agree on. City-level values
    outside Sichuan roll up to provinces (the package has prefecture boundaries for Sichuan only)."""
    present = [v for v in values if v not in (None, "")]
    if not present:
        return None
    cands = [region_candidates(v) for v in values]
    by = "code" if sum(1 for v in present if _code(v)) * 2 > len(present) else "name"

    def pick(cs: tuple[str, ...], level: str) -> str | None:
        hits = {roll_up(c, level) for c in cs if level == "province" or not c.endswith("0000")}
        return hits.pop() if len(hits) == 1 else None

    best: tuple[str, list[str | None]] | None = None
    for level in ("city", "province"):
        codes = [pick(cs, level) for cs in cands]
        n = sum(1 for c in codes if c)
        if level == "city" and n:
            in_sichuan = sum(1 for c in codes if c and c.startswith("51"))
            if in_sichuan * 2 < n:
                continue  # mostly outside Sichuan: draw provinces instead
            codes = [c if c and c.startswith("51") else None for c in codes]
            n = in_sichuan
        if n and (best is None or n > sum(1 for c in best[1] if c)):
            best = (level, codes)
    if best is None:
        return None
    level, codes = best
    matched = sum(1 for c in codes if c)
    return RegionColumn(column="", level=level, by=by, codes=tuple(codes), matched=matched)


_REGION_HINTS = ("地区", "区域", "行政区", "区划", "省", "市", "州", "县", "城市", "地市", "市州", "region", "province",
                 "city", "adcode", "area", "prov")


def find_region(columns: Sequence[str], values: Mapping[str, Sequence[Any]]) -> RegionColumn | None:
    """The column whose values are regions (≥ 80 % of its non-empty values, ≥ 2 distinct), preferring
    a column whose name says so and, among equals, the one that matches most values."""
    best: tuple[tuple[int, int, int], RegionColumn] | None = None
    for pos, name in enumerate(columns):
        vals = list(values.get(name, ()))
        present = sum(1 for v in vals if v not in (None, ""))
        if present == 0:
            continue
        m = match_column(vals)
        if m is None or m.matched < _MIN_SHARE * present or len({c for c in m.codes if c}) < 2:
            continue
        hinted = any(h in name.lower() for h in _REGION_HINTS)
        key = (int(hinted), m.matched, -pos)
        if best is None or key > best[0]:
            best = (key, RegionColumn(column=name, level=m.level, by=m.by, codes=m.codes, matched=m.matched))
    return best[1] if best else None


@dataclass(frozen=True)
class CoordinateColumns:
    lng: str
    lat: str
    datum_hint: Datum | None  # from the names (``XGCJ``, ``lng_wgs84``, ``bd_lat`` …), else None


_LNG = re.compile(r"(经度|^x$|(^|[^a-z])(lng|lon|long|longitude)([^a-z]|$)|^x_?(gcj|wgs|bd))", re.IGNORECASE)
_LAT = re.compile(r"(纬度|^y$|(^|[^a-z])(lat|latitude)([^a-z]|$)|^y_?(gcj|wgs|bd))", re.IGNORECASE)


def coordinate_names(columns: Sequence[str]) -> list[str]:
    """Columns named like a longitude or a latitude.

    >>> coordinate_names(["名称", "XGCJ", "YGCJ", "XWGS", "YWGS", "lng", "纬度"])
    ['XGCJ', 'YGCJ', 'XWGS', 'YWGS', 'lng', '纬度']
    """
    return [c for c in columns if _LNG.search(c) or _LAT.search(c)]


def _datum_in(name: str) -> Datum | None:
    low = name.lower()
    if "gcj" in low or "火星" in low or "高德" in low:
        return Datum.GCJ02
    if "wgs" in low or "gps" in low:
        return Datum.WGS84
    if "bd" in low or "百度" in low:
        return Datum.BD09
    return None


def _numbers(vals: Sequence[Any]) -> list[float] | None:
    """The values as floats, or None when fewer than 90 % of the non-empty ones are numbers."""
    out, present = [], 0
    for v in vals:
        if v is None or v == "" or isinstance(v, bool):
            continue
        present += 1
        try:
            out.append(float(str(v).strip()))
        except ValueError:
            continue
    return out if present and len(out) >= 0.9 * present else None


def find_coordinates(columns: Sequence[str], values: Mapping[str, Sequence[Any]]) -> CoordinateColumns | None:
    """A longitude column and a latitude column, by name, whose values are numbers in range
    (longitude −180…180, latitude −90…90, and not all zero). When several pairs are present the
    first longitude is paired with the latitude whose name has the same datum hint."""
    lngs = [c for c in columns if _LNG.search(c) and not _LAT.search(c)]
    lats = [c for c in columns if _LAT.search(c) and not _LNG.search(c)]
    for lng in lngs:
        xs = _numbers(values.get(lng, ()))
        if not xs or not all(-180 <= x <= 180 for x in xs) or not any(xs):
            continue
        for lat in sorted(lats, key=lambda c: _datum_in(c) != _datum_in(lng)):
            ys = _numbers(values.get(lat, ()))
            if not ys or not all(-90 <= y <= 90 for y in ys) or not any(ys):
                continue
            return CoordinateColumns(lng=lng, lat=lat, datum_hint=_datum_in(lng) or _datum_in(lat))
    return None


def region_counts(codes: Sequence[str | None]) -> Counter[str]:
    """How many rows fall in each region (the choropleth's measure when there is no numeric column)."""
    return Counter(c for c in codes if c)
