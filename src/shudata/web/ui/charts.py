"""The default chart of a dataset, chosen on the server from the columns and the first rows the
caller may see (the same rows as the preview: raw for the provider department, the published,
masked file on the portal). A chart must mean something, so the choice is, in order:

1. a **point map** when there is a longitude/latitude pair (converted to the boundary map's datum),
2. a **choropleth** when a column holds regions (codes or names): the sum of a numeric measure per
   region, or the number of rows per region when there is no measure,
3. a **time series** when a column holds dates and another a numeric measure,
4. **a category against a numeric measure** (the sum per category, largest first),
5. a **histogram** of a numeric column when there is nothing to put on the other axis,
6. the number of rows per category when nothing is numeric —

never a row number on an axis. Each candidate is a complete spec for ``static/js/chart.js``
(``ShudataCharts.render``) or ``static/js/geo.js`` (``ShudataGeo.render``); the first is the
default, the others are offered in the chart card's selector. A masked or suppressed coordinate
column (``***``, empty) is not numeric, so it gives no map; a generalised one gives the coarse map
of the values the caller could see anyway.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from shudata.standards import geo
from shudata.standards.geo_columns import coordinate_names, find_coordinates, find_region
from shudata.standards.regions import name_of

NUMERIC_PREFIXES = ("int", "uint", "float", "double", "decimal", "halffloat")
MAX_CATEGORIES = 20
HIST_BINS = 12
_ID_NAME = re.compile(r"(序号|编号|编码|代码|^id$|_id$|^no\.?$|^code$|^index$|邮编|电话|手机|身份证)", re.IGNORECASE)
_DATE_NAME = re.compile(r"(日期|时间|年月|月份|date|time|day|month|period)", re.IGNORECASE)
_YEAR_NAME = re.compile(r"(年份|年度|^年$|^year$|统计年)", re.IGNORECASE)
_DATE_VALUE = re.compile(r"^(\d{4})[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?(?:[ T].*)?月?$")

Spec = dict[str, Any]


def _number(v: Any) -> float | None:
    if v is None or isinstance(v, bool) or v == "":
        return None
    if isinstance(v, int | float):
        return float(v) if math.isfinite(float(v)) else None
    try:
        f = float(str(v).strip().replace(",", ""))
    except ValueError:
        return None
    return f if math.isfinite(f) else None


def numeric_columns(columns: Sequence[str], types: Mapping[str, str], values: Mapping[str, Sequence[Any]]
                    ) -> list[str]:
    """Columns whose type is numeric or whose non-empty values are all numbers (CSV catalogued as text)."""
    out = []
    for c in columns:
        present = [v for v in values[c] if v not in (None, "")]
        if not present:
            continue
        if str(types.get(c, "")).startswith(NUMERIC_PREFIXES) or all(_number(v) is not None for v in present):
            out.append(c)
    return out


def _date(v: Any, year_ok: bool = False) -> str | None:
    """ISO date text (``YYYY-MM-DD``, ``YYYY-MM``, or ``YYYY`` in a year column) of a value, else None."""
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()[:10]
    if year_ok and (n := _number(v)) is not None and n.is_integer() and 1900 <= n <= 2100:
        return f"{int(n):04d}"
    m = _DATE_VALUE.match(str(v).strip()) if v not in (None, "") else None
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), m.group(3)
    if not (1 <= mo <= 12 and 1900 <= y <= 2100):
        return None
    return f"{y:04d}-{mo:02d}" + (f"-{int(d):02d}" if d else "")


def _date_column(columns: Sequence[str], types: Mapping[str, str], values: Mapping[str, Sequence[Any]]
                 ) -> str | None:
    for c in columns:
        t = str(types.get(c, ""))
        present = [v for v in values[c] if v not in (None, "")]
        if not present:
            continue
        if t.startswith(("date", "timestamp")):
            return c
        year = bool(_YEAR_NAME.search(c))
        if (year or _DATE_NAME.search(c)) and sum(1 for v in present if _date(v, year)) >= 0.9 * len(present):
            return c
    return None


def _measure(numeric: Sequence[str], exclude: set[str]) -> str | None:
    for c in numeric:
        if c not in exclude and not _ID_NAME.search(c) and not _YEAR_NAME.search(c):
            return c
    return None


def _points(columns: Sequence[str], values: Mapping[str, Sequence[Any]], lng: str, lat: str,
            datum: geo.Datum, label: str | None) -> Spec | None:
    pts: list[list[Any]] = []
    inside = 0
    for i, (x, y) in enumerate(zip(values[lng], values[lat], strict=True)):
        fx, fy = _number(x), _number(y)
        if fx is None or fy is None or (fx == 0 and fy == 0):
            continue
        gx, gy = geo.convert(fx, fy, datum, geo.BOUNDARY_DATUM)
        inside += 97.3 <= gx <= 108.6 and 26.0 <= gy <= 34.4
        pts.append([round(gx, 6), round(gy, 6), str(values[label][i]) if label else ""])
    if not pts:
        return None
    return {"kind": "points", "lng": lng, "lat": lat, "label": label, "datum": geo.BOUNDARY_DATUM.value,
            "source_datum": datum.value, "map": "sichuan" if inside * 10 >= len(pts) * 9 else "china",
            "points": pts, "title": f"{lat} / {lng}（{len(pts)} 个点）",
            "title_en": f"{lat} / {lng} ({len(pts)} points)"}


def _regions(values: Mapping[str, Sequence[Any]], region: str, level: str, codes: Sequence[str | None],
             measure: str | None) -> Spec:
    acc: dict[str, float] = defaultdict(float)
    for i, code in enumerate(codes):
        if not code:
            continue
        if measure is None:
            acc[code] += 1
        elif (v := _number(values[measure][i])) is not None:
            acc[code] += v
    rows = [{"code": c, "name": name_of(c) or c, "value": round(v, 6)} for c, v in sorted(acc.items())]
    return {"kind": "regions", "region": region, "measure": measure, "agg": "sum" if measure else "count",
            "map": "sichuan" if level == "city" else "china", "regions": rows,
            "title": f"{measure}（按{region}合计）" if measure else f"行数（按{region}）",
            "title_en": f"{measure} (sum by {region})" if measure else f"Rows by {region}"}


def _categories(values: Mapping[str, Sequence[Any]], cat: str, measure: str | None) -> Spec:
    acc: dict[str, float] = defaultdict(float)
    for i, v in enumerate(values[cat]):
        key = "（空）" if v in (None, "") else str(v)
        if measure is None:
            acc[key] += 1
        elif (m := _number(values[measure][i])) is not None:
            acc[key] += m
    top = sorted(acc.items(), key=lambda kv: -kv[1])[:MAX_CATEGORIES]
    return {"kind": "bar", "x": cat, "y": measure, "agg": "sum" if measure else "count",
            "labels": [k for k, _ in top], "values": [round(v, 6) for _, v in top],
            "title": f"{measure}（按{cat}合计）" if measure else f"行数（按{cat}）",
            "title_en": f"{measure} (sum by {cat})" if measure else f"Rows by {cat}"}


def _series(values: Mapping[str, Sequence[Any]], date_col: str, measure: str) -> Spec | None:
    acc: dict[str, float] = defaultdict(float)
    year = bool(_YEAR_NAME.search(date_col))
    for i, v in enumerate(values[date_col]):
        d, m = _date(v, year), _number(values[measure][i])
        if d is not None and m is not None:
            acc[d] += m
    if len(acc) < 2:
        return None
    days = sorted(acc)
    return {"kind": "line", "x": date_col, "y": measure, "agg": "sum", "labels": days,
            "values": [round(acc[d], 6) for d in days], "title": f"{measure}（按{date_col}）",
            "title_en": f"{measure} by {date_col}"}


def _histogram(values: Mapping[str, Sequence[Any]], col: str) -> Spec | None:
    nums = [n for v in values[col] if (n := _number(v)) is not None]
    if len(nums) < 2 or min(nums) == max(nums):
        return None
    lo, hi = min(nums), max(nums)
    width = (hi - lo) / HIST_BINS
    counts = [0] * HIST_BINS
    for n in nums:
        counts[min(HIST_BINS - 1, int((n - lo) / width))] += 1
    labels = [f"{lo + i * width:.4g}–{lo + (i + 1) * width:.4g}" for i in range(HIST_BINS)]
    return {"kind": "bar", "x": col, "y": None, "agg": "histogram", "labels": labels, "values": counts,
            "title": f"{col} 的分布（行数）",
            "title_en": f"Distribution of {col} (rows)"}


def choose(columns: Sequence[str], types: Mapping[str, str], rows: Sequence[Sequence[Any]],
           datums: Mapping[str, str | None] | None = None) -> list[Spec]:
    """Candidate charts for a table, best first (empty when nothing meaningful can be drawn).

    ``types`` maps a column to its Arrow type text; ``datums`` maps a coordinate column to the datum
    its catalog information item declares (WGS-84 when neither it nor the column name says).

    >>> cols = ["地区", "地区生产总值"]
    >>> [s["kind"] for s in choose(cols, {}, [["成都市", 22074.7], ["绵阳市", 3975.2]])]
    ['regions', 'bar']
    >>> choose(["人口"], {"人口": "int64"}, [[1], [2]])[0]["agg"]
    'histogram'
    >>> choose(["序号"], {"序号": "int64"}, [[1], [2]])
    []
    """
    values = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    if not rows:
        return []
    datums = datums or {}
    numeric = numeric_columns(columns, types, values)
    out: list[Spec] = []
    used: set[str] = set()
    label = next((c for c in columns if c not in numeric and ("名称" in c or "name" in c.lower())), None)

    coords = find_coordinates(columns, values)
    if coords is not None:
        declared = geo.parse_datum(datums.get(coords.lng) or datums.get(coords.lat))
        datum = declared or coords.datum_hint or geo.Datum.WGS84
        spec = _points(columns, values, coords.lng, coords.lat, datum, label)
        if spec is not None:
            out.append(spec)
        used |= {coords.lng, coords.lat}
        used |= set(coordinate_names(columns))  # the pair, and the same pair in another datum (XGCJ/XWGS)

    region = find_region([c for c in columns if c not in used], values)
    if region is not None:
        used.add(region.column)
    measure = _measure(numeric, used)
    if region is not None:
        out.append(_regions(values, region.column, region.level, region.codes, measure))

    date_col = _date_column([c for c in columns if c not in used], types, values)
    if date_col is not None and measure is not None and measure != date_col:
        spec = _series(values, date_col, measure)
        if spec is not None:
            out.append(spec)
            used.add(date_col)

    cats = [c for c in columns if c not in numeric and c not in used and c != date_col
            and not _ID_NAME.search(c)]
    # a category repeats: prefer the first text column with fewer distinct values than rows
    cats.sort(key=lambda c: len({str(v) for v in values[c]}) >= len(rows))
    if region is not None:
        cats.insert(0, region.column)
    if cats and measure is not None:
        out.append(_categories(values, cats[0], measure))
    elif measure is not None:
        spec = _histogram(values, measure)
        if spec is not None:
            out.append(spec)
    elif cats and len({str(v) for v in values[cats[0]]}) < len(rows):
        out.append(_categories(values, cats[0], None))
    return out
