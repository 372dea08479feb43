"""Detection of geo columns and region matching, on real files (Sichuan scenic areas, GDP, Amap POIs)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from shudata.standards.geo import Datum
from shudata.standards.geo_columns import find_coordinates, find_region, match_column, match_region, short_names

DATA = Path(__file__).parents[2] / "data"


def _table(rows: list[list[object]]) -> tuple[list[str], dict[str, list[object]]]:
    cols = [str(c) for c in rows[0]]
    return cols, {c: [r[i] for r in rows[1:]] for i, c in enumerate(cols)}


def test_scenic_areas_coordinates_and_prefectures() -> None:
    wb = load_workbook(DATA / "quality" / "sichuan_a_grade_scenic_areas.xlsx", read_only=True)
    cols, vals = _table([list(r) for r in wb.active.iter_rows(values_only=True)])
    coords = find_coordinates(cols, vals)
    assert coords is not None and (coords.lng, coords.lat, coords.datum_hint) == ("经度", "纬度", None)
    region = find_region(cols, vals)
    assert region is not None and (region.column, region.level, region.by) == ("所在市州", "city", "name")
    # every one of the 819 rows matched, short forms (阿坝州, 甘孜州, 凉山州) included, all 21 prefectures
    assert region.matched == 819 and len(set(region.codes)) == 21
    short = {v: c for v, c in zip(vals["所在市州"], region.codes, strict=True) if str(v).endswith("州")}
    assert short == {"阿坝州": "513200", "甘孜州": "513300", "凉山州": "513400"}


def test_gdp_city_names_in_a_gbk_file() -> None:
    text = (DATA / "sichuan_gdp_2023_gbk.csv").read_bytes().decode("gbk")
    rows = [r for r in csv.reader(io.StringIO(text)) if len(r) == 3][1:]
    region = find_region(rows[0], {c: [r[i] for r in rows[1:]] for i, c in enumerate(rows[0])})
    assert region is not None and region.column == "地区" and region.codes[0] == "510100"
    assert find_coordinates(rows[0], {c: [r[i] for r in rows[1:]] for i, c in enumerate(rows[0])}) is None


def test_amap_pairs_carry_their_datum_in_the_names() -> None:
    with (DATA / "geo" / "wuhan_schools_gcj_wgs.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    cols, vals = _table(rows)  # type: ignore[arg-type]
    coords = find_coordinates(cols, vals)
    assert coords is not None and (coords.lng, coords.lat, coords.datum_hint) == ("XGCJ", "YGCJ", Datum.GCJ02)
    # Wuhan's county codes all match, but roll up to one province (Hubei) on the provinces map: one
    # region is no choropleth, so no region column is offered
    assert match_column(vals["COUNTYCODE"]).matched == 295  # type: ignore[union-attr]
    assert set(match_column(vals["COUNTYCODE"]).codes) == {"420000"}  # type: ignore[union-attr]
    assert find_region(cols, vals) is None


@pytest.mark.parametrize(("value", "code"), [
    ("成都", "510100"), ("成都市", "510100"), ("甘孜州", "513300"), ("甘孜藏族自治州", "513300"), ("甘孜", "513300"),
    ("四川", "510000"), ("四川省", "510000"), ("广西", "450000"), ("广西壮族自治区", "450000"), ("内蒙古", "150000"),
    ("香港", "810000"), ("510104", "510104"), (510100, "510100"), ("510100000000", "510100"), ("吉林", None),
    ("北京", "110000"), ("火星", None), ("", None), (None, None)])
def test_match_region(value: object, code: str | None) -> None:
    assert match_region(value) == code


def test_short_names_strip_every_ethnic_group() -> None:
    assert short_names("黔东南苗族侗族自治州") == ["黔东南", "黔东南州"]
    assert short_names("湘西土家族苗族自治州") == ["湘西", "湘西州"]
    assert short_names("新疆维吾尔自治区") == ["新疆"]


def test_provinces_column_and_masked_values() -> None:
    m = match_column(["北京市", "四川省", "广东", "新疆"])
    assert m is not None and m.level == "province" and m.codes == ("110000", "510000", "440000", "650000")
    # masked coordinates (suppressed, starred) are not coordinates
    for masked in (["***", "***"], [None, None], ["104.0*", "103.7*"]):
        assert find_coordinates(["经度", "纬度"], {"经度": masked, "纬度": masked}) is None
    # out-of-range numbers are not coordinates either
    assert find_coordinates(["lng", "lat"], {"lng": [500.0], "lat": [30.0]}) is None
