"""Dashboards (仪表板): declarative documents, validated (422 listing every problem, nothing written),
panel data computed per viewer (the sandbox for query panels, the publication rule for indicator
panels, forecasts marked 预测), Sichuan against the other provinces, pinning from the workbench,
export/import as a copy, sharing, and the publication gate (never more than the public may see)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import func, select

from shudata.analysis.dashboards import Filters, filtered_sql
from shudata.analysis.dashboards_models import AnalysisDashboard
from shudata.analysis.models import AnalysisIndicator, AnalysisValue
from shudata.audit.models import AuditEntry
from shudata.catalog.access import find_resource
from shudata.core.types import Actor, Role
from shudata.query.models import QuerySaved
from support.sharing import world

__all__ = ["world"]
CODE = "201001/000001"
PROVINCES = {"510000": ("四川省", 60132.9, 56749.8), "440000": ("广东省", 135673.2, 129118.6),
             "500000": ("重庆市", 30145.8, 29129.0), "110000": ("北京市", 43760.7, 41610.9)}


@pytest.fixture
def env(rt: Any, world: Any, make_user: Any, token_for: Any) -> dict[str, Any]:
    from shudata.catalog.writes import write_version

    colleague = make_user("p_user", Role.DEPT_USER, department_id=world.provider)
    with rt.transaction() as s:
        res = find_resource(s, CODE)
        write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=res,
                      batches_or_table=pa.table({"地区": ["成都市", "绵阳市", "成都市"], "企业数": [10, 4, 6],
                                                 "年份": ["2023", "2023", "2024"]}),
                      source_name="a.csv", source_format="csv")
        ind = {}
        for code, pub in (("GDP", "open"), ("GDP_INTERNAL", "internal")):
            row = AnalysisIndicator(code=code, name="地区生产总值", unit="亿元", frequency="年", region_level="省",
                                    kind="sql", definition={}, owner_department_id=world.provider,
                                    publication=pub, created_by="test")
            s.add(row)
            s.flush()
            ind[code] = row.id
            for rc, (name, v23, v22) in PROVINCES.items():
                for period, v in (("2023", v23), ("2022", v22)):
                    s.add(AnalysisValue(indicator_id=row.id, region_code=rc, region=name, period=period,
                                        period_start=dt.datetime(int(period), 1, 1, tzinfo=dt.UTC), value=v))
            for year in range(2012, 2022):  # Sichuan's longer past: enough for a forecast
                s.add(AnalysisValue(indicator_id=row.id, region_code="510000", region="四川省", period=str(year),
                                    period_start=dt.datetime(year, 1, 1, tzinfo=dt.UTC),
                                    value=24000.0 * 1.08 ** (year - 2012)))
    return {"steward": token_for("p_steward"), "colleague": token_for("p_user"), "other": token_for("c_user"),
            "admin": token_for("opsadmin"), "colleague_actor": colleague, "ind": ind}


def _doc(*panels: dict[str, Any], title: str = "经济运行") -> dict[str, Any]:
    return {"title": title, "panels": list(panels)}


def _panel(pid: str, chart: str = "bar", **source: Any) -> dict[str, Any]:
    return {"id": pid, "title": f"面板{pid}", "chart": chart, "x": 0, "y": 0, "w": 6, "h": 4, "source": source}


def _count(rt: Any, model: Any) -> int:
    with rt.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_bad_document_is_refused_whole_listing_every_problem(rt: Any, client: Any, env: dict[str, Any]) -> None:
    bad = _doc(_panel("a", chart="pie", kind="indicator", indicator="GDP"),
               {**_panel("b", kind="query", sql="SELECT 1"), "x": 10, "w": 6},
               _panel("a", kind="indicator"))
    before = (_count(rt, AnalysisDashboard), _count(rt, QuerySaved))
    r = client.post("/api/v1/dashboards/import", json=bad, headers=env["steward"])
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "dashboard_invalid"
    where = {p["where"] for p in err["details"]["problems"]}
    assert {"panels.0.chart", "panels.1", "panels.2.source"} <= where
    assert "仪表板文档有" in err["message"]
    # a valid shape whose sources do not exist: still nothing written (not even the query saved for panel b)
    wrong = _doc(_panel("b", kind="query", sql='SELECT * FROM "201001/000001"'),
                 _panel("c", kind="indicator", indicator="NO_SUCH"))
    r = client.post("/api/v1/dashboards/import", json=wrong, headers=env["steward"])
    assert r.status_code == 422 and "NO_SUCH" in r.json()["error"]["message"]
    assert (_count(rt, AnalysisDashboard), _count(rt, QuerySaved)) == before


def test_query_panels_are_computed_as_the_viewer_with_filters(rt: Any, client: Any, env: dict[str, Any]) -> None:
    r = client.post("/api/v1/dashboards/pin", headers=env["steward"], json={
        "sql": 'SELECT 地区, 年份, SUM(企业数) AS 企业数 FROM "201001/000001" GROUP BY 地区, 年份 ORDER BY 地区',
        "title": "各市企业数", "chart": "bar", "x": "地区", "y": "企业数", "new_title": "市场主体"})
    assert r.status_code == 201, r.text
    dash = r.json()["dashboard"]
    did, pid = dash["id"], r.json()["panel"]
    assert dash["document"]["panels"][0]["source"]["saved_query_id"] and dash["sharing"] == "private"
    data = client.get(f"/api/v1/dashboards/{did}/panels/{pid}/data", headers=env["steward"]).json()
    assert data["x"] == "地区" and data["y"] == "企业数" and len(data["rows"]) == 3
    unfiltered = client.get(f"/api/v1/dashboards/{did}/panels/{pid}/data?region=成都市", headers=env["steward"]).json()
    assert len(unfiltered["rows"]) == 3 and any("未设地区列" in n for n in unfiltered["notes"])  # says so
    # the colleague sees nothing of a private dashboard; once shared with the department, its data are
    # computed as the colleague (the audit trail names the colleague's run)
    assert client.get(f"/api/v1/dashboards/{did}", headers=env["colleague"]).status_code == 404
    r = client.put(f"/api/v1/dashboards/{did}", headers=env["steward"], json={"sharing": "department"})
    assert r.status_code == 200 and r.json()["revision"] == 2
    doc = r.json()["document"]
    doc["panels"][0]["source"].update(region_column="地区", period_column="年份")
    assert client.put(f"/api/v1/dashboards/{did}", headers=env["steward"],
                      json={"document": doc, "revision": 1}).json()["error"]["code"] == "dashboard_stale"
    assert client.put(f"/api/v1/dashboards/{did}", headers=env["steward"],
                      json={"document": doc, "revision": 2}).status_code == 200
    r = client.get(f"/api/v1/dashboards/{did}/panels/{pid}/data?region=成都市&period_from=2024",
                   headers=env["colleague"])
    assert r.status_code == 200, r.text
    assert [[a, b, int(n)] for a, b, n in r.json()["rows"]] == [["成都市", "2024", 6]]  # SUM: a HUGEINT, as text
    with rt.transaction() as s:
        runs = s.scalars(select(AuditEntry.actor).where(AuditEntry.action == "query.run")).all()
    assert "p_user" in runs
    # another department's user sees neither the dashboard nor its panels; the colleague cannot change it
    assert client.get(f"/api/v1/dashboards/{did}/panels/{pid}/data", headers=env["other"]).status_code == 404
    assert client.delete(f"/api/v1/dashboards/{did}", headers=env["colleague"]).status_code == 403
    assert client.get("/api/v1/dashboards/1/panels/p1/data?period_from=2024&period_to=2020",
                      headers=env["steward"]).status_code == 422


def test_indicator_panels_compare_provinces_and_mark_forecasts(rt: Any, client: Any, env: dict[str, Any]) -> None:
    doc = _doc(_panel("cmp", kind="indicator", indicator="GDP", view="compare"),
               _panel("ts", chart="line", kind="indicator", indicator="GDP", forecast=True),
               _panel("n", chart="number", kind="indicator", indicator="GDP", view="compare"),
               _panel("int", chart="table", kind="indicator", indicator="GDP_INTERNAL"))
    r = client.post("/api/v1/dashboards", headers=env["steward"], json={"document": doc, "sharing": "department"})
    assert r.status_code == 201, r.text
    did = r.json()["id"]
    cmp = client.get(f"/api/v1/dashboards/{did}/panels/cmp/data", headers=env["steward"]).json()
    sc = next(row for row in cmp["rows"] if row[1] == "510000")
    total = sum(v[1] for v in PROVINCES.values())
    assert sc[3] == 2  # behind 广东, ahead of 北京 and 重庆
    assert sc[4] == pytest.approx(round(100 * 60132.9 / total, 2))
    assert sc[5] == pytest.approx(round(100 * (60132.9 / 56749.8 - 1), 2))
    assert any("四川省第 2 名" in n for n in cmp["notes"])
    # the store's own rank indicator of GDP, when there is one, gives the rank (here a made-up 7th place)
    with rt.transaction() as s:
        owner = s.scalars(select(AnalysisIndicator.owner_department_id).where(AnalysisIndicator.code == "GDP")).one()
        rank = AnalysisIndicator(code="GDP.RANK", name="地区生产总值位次", unit="位", frequency="年", region_level="省",
                                 kind="formula", definition={"kind": "formula", "op": "rank", "inputs": ["GDP"]},
                                 owner_department_id=owner, publication="open", created_by="test")
        s.add(rank)
        s.flush()
        s.add(AnalysisValue(indicator_id=rank.id, region_code="510000", region="四川省", period="2023",
                            period_start=dt.datetime(2023, 1, 1, tzinfo=dt.UTC), value=7.0))
    again = client.get(f"/api/v1/dashboards/{did}/panels/cmp/data", headers=env["steward"]).json()
    assert next(row for row in again["rows"] if row[1] == "510000")[3] == 7
    assert any("GDP.RANK" in n for n in again["notes"])
    ts = client.get(f"/api/v1/dashboards/{did}/panels/ts/data?region=510000", headers=env["steward"]).json()
    kinds = [(r[0], r[4]) for r in ts["rows"]]
    assert kinds[:1] == [("2012", "实际")] and ("2023", "实际") in kinds
    assert [p for p, k in kinds if k == "预测"] == ["2024", "2025", "2026"]
    assert ts["forecast"] is True and any("模型预测" in n for n in ts["notes"])
    both = client.get(f"/api/v1/dashboards/{did}/panels/ts/data", headers=env["steward"]).json()
    assert both["forecast"] is False and {r[2] for r in both["rows"]} == set(PROVINCES)  # many regions: no forecast
    num = client.get(f"/api/v1/dashboards/{did}/panels/n/data", headers=env["steward"]).json()
    assert [r[1] for r in num["rows"]] == ["510000"]
    # the internal indicator is the provider department's: its colleague sees it, the platform admin too
    assert client.get(f"/api/v1/dashboards/{did}/panels/int/data", headers=env["colleague"]).status_code == 200


def test_publication_gate_and_the_anonymous_public(rt: Any, client: Any, env: dict[str, Any]) -> None:
    doc = _doc(_panel("gdp", chart="map_china", kind="indicator", indicator="GDP", view="compare"),
               _panel("int", kind="indicator", indicator="GDP_INTERNAL"))
    did = client.post("/api/v1/dashboards", headers=env["colleague"], json={"document": doc,
                                                                          "sharing": "department"}).json()["id"]
    assert client.post(f"/api/v1/dashboards/{did}/publish", headers=env["colleague"]).status_code == 403
    r = client.post(f"/api/v1/dashboards/{did}/publish", headers=env["steward"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "dashboard_not_publishable"
    assert "GDP_INTERNAL" in r.json()["error"]["message"]
    doc["panels"] = doc["panels"][:1]
    assert client.put(f"/api/v1/dashboards/{did}", headers=env["colleague"], json={"document": doc}).status_code == 200
    assert client.get(f"/api/v1/dashboards/{did}", headers={}).status_code == 404  # not yet public
    r = client.post(f"/api/v1/dashboards/{did}/publish", headers=env["steward"])
    assert r.status_code == 200 and r.json()["sharing"] == "public"
    anon = client.get(f"/api/v1/dashboards/{did}/panels/gdp/data")
    assert anon.status_code == 200 and len(anon.json()["rows"]) == 4
    # the owner cannot slip a non-public panel into a published dashboard
    doc["panels"].append(_panel("int", kind="indicator", indicator="GDP_INTERNAL"))
    assert client.put(f"/api/v1/dashboards/{did}", headers=env["colleague"],
                      json={"document": doc}).json()["error"]["code"] == "dashboard_not_publishable"
    # an indicator withdrawn from the public: the published panel stops delivering it at once
    with rt.transaction() as s:
        s.scalars(select(AnalysisIndicator).where(AnalysisIndicator.code == "GDP")).one().publication = "internal"
    assert client.get(f"/api/v1/dashboards/{did}/panels/gdp/data").status_code == 404
    assert client.get(f"/api/v1/dashboards/{did}/panels/gdp/data", headers=env["colleague"]).status_code == 200
    assert client.delete(f"/api/v1/dashboards/{did}/publish", headers=env["steward"]).json()["sharing"] == "department"


def test_export_and_import_as_a_copy(rt: Any, client: Any, env: dict[str, Any]) -> None:
    r = client.post("/api/v1/dashboards/pin", headers=env["steward"], json={
        "sql": 'SELECT 地区, SUM(企业数) AS n FROM "201001/000001" GROUP BY 地区', "title": "企业数",
        "chart": "map_sichuan", "x": "地区", "y": "n"})
    did = r.json()["dashboard"]["id"]
    r = client.post("/api/v1/dashboards/pin", headers=env["steward"], json={
        "sql": "SELECT 1 AS one", "title": "一", "chart": "number", "dashboard_id": did})
    assert r.status_code == 201 and r.json()["panel"] == "p2"
    assert [p["y"] for p in r.json()["dashboard"]["document"]["panels"]] == [0, 4]
    exp = client.get(f"/api/v1/dashboards/{did}/export", headers=env["steward"])
    assert exp.status_code == 200 and "attachment" in exp.headers["content-disposition"]
    doc = exp.json()
    assert doc["schema_version"] == "shudata.dashboard/1"
    src = doc["panels"][0]["source"]
    assert src["sql"].startswith("SELECT 地区") and src["saved_query_id"] is None
    queries = _count(rt, QuerySaved)
    r = client.post("/api/v1/dashboards/import?title=副本", headers=env["colleague"], json=doc)
    assert r.status_code == 201, r.text
    copy = r.json()
    assert copy["id"] != did and copy["title"] == "副本" and copy["owner"] == "p_user"
    assert _count(rt, QuerySaved) == queries + 2
    data = client.get(f"/api/v1/dashboards/{copy['id']}/panels/p1/data", headers=env["colleague"]).json()
    assert data["region"] == "地区" and len(data["rows"]) == 2


def test_filtered_sql_quotes_names_and_values() -> None:
    sql = filtered_sql("SELECT * FROM t", Filters(regions=["x' OR '1'='1"]), 'a"b', None)
    assert sql == "SELECT * FROM (SELECT * FROM t) AS _panel WHERE \"a\"\"b\" IN ('x'' OR ''1''=''1')"


def test_a_pin_title_with_control_characters_is_a_422_not_a_500(rt: Any, client: Any, env: dict[str, Any]) -> None:
    """Found by schemathesis: the title names the saved query the panel reads, whose rules refuse
    control characters — refused at the door with the field named, nothing written."""
    before = _count(rt, QuerySaved)
    r = client.post("/api/v1/dashboards/pin", headers=env["steward"], json={
        "sql": "SELECT 1 AS one", "title": "y\x19ú~p", "chart": "number"})
    assert r.status_code == 422 and "控制字符" in r.text and "title" in r.text
    r = client.post("/api/v1/dashboards/pin", headers=env["steward"], json={
        "sql": "SELECT 1 AS one", "title": "一", "chart": "number", "new_title": "看板\x00"})
    assert r.status_code == 422 and "new_title" in r.text
    assert _count(rt, QuerySaved) == before
