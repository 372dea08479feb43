"""坐标系 (geodetic datums) of Chinese data and conversion between them: WGS-84 (GPS, the world's),
GCJ-02 (国测局坐标, required for published maps in China: Amap/高德, Tencent) and BD-09 (Baidu).

GCJ-02 is WGS-84 plus a smooth, deterministic offset (a few hundred metres) defined only
inside China; outside China every datum is the identity. The inverse has no closed form, so
it is found by fixed-point iteration to well under a millimetre (the popular one-step
inverse is off by up to ~2 m). Pure functions, stdlib only.

>>> lng, lat = wgs84_to_gcj02(104.0657, 30.6595)   # 天府广场, Chengdu
>>> round(lng - 104.0657, 4), round(lat - 30.6595, 4)
(0.0025, -0.0024)
>>> back = gcj02_to_wgs84(lng, lat)
>>> distance_m(back, (104.0657, 30.6595)) < 0.001
True
>>> wgs84_to_gcj02(2.3522, 48.8566)   # Paris: outside China, unchanged
(2.3522, 48.8566)
>>> convert(104.0657, 30.6595, Datum.WGS84, Datum.WGS84)
(104.0657, 30.6595)
>>> parse_datum("高德"), parse_datum("gps"), parse_datum("bd09ll")
(<Datum.GCJ02: 'GCJ-02'>, <Datum.WGS84: 'WGS-84'>, <Datum.BD09: 'BD-09'>)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum

# Krasovsky 1940 ellipsoid, as the GCJ-02 algorithm uses it
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0
_TOLERANCE_DEG = 1e-10  # ≈ 0.01 mm
_MAX_ITER = 30

Point = tuple[float, float]  # (longitude, latitude) in degrees, in that order (as GeoJSON)


class Datum(StrEnum):
    """The datum a pair of coordinate columns holds (declared per information item)."""

    WGS84 = "WGS-84"
    GCJ02 = "GCJ-02"
    BD09 = "BD-09"


DATUM_LABELS: dict[Datum, tuple[str, str]] = {
    Datum.WGS84: ("WGS-84（GPS 原始坐标、天地图近似）", "WGS-84 (GPS; Tianditu approx.)"),
    Datum.GCJ02: ("GCJ-02（国测局坐标：高德、腾讯地图）", "GCJ-02 (Amap, Tencent)"),
    Datum.BD09: ("BD-09（百度地图坐标）", "BD-09 (Baidu)"),
}

# The boundary GeoJSON shipped in data/boundaries is drawn in GCJ-02 (see its PROVENANCE.md):
# points are converted to this datum before they are drawn over it.
BOUNDARY_DATUM = Datum.GCJ02

_ALIASES = {
    "wgs84": Datum.WGS84, "wgs-84": Datum.WGS84, "wgs 84": Datum.WGS84, "gps": Datum.WGS84, "epsg:4326": Datum.WGS84,
    "4326": Datum.WGS84, "cgcs2000": Datum.WGS84, "天地图": Datum.WGS84,
    "gcj02": Datum.GCJ02, "gcj-02": Datum.GCJ02, "gcj": Datum.GCJ02, "火星坐标": Datum.GCJ02, "国测局": Datum.GCJ02,
    "国测局坐标": Datum.GCJ02, "高德": Datum.GCJ02, "腾讯": Datum.GCJ02, "amap": Datum.GCJ02,
    "bd09": Datum.BD09, "bd-09": Datum.BD09, "bd09ll": Datum.BD09, "百度": Datum.BD09, "baidu": Datum.BD09,
}


def parse_datum(text: str | Datum | None) -> Datum | None:
    """A datum from its code or a common name (``None`` when empty or unknown)."""
    if text is None:
        return None
    if isinstance(text, Datum):
        return text
    key = str(text).strip().lower()
    if not key:
        return None
    for d in Datum:
        if key == d.value.lower():
            return d
    return _ALIASES.get(key)


def in_china(lng: float, lat: float) -> bool:
    """Inside the rectangle where the GCJ-02 offset applies (the algorithm's own bounds).

    >>> in_china(104.07, 30.66), in_china(139.69, 35.69), in_china(-74.0, 40.7)
    (True, False, False)
    """
    return 72.004 <= lng <= 137.8347 and 0.8293 <= lat <= 55.8271


def _d_lat(x: float, y: float) -> float:
    r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    r += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return r


def _d_lng(x: float, y: float) -> float:
    r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    r += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    r += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    r += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return r


def _gcj_offset(lng: float, lat: float) -> Point:
    d_lat = _d_lat(lng - 105.0, lat - 35.0)
    d_lng = _d_lng(lng - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lng = (d_lng * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return d_lng, d_lat


def wgs84_to_gcj02(lng: float, lat: float) -> Point:
    if not in_china(lng, lat):
        return lng, lat
    d_lng, d_lat = _gcj_offset(lng, lat)
    return lng + d_lng, lat + d_lat


def _invert(forward: Callable[[float, float], Point], lng: float, lat: float) -> Point:
    """The point p with forward(p) == (lng, lat), by fixed-point iteration from (lng, lat)."""
    x, y = lng, lat
    for _ in range(_MAX_ITER):
        fx, fy = forward(x, y)
        ex, ey = fx - lng, fy - lat
        if abs(ex) < _TOLERANCE_DEG and abs(ey) < _TOLERANCE_DEG:
            break
        x, y = x - ex, y - ey
    return x, y


def gcj02_to_wgs84(lng: float, lat: float) -> Point:
    if not in_china(lng, lat):
        return lng, lat
    return _invert(wgs84_to_gcj02, lng, lat)


def gcj02_to_bd09(lng: float, lat: float) -> Point:
    if not in_china(lng, lat):
        return lng, lat
    z = math.hypot(lng, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lng: float, lat: float) -> Point:
    if not in_china(lng, lat):
        return lng, lat
    return _invert(gcj02_to_bd09, lng, lat)


def convert(lng: float, lat: float, src: Datum, dst: Datum) -> Point:
    """A point from datum ``src`` to datum ``dst`` (identity outside China and when equal)."""
    if src == dst:
        return lng, lat
    if src == Datum.BD09:
        lng, lat = bd09_to_gcj02(lng, lat)
    elif src == Datum.WGS84:
        lng, lat = wgs84_to_gcj02(lng, lat)
    # now GCJ-02
    if dst == Datum.BD09:
        return gcj02_to_bd09(lng, lat)
    if dst == Datum.WGS84:
        return gcj02_to_wgs84(lng, lat)
    return lng, lat


def distance_m(a: Point, b: Point) -> float:
    """Great-circle distance in metres between two (lng, lat) points (haversine, mean Earth radius)."""
    lng1, lat1, lng2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * 6371008.8 * math.asin(min(1.0, math.sqrt(h)))
