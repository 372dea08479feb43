"""Maps on the dataset pages: the entry page's chart endpoint (same read as the preview), the
boundary GeoJSON route, and the portal page, where a suppressed coordinate column gives no map."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from shudata.audit.models import AuditEntry
from shudata.catalog import service
from shudata.catalog.models import CatalogResource
from shudata.catalog.schemas import ResourceCreate, ResourceRead
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.jobs.ingest import ingest_file
from shudata.portal import service as P
from shudata.standards.geo import Datum, distance_m, wgs84_to_gcj02

pytestmark = pytest.mark.sqlite_only
DATA = Path(__file__).resolve().parents[2] / "data"
QUAKES = DATA / "geo" / "longmenshan_earthquakes.csv"
GDP = DATA / "sichuan_gdp_2023_gbk.csv"


@pytest.fixture
def world(make_department: Callable[..., int], make_user: Callable[..., Actor], rt: Runtime) -> dict[str, Any]:
    dept = make_department("四川省地震局")
    make_department("四川省公安厅")
    steward = make_user("dz_steward", Role.DATA_STEWARD, department_id=dept)
    make_user("ga_user", Role.DEPT_USER, department_id=2)

    def register(name: str, items: list[dict[str, Any]]) -> ResourceRead:
        with rt.transaction() as s:
            return service.register_resource(session=s, actor=steward, data=ResourceCreate.model_validate({
                "name": name, "abstract": name + "（测试）", "category_code": "201001", "information_items": items,
                "sharing": {"type": 1, "method": "接口"}, "update_cycle": "每年"}))

    quakes = register("龙门山地震目录", [
        {"name": "发震时间", "data_type": "C"}, {"name": "纬度", "data_type": "N", "datum": "WGS-84"},
        {"name": "经度", "data_type": "N", "datum": "WGS-84"}, {"name": "震级", "data_type": "N"},
        {"name": "深度", "data_type": "N"}])
    gdp = register("四川省各市州主要经济指标", [
        {"name": "地区", "data_type": "C"}, {"name": "地区生产总值", "data_type": "N"},
        {"name": "常住人口", "data_type": "N"}])
    return {"steward": steward, "quakes": quakes, "gdp": gdp}


def _upload(client: Any, csrf: str, code: str, path: Path) -> None:
    with path.open("rb") as f:
        r = client.post(f"/api/v1/resources/{code}/versions", headers={"X-CSRF-Token": csrf},
                        files={"file": (path.name, f, "text/csv")})
    assert r.status_code == 201, r.text


def test_entry_page_point_map_of_real_earthquakes(client, login, world, rt):
    csrf = login("dz_steward")
    code = world["quakes"].code
    _upload(client, csrf, code, QUAKES)
    page = client.get(f"/catalog/{code}").text
    assert f'data-chart-url="/catalog/{code}/chart"' in page and "/static/js/geo.js" in page
    assert "bi-geo-alt\"></i> WGS-84" in page  # the declared datum shows on the items table
    body = client.get(f"/catalog/{code}/chart?version=1").json()
    first = body["charts"][0]
    assert (first["kind"], first["map"], first["lng"], first["lat"]) == ("points", "sichuan", "经度", "纬度")
    assert len(first["points"]) == 116 and body["rows"] == 116
    # declared WGS-84, drawn over GCJ-02 boundaries: each point moved by the GCJ-02 offset, not more
    wenchuan = next(p for p in first["points"] if abs(p[1] - 31.0) < 0.1 and abs(p[0] - 103.3) < 0.2)
    assert first["source_datum"] == "WGS-84" and first["datum"] == "GCJ-02" and wenchuan
    assert 100 < distance_m((wenchuan[0], wenchuan[1]), (103.322, 30.986)) < 5000
    # a time series of the magnitudes is offered too; never a row number
    assert "line" in [c["kind"] for c in body["charts"]]
    with rt.transaction() as s:
        reads = s.scalars(select(AuditEntry).where(AuditEntry.action == "lake.version.read")).all()
    assert len(reads) == 1 and reads[0].actor == "dz_steward"  # the chart's read is audited like a preview


def test_declared_datum_changes_the_drawn_points(client, login, world, rt):
    csrf = login("dz_steward")
    code = world["quakes"].code
    _upload(client, csrf, code, QUAKES)
    wgs = client.get(f"/catalog/{code}/chart").json()["charts"][0]["points"]
    with rt.transaction() as s:
        res = s.scalars(select(CatalogResource).where(CatalogResource.code == code)).one()
        res.information_items = [{**i, "datum": Datum.GCJ02.value} if i["name"] in ("经度", "纬度") else i
                                 for i in res.information_items]
    gcj = client.get(f"/catalog/{code}/chart").json()["charts"][0]
    assert gcj["source_datum"] == "GCJ-02"
    raw = [[float(x) for x in line.split(",")[1:3]] for line in QUAKES.read_text(encoding="utf-8").splitlines()[1:]]
    assert [[p[0], p[1]] for p in gcj["points"]] == [[round(lng, 6), round(lat, 6)] for lat, lng in raw]
    moved = wgs84_to_gcj02(raw[0][1], raw[0][0])
    assert distance_m((wgs[0][0], wgs[0][1]), moved) < 0.5


def test_entry_page_choropleth_of_city_names(client, login, world):
    csrf = login("dz_steward")
    _upload(client, csrf, world["gdp"].code, GDP)
    first = client.get(f"/catalog/{world['gdp'].code}/chart").json()["charts"][0]
    assert (first["kind"], first["map"], first["region"], first["measure"]) == ("regions", "sichuan", "地区",
                                                                                  "地区生产总值")
    assert {r["code"]: r["value"] for r in first["regions"]}["510100"] == 22074.7
    assert len(first["regions"]) == 8


def test_other_department_gets_no_chart_data(client, login, world):
    csrf = login("dz_steward")
    _upload(client, csrf, world["quakes"].code, QUAKES)
    client.post("/logout", data={"csrf_token": csrf})
    login("ga_user")
    r = client.get(f"/catalog/{world['quakes'].code}/chart")
    assert r.status_code == 403 and "22074" not in r.text
    assert 'data-chart-url' not in client.get(f"/catalog/{world['quakes'].code}").text


def test_boundary_geojson_is_public_cached_and_complete(client):
    r = client.get("/geo/boundaries/sichuan.geojson")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    assert "max-age=31536000" in r.headers["cache-control"]
    codes = sorted(f["id"] for f in r.json()["features"])
    assert len(codes) == 21 and codes[0] == "510100" and codes[-1] == "513400"
    again = client.get("/geo/boundaries/sichuan.geojson", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert client.head("/geo/boundaries/china.geojson").status_code == 200
    china = client.get("/geo/boundaries/china.geojson").json()
    assert len(china["features"]) == 34 and "510000" in {f["id"] for f in china["features"]}
    bad = client.get("/geo/boundaries/world.geojson")
    assert bad.status_code == 404 and "没有名为 world 的边界地图" in bad.text


def test_portal_map_never_shows_suppressed_coordinates(client, rt, settings, world, tmp_path):
    """Persons' GPS positions: the open profile suppresses them in the published file, so the
    portal's chart has no points (the raw coordinates appear nowhere in the page)."""
    steward = world["steward"]
    path = tmp_path / "救援人员位置.csv"
    rows = [("张伟", "104.0657", "30.6595"), ("王芳", "103.7612", "29.5820"), ("李娜", "102.2214", "31.8998")]
    path.write_text("姓名,手机号码,经度,纬度\n" + "".join(f"{n},1380000{i:04d},{x},{y}\n"
                                                        for i, (n, x, y) in enumerate(rows)), encoding="utf-8")
    with rt.transaction() as s:
        res = service.register_resource(session=s, actor=steward, data=ResourceCreate.model_validate({
            "name": "救援人员位置", "abstract": "救援人员实时位置（测试）", "category_code": "201001",
            "information_items": [{"name": n, "data_type": "C"} for n in ("姓名", "手机号码", "经度", "纬度")],
            "sharing": {"type": 1, "method": "接口"}, "open": {"type": "无条件开放"}, "update_cycle": "每年"}))
    with rt.transaction() as s:
        ingest_file(session=s, settings=settings, actor=steward, resource_code=res.code, path=path)
    with rt.transaction() as s:
        P.publish(session=s, settings=settings, actor=steward, resource=res.code)
    html = client.get(f"/portal/datasets/{res.code.replace('/', '-')}").text
    chart = json.loads(re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html, re.S)
                       .group(1))
    assert "points" not in [c["kind"] for c in chart["charts"]]
    for _, x, y in rows:
        assert x not in html and y not in html


def test_entry_form_keeps_each_items_datum():
    from shudata.catalog.schemas import InformationItem
    from shudata.web.ui.entry_form import form_values

    values = form_values({"name": ["景区名录"], "item_name": ["名称", "经度", "纬度"], "item_type": ["C", "N", "N"],
                          "item_length": ["", "", ""], "item_description": ["", "", ""],
                          "item_datum": ["", "GCJ-02", "GCJ-02"]})
    items = [InformationItem.model_validate(i) for i in values["information_items"]]
    assert [i.datum for i in items] == [None, Datum.GCJ02, Datum.GCJ02]
    with pytest.raises(ValueError, match="datum"):
        InformationItem.model_validate({"name": "经度", "datum": "UTM"})
