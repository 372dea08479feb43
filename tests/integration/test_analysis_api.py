"""/api/v1/analysis over HTTP on SQLite and PostgreSQL, on the real GDP and population exports: define
indicators (a cycle is a 409 naming it), values with region and period filters, trace, recompute, the
alert log and its ack, subscriptions (a private webhook URL is a 422), publication-based visibility for
anonymous callers, and the audit trail of definition changes, recomputes and acks."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from shudata.analysis import service
from shudata.analysis.models import AnalysisIndicator, AnalysisValue
from shudata.audit.models import AuditEntry
from shudata.core.types import Actor, Role
from shudata.demo import loader
from shudata.demo.entries import ECONOMY_ENTRIES

GDP, POP = "201001/000001", "201001/000002"
UNPIVOT = ('SELECT "地区" AS region, period, value FROM (UNPIVOT "{code}" ON COLUMNS(* EXCLUDE ("地区")) '
           "INTO NAME period VALUE value)")


@pytest.fixture
def world(rt, make_department, make_user, token_for):
    tjj = make_department("省统计局")
    env = make_department("省生态环境厅")
    make_user("tjj_steward", Role.DATA_STEWARD, department_id=tjj)
    make_user("tjj_user", Role.DEPT_USER, department_id=tjj)
    make_user("sthj_steward", Role.DATA_STEWARD, department_id=env)
    for code in (GDP, POP):
        entry = next(e for e in ECONOMY_ENTRIES if e.code == code)
        with rt.transaction() as s:
            loader.ensure_entry(s, entry)
            service.declare_layout(s, Actor.system(), code, {"kind": "nbs"})
        loader.ensure_data(rt, entry)
    return {"steward": token_for("tjj_steward"), "user": token_for("tjj_user"), "other": token_for("sthj_steward")}


def _post(client, headers, body):
    return client.post("/api/v1/analysis/indicators", headers=headers, json=body)


def test_the_indicator_api_end_to_end(client, world, rt):
    st = world["steward"]
    assert _post(client, st, {"code": "ECO", "name": "经济运行", "definition": {"kind": "group"},
                              "publication": "open"}).status_code == 201
    r = _post(client, st, {"code": "GDP", "name": "地区生产总值", "unit": "亿元", "parent": "ECO",
                           "definition": {"kind": "sql", "sql": UNPIVOT.format(code=GDP)}, "publication": "open"})
    assert r.status_code == 201, r.text
    assert r.json()["level"] == 2 and r.json()["kind"] == "sql"
    assert _post(client, st, {"code": "POP", "name": "人口抽样调查人数", "unit": "人", "parent": "ECO",
                              "definition": {"kind": "series", "resource": POP, "indicator": "人口数(人口抽样调查)"},
                              "publication": "internal"}).status_code == 201
    assert _post(client, st, {"code": "GDP.SHARE", "name": "占比", "unit": "%", "parent": "GDP",
                              "definition": {"kind": "formula", "op": "share", "inputs": ["GDP"]},
                              "publication": "open"}).status_code == 201
    cyc = client.put("/api/v1/analysis/indicators/GDP", headers=st, json={
        "code": "GDP", "name": "地区生产总值", "definition": {"kind": "formula", "op": "yoy", "inputs": ["GDP.SHARE"]}})
    assert cyc.status_code == 409 and "循环依赖" in cyc.json()["error"]["message"]
    bad = _post(client, st, {"code": "X", "name": "X", "definition": {"kind": "formula", "op": "teleport",
                                                                     "inputs": ["GDP"]}})
    assert bad.status_code == 422

    r = client.post("/api/v1/analysis/recompute", headers=st)
    assert r.status_code == 403  # a steward recomputes their own indicators, not the platform's
    r = client.post("/api/v1/analysis/indicators/GDP/recompute", headers=st)
    assert r.status_code == 200 and r.json()["errors"] == [] and r.json()["indicators"] == ["GDP", "GDP.SHARE"]
    client.post("/api/v1/analysis/indicators/POP/recompute", headers=st)

    v = client.get("/api/v1/analysis/indicators/GDP/values", params={"region": "510000", "from": "2023", "to": "2024"})
    assert v.status_code == 200  # an open indicator: anonymous
    assert [(i["period"], i["value"]) for i in v.json()["items"]] == [("2023", 61353.4), ("2024", 64537.9)]
    assert v.json()["items"][0]["sources"][0]["version"] == 1
    share = client.get("/api/v1/analysis/indicators/GDP.SHARE/values", params={"from": "2024", "to": "2024"}).json()
    assert sum(i["value"] for i in share["items"]) == pytest.approx(100.0)

    tree = client.get("/api/v1/analysis/indicators").json()
    assert [i["code"] for i in tree] == ["ECO"] and [c["code"] for c in tree[0]["children"]] == ["GDP"]
    assert client.get("/api/v1/analysis/indicators/POP").status_code == 404  # internal: not for the anonymous
    mine = client.get("/api/v1/analysis/indicators", headers=world["user"]).json()
    assert {c["code"] for c in mine[0]["children"]} == {"GDP", "POP"}
    assert client.get("/api/v1/analysis/indicators/POP/values", headers=world["other"]).status_code == 404

    tr = client.get("/api/v1/analysis/indicators/GDP/trace", params={"region": "510000", "period": "2024"}).json()
    assert tr["sources"][0]["code"] == GDP and tr["value"] == 64537.9
    series = client.get("/api/v1/analysis/indicators/GDP/series", params={"region": "510000"}).json()
    assert series["periods"][-1] == "2024" and series["yoy"][-1] == pytest.approx((64537.9 / 61353.4 - 1) * 100)
    assert series["forecast"] is not None and len(series["forecast"]["lower"]) == 3

    rule = client.post("/api/v1/analysis/indicators/GDP/rules", headers=st, json={
        "name": "四川地区生产总值高于 6 万亿", "kind": "level", "params": {"op": ">", "value": 60000,
                                                                  "region_code": "510000"}})
    assert rule.status_code == 201
    assert client.post("/api/v1/analysis/indicators/GDP/rules", headers=st, json={
        "name": "坏规则", "kind": "level", "params": {"op": "≈"}}).status_code == 422
    hook = client.post("/api/v1/analysis/subscriptions", headers=world["user"],
                       json={"channel": "webhook", "url": "http://127.0.0.1:9/hook"})
    assert hook.status_code == 422 and "内网" in hook.json()["error"]["message"]
    sub = client.post("/api/v1/analysis/subscriptions", headers=world["user"], json={"indicator": "GDP"})
    assert sub.status_code == 201
    # the rule runs on the periods of a recompute that changes something: a second version with a new figure
    with rt.transaction() as s:
        ind = s.scalar(select(AnalysisIndicator).where(AnalysisIndicator.code == "GDP"))
        row = s.scalar(select(AnalysisValue).where(AnalysisValue.indicator_id == ind.id,
                                                   AnalysisValue.region_code == "510000",
                                                   AnalysisValue.period == "2024"))
        row.value = 1.0  # as if the stored value were stale: the next recompute changes it back
    client.post("/api/v1/analysis/indicators/GDP/recompute", headers=st)
    alerts = client.get("/api/v1/analysis/alerts", headers=world["user"], params={"open": True}).json()
    assert alerts["total"] == 1 and alerts["items"][0]["region_code"] == "510000"
    aid = alerts["items"][0]["id"]
    notes = client.get("/api/v1/analysis/notices", headers=world["user"], params={"unread": True}).json()
    assert [n["alert"]["id"] for n in notes] == [aid]
    assert client.post(f"/api/v1/analysis/alerts/{aid}/ack", headers=world["other"]).status_code == 403
    ack = client.post(f"/api/v1/analysis/alerts/{aid}/ack", headers=world["user"], json={"comment": "知悉"})
    assert ack.status_code == 200 and ack.json()["acknowledged_by"] == "tjj_user"
    assert client.post(f"/api/v1/analysis/alerts/{aid}/ack", headers=world["user"]).status_code == 409

    with rt.transaction() as s:
        actions = set(s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("analysis.%"))))
    assert {"analysis.indicator.create", "analysis.indicator.recompute", "analysis.rule.create",
            "analysis.alert.ack", "analysis.subscription.create", "analysis.layout.declare"} <= actions
