"""The dashboards' and the scorecard's pages (in-process): list, dashboard grid with its panels and
edit forms, the anonymous view of a published one, the workbench's pin form, the operator's page."""

from __future__ import annotations

import html
import json
from typing import Any

from shudata.analysis.models import AnalysisIndicator
from shudata.core.types import Role
from support.sharing import world

__all__ = ["world"]


def test_dashboard_pages(rt: Any, client: Any, world: Any, login: Any, make_user: Any) -> None:
    with rt.transaction() as s:
        s.add(AnalysisIndicator(code="GDP", name="地区生产总值", unit="亿元", frequency="年", region_level="省",
                                kind="sql", definition={}, owner_department_id=world.provider, publication="open",
                                created_by="test"))
    csrf = login("p_steward")
    assert "固定到仪表板" in client.get("/query").text
    assert "还没有仪表板" in client.get("/dashboards").text
    doc = {"title": "经济运行监测", "panels": [
        {"id": "gdp", "title": "各省地区生产总值", "chart": "map_china", "x": 0, "y": 0, "w": 8, "h": 5,
         "source": {"kind": "indicator", "indicator": "GDP", "view": "compare"}}]}
    r = client.post("/api/v1/dashboards", json={"document": doc, "sharing": "department"},
                    headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text
    did = r.json()["id"]
    page = client.get(f"/dashboards/{did}?region=510000")
    assert page.status_code == 200
    text = page.text
    assert 'id="panel-gdp"' in text and "--w:8" in text and "编辑仪表板" in text and "发布到开放门户" in text
    cfg = json.loads(html.unescape(text.split('data-config="')[1].split('"')[0]))
    assert cfg["id"] == did and cfg["document"]["panels"][0]["source"]["indicator"] == "GDP"
    assert 'value="510000"' in text
    listing = client.get("/dashboards").text
    assert "经济运行监测" in listing and "本部门" in listing
    assert client.post(f"/api/v1/dashboards/{did}/publish", headers={"X-CSRF-Token": csrf}).status_code == 200
    client.post("/logout", headers={"X-CSRF-Token": csrf})
    client.cookies.clear()
    anon = client.get(f"/dashboards/{did}")
    assert anon.status_code == 200 and "编辑仪表板" not in anon.text and "公开发布" in anon.text
    # the scorecard page: the platform admin's, not a steward's
    login("opsadmin")
    sc = client.get("/scorecard?level=city")
    assert sc.status_code == 200 and "评估考核" in sc.text and "目录完整性" in sc.text and "export.xlsx" in sc.text
    client.cookies.clear()
    login("p_steward")
    assert client.get("/scorecard").status_code == 403
    make_user("assessor", Role.AUDITOR, department_id=world.consumer)
    client.cookies.clear()
    login("assessor")
    assert client.get("/scorecard").status_code == 200
