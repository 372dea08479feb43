"""Region-code tables in Chinese column names, built from the bundled NBS division codes.

>>> t = regions_table()
>>> "510100" in t.column("行政区划代码").to_pylist()
True
>>> townships_table().column_names
['乡镇街道代码', '名称', '所属区县代码', '所属区县']
"""

from __future__ import annotations

import csv
from importlib import resources

import pyarrow as pa

from shudata.standards.regions import all_regions

LEVELS = {"province": "省级行政区", "city": "地级行政区", "county": "县级行政区"}

REGION_SCHEMA = pa.schema([  # the items of the 自然资源和地理空间 base-registry template
    ("行政区划代码", pa.string()),
    ("名称", pa.string()),
    ("类型", pa.string()),
    ("经度", pa.float64()),
    ("纬度", pa.float64()),
    ("面积", pa.float64()),
    ("土地利用类型", pa.string()),
    ("高程", pa.float64()),
    ("空间范围", pa.string()),
])


def _centres() -> dict[str, tuple[float, float]]:
    """Region code -> (longitude, latitude) of its centre, from the bundled cpca table."""
    path = resources.files("shudata.standards").joinpath("data", "regions", "cpca_adcodes.csv")
    with path.open("r", encoding="utf-8") as fh:
        return {r["adcode"][:6]: (float(r["longitude"]), float(r["latitude"])) for r in csv.DictReader(fh)
                if r["longitude"] and r["latitude"]}


def regions_table() -> pa.Table:
    """Every current province, prefecture and county with its centre where known; area,
    land use, elevation and extent are left empty (not in the bundled sources)."""
    regions = sorted(all_regions().values(), key=lambda r: r.code)
    centres = _centres()
    n = len(regions)
    return pa.table({
        "行政区划代码": [r.code for r in regions],
        "名称": [r.name for r in regions],
        "类型": [LEVELS[r.level] for r in regions],
        "经度": [centres.get(r.code, (None, None))[0] for r in regions],
        "纬度": [centres.get(r.code, (None, None))[1] for r in regions],
        "面积": [None] * n, "土地利用类型": [None] * n, "高程": [None] * n, "空间范围": [None] * n,
    }, schema=REGION_SCHEMA)


def townships_table() -> pa.Table:
    """Sichuan townships and sub-districts (乡镇、街道) with their county."""
    path = resources.files("shudata.standards").joinpath("data", "regions", "streets_sichuan.csv")
    with path.open("r", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    names = {r.code: r.name for r in all_regions().values()}
    return pa.table({
        "乡镇街道代码": [r["code"] for r in rows],
        "名称": [r["name"] for r in rows],
        "所属区县代码": [r["areaCode"] for r in rows],
        "所属区县": [names.get(r["areaCode"]) for r in rows],
    })
