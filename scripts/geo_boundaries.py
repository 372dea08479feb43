"""Rebuild the boundary GeoJSON shipped in ``shudata/standards/data/boundaries`` from the map
files of the Apache ECharts 4.9.0 npm package (``npm pack echarts@4.9.0``, Apache-2.0).

ECharts 4 stores its maps in a compact form (``"UTF8Encoding": true``): every ring is a string
of character pairs, each pair a zigzag-encoded delta of the previous point in 1/1024 degree,
starting from the ring's ``encodeOffsets``. This script decodes them into plain GeoJSON
(RFC 7946 coordinates: longitude, latitude), keeps each feature's GB/T 2260 code as ``id`` and
``properties.code`` and its name, and writes the result compactly (5 decimals = ~1 m, finer
than the 1/1024° ≈ 100 m grid of the source). See the data folder's PROVENANCE.md.

    python scripts/geo_boundaries.py /path/to/unpacked/echarts/package

Browsers cache the files for a year (``/geo/boundaries/NAME.geojson``): when they change, bump
``BOUNDARY_VERSION`` in ``static/js/geo.js`` so that pages ask for the new ones.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "src" / "shudata" / "standards" / "data" / "boundaries"
FILES = {"china.geojson": "map/json/china.json", "sichuan.geojson": "map/json/province/sichuan.json"}


def decode_ring(text: str, offset: list[int], scale: float) -> list[list[float]]:
    """One encoded ring → [[lng, lat], …]."""
    x, y = offset
    out = []
    for i in range(0, len(text), 2):
        dx = ord(text[i]) - 64
        dy = ord(text[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)  # zigzag → signed delta
        y += (dy >> 1) ^ -(dy & 1)
        out.append([round(x / scale, 5), round(y / scale, 5)])
    if out and out[0] != out[-1]:
        out.append(list(out[0]))  # GeoJSON rings are closed
    return out


def decode_geometry(geom: dict[str, Any], scale: float) -> dict[str, Any]:
    offsets = geom["encodeOffsets"]
    if geom["type"] == "Polygon":
        rings = [decode_ring(r, offsets[i], scale) for i, r in enumerate(geom["coordinates"])]
        return {"type": "Polygon", "coordinates": rings}
    polys = [[decode_ring(r, offsets[p][i], scale) for i, r in enumerate(poly)]
             for p, poly in enumerate(geom["coordinates"])]
    return {"type": "MultiPolygon", "coordinates": polys}


def convert(src: dict[str, Any]) -> dict[str, Any]:
    scale = float(src.get("UTF8Scale", 1024))
    feats = []
    for f in src["features"]:
        code = str(f.get("id") or f["properties"].get("id"))
        props = {"code": code, "name": f["properties"]["name"], "cp": f["properties"].get("cp")}
        geom = decode_geometry(f["geometry"], scale) if src.get("UTF8Encoding") else f["geometry"]
        feats.append({"type": "Feature", "id": code, "properties": props, "geometry": geom})
    feats.sort(key=lambda f: f["id"])
    return {"type": "FeatureCollection", "features": feats}


def main(package_dir: str) -> None:
    for name, rel in FILES.items():
        src = json.loads((Path(package_dir) / rel).read_text(encoding="utf-8"))
        body = json.dumps(convert(src), ensure_ascii=False, separators=(",", ":"))
        (OUT / name).write_text(body + "\n", encoding="utf-8")
        print(f"{name}: {len(body.encode()):,} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
