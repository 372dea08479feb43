"""GCJ-02 / WGS-84 / BD-09 conversion: properties over China, identity outside, real Amap pairs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shudata.standards.geo import (
    Datum,
    bd09_to_gcj02,
    convert,
    distance_m,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    parse_datum,
    wgs84_to_gcj02,
)

DATA = Path(__file__).parents[2] / "data" / "geo"

china_lng = st.floats(min_value=73.5, max_value=135.0, allow_nan=False)
china_lat = st.floats(min_value=18.0, max_value=53.5, allow_nan=False)
world_lng = st.floats(min_value=-180.0, max_value=180.0, allow_nan=False)
world_lat = st.floats(min_value=-85.0, max_value=85.0, allow_nan=False)


@settings(max_examples=400, deadline=None)
@given(china_lng, china_lat)
def test_wgs_gcj_round_trip_under_a_millimetre_in_china(lng: float, lat: float) -> None:
    there = wgs84_to_gcj02(lng, lat)
    assert distance_m(gcj02_to_wgs84(*there), (lng, lat)) < 0.001
    # and the offset is real: a few hundred metres, never zero, never kilometres
    assert 1.0 < distance_m(there, (lng, lat)) < 1500.0


@settings(max_examples=400, deadline=None)
@given(china_lng, china_lat)
def test_every_pair_of_datums_round_trips(lng: float, lat: float) -> None:
    for a in Datum:
        for b in Datum:
            there = convert(lng, lat, a, b)
            assert distance_m(convert(*there, b, a), (lng, lat)) < 0.01, (a, b)
    bd = gcj02_to_bd09(lng, lat)
    assert distance_m(bd09_to_gcj02(*bd), (lng, lat)) < 0.001


@settings(max_examples=300, deadline=None)
@given(world_lng, world_lat)
def test_identity_outside_china(lng: float, lat: float) -> None:
    if in_china(lng, lat):
        return
    for a in Datum:
        for b in Datum:
            assert convert(lng, lat, a, b) == (lng, lat)


def test_known_offsets() -> None:
    # 天府广场: GCJ-02 lies ≈ 0.0025° east and 0.0024° south of WGS-84 in Chengdu (about 340 m)
    g = wgs84_to_gcj02(104.0657, 30.6595)
    assert 300 < distance_m(g, (104.0657, 30.6595)) < 400
    assert g[0] > 104.0657 and g[1] < 30.6595
    # Baidu adds ≈ 0.0065°, 0.006° on top of GCJ-02
    b = gcj02_to_bd09(*g)
    assert abs(b[0] - g[0] - 0.0065) < 0.001 and abs(b[1] - g[1] - 0.006) < 0.001


def _wuhan() -> list[tuple[tuple[float, float], tuple[float, float]]]:
    with (DATA / "wuhan_schools_gcj_wgs.csv").open(encoding="utf-8") as f:
        return [((float(r["XGCJ"]), float(r["YGCJ"])), (float(r["XWGS"]), float(r["YWGS"]))) for r in csv.DictReader(f)]


def test_real_amap_pairs() -> None:
    pairs = _wuhan()
    assert len(pairs) == 295
    for gcj, wgs in pairs:
        # the file's WGS-84 column came from the one-step inverse; ours is exact and agrees within its error
        assert distance_m(gcj02_to_wgs84(*gcj), wgs) < 3.5
        f = wgs84_to_gcj02(*gcj)
        one_step = (2 * gcj[0] - f[0], 2 * gcj[1] - f[1])
        assert distance_m(one_step, wgs) < 1.0
        # and the exact inverse really inverts Amap's GCJ-02 (the one-step one misses by metres)
        assert distance_m(wgs84_to_gcj02(*gcj02_to_wgs84(*gcj)), gcj) < 0.001
    misses = sorted(distance_m(wgs84_to_gcj02(*w), g) for g, w in pairs)
    assert misses[-1] > 1.0  # the one-step column is measurably off; the test above is not vacuous


@pytest.mark.parametrize(("text", "want"), [
    ("WGS-84", Datum.WGS84), ("wgs84", Datum.WGS84), ("GPS", Datum.WGS84), ("GCJ-02", Datum.GCJ02),
    ("火星坐标", Datum.GCJ02), ("高德", Datum.GCJ02), ("BD-09", Datum.BD09), ("百度", Datum.BD09),
    ("", None), ("UTM", None), (None, None)])
def test_parse_datum(text: str | None, want: Datum | None) -> None:
    assert parse_datum(text) == want
