"""The default-chart chooser (shudata.web.ui.charts.choose): a map for coordinates or regions, a
time series for dates, a category against a measure, a histogram — never a row number on an axis."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from shudata.standards.geo import Datum, convert, distance_m
from shudata.web.ui.charts import choose

DATA = Path(__file__).resolve().parents[2] / "data"


def _csv(path: Path) -> tuple[list[str], list[list[Any]]]:
    with path.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _axes(spec: dict[str, Any]) -> list[Any]:
    return [spec.get("x"), spec.get("y"), spec.get("lng"), spec.get("lat"), spec.get("region")]


def test_real_earthquakes_points_then_time_series() -> None:
    cols, rows = _csv(DATA / "geo" / "longmenshan_earthquakes.csv")
    specs = choose(cols, {}, rows)
    assert [s["kind"] for s in specs][:2] == ["points", "line"]
    pts = specs[0]
    assert pts["map"] == "sichuan" and len(pts["points"]) == 116 and pts["source_datum"] == "WGS-84"
    line = specs[1]
    assert line["x"] == "发震时间" and line["y"] == "震级" and line["labels"] == sorted(line["labels"])


def test_amap_names_give_the_datum_and_gcj_is_drawn_as_is() -> None:
    cols, rows = _csv(DATA / "geo" / "wuhan_schools_gcj_wgs.csv")
    spec = choose(cols, {}, rows)[0]
    assert (spec["kind"], spec["lng"], spec["lat"], spec["source_datum"], spec["map"]) == (
        "points", "XGCJ", "YGCJ", "GCJ-02", "china")
    assert spec["points"][0][:2] == [round(float(rows[0][4]), 6), round(float(rows[0][5]), 6)]
    assert spec["points"][0][2] == rows[0][1]  # the NAME column labels the point


def test_declared_datum_wins_over_the_default() -> None:
    rows = [["A", "104.0657", "30.6595"], ["B", "103.7612", "29.5820"]]
    wgs = choose(["名称", "lng", "lat"], {}, rows)[0]["points"][0]
    bd = choose(["名称", "lng", "lat"], {}, rows, {"lng": "BD-09", "lat": "BD-09"})[0]["points"][0]
    assert distance_m((wgs[0], wgs[1]), convert(104.0657, 30.6595, Datum.WGS84, Datum.GCJ02)) < 0.1
    assert distance_m((bd[0], bd[1]), convert(104.0657, 30.6595, Datum.BD09, Datum.GCJ02)) < 0.1


def test_masked_coordinates_give_no_map_and_generalised_ones_the_coarse_map() -> None:
    cols = ["姓名", "经度", "纬度"]
    suppressed = [["张*", None, None], ["王*", None, None]]
    starred = [["张*", "104.0***", "30.6***"], ["王*", "103.7***", "29.5***"]]
    for rows in (suppressed, starred):
        assert "points" not in [s["kind"] for s in choose(cols, {}, rows)]
    coarse = choose(cols, {}, [["张*", "104.07", "30.66"], ["王*", "103.76", "29.58"]])[0]
    assert coarse["kind"] == "points"  # the generalised values, i.e. what the preview shows, nothing finer


def test_provinces_choropleth_and_category_bar() -> None:
    cols = ["省份", "地区生产总值"]
    rows = [["北京市", 49670.2], ["四川省", 64697.0], ["广东省", 141633.8], ["新疆维吾尔自治区", 20534.1]]
    specs = choose(cols, {"地区生产总值": "double"}, rows)
    assert specs[0]["kind"] == "regions" and specs[0]["map"] == "china"
    assert {r["code"] for r in specs[0]["regions"]} == {"110000", "510000", "440000", "650000"}
    assert specs[1]["kind"] == "bar" and specs[1]["labels"][0] == "广东省"  # largest first


def test_counts_per_region_without_a_measure() -> None:
    rows = [["成都市", "a"], ["成都市", "b"], ["甘孜州", "c"]]
    spec = choose(["所在市州", "名称"], {}, rows)[0]
    assert spec["agg"] == "count" and {r["code"]: r["value"] for r in spec["regions"]} == {"510100": 2, "513300": 1}


def test_time_series_from_dates_and_years() -> None:
    rows = [[dt.date(2024, m, 1), m * 10.0] for m in (3, 1, 2)]
    spec = choose(["统计日期", "数量"], {"统计日期": "date32[day]", "数量": "double"}, rows)[0]
    assert spec["kind"] == "line" and spec["labels"] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert spec["values"] == [10.0, 20.0, 30.0]
    yearly = choose(["年份", "GDP"], {"年份": "int64", "GDP": "double"}, [[2021, 1.0], [2020, 2.0]])[0]
    assert yearly["kind"] == "line" and yearly["labels"] == ["2020", "2021"] and yearly["y"] == "GDP"


@pytest.mark.parametrize(("cols", "types", "rows"), [
    (["序号", "人口"], {"序号": "int64", "人口": "int64"}, [[1, 10], [2, 20], [3, 15]]),
    (["编号", "名称", "金额"], {}, [["001", "甲", "5"], ["002", "乙", "7"]]),
    (["名称", "类别"], {}, [["甲", "A"], ["乙", "A"], ["丙", "B"]]),
])
def test_never_a_row_number_on_an_axis(cols: list[str], types: dict[str, str], rows: list[list[Any]]) -> None:
    specs = choose(cols, types, rows)
    assert specs
    for s in specs:
        assert not {"序号", "编号"} & set(_axes(s)), s
        assert s["kind"] in ("bar", "line", "points", "regions")


def test_nothing_meaningful_gives_no_chart() -> None:
    assert choose(["名称"], {}, [["甲"], ["乙"]]) == []  # all distinct, nothing to count or measure
    assert choose(["序号"], {"序号": "int64"}, [[1], [2]]) == []
    assert choose(["a"], {}, []) == []
