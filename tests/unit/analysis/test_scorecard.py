"""The assessment scorecard (评估考核): every figure from the real tables — changing the data moves
the scores — weights from the setting (validated), ranking, city nodes, trend, the XLSX layout, and
who may read it."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pyarrow as pa
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from shudata.analysis import scorecard
from shudata.catalog.models import CatalogDemand, CatalogResource
from shudata.core.clock import utcnow
from shudata.core.errors import InvalidInput, PermissionDenied
from shudata.core.types import Actor, Role
from shudata.portal.models import PortalDataset, PortalUsage
from shudata.sharing.models import SharingRequest
from support.sharing import world

__all__ = ["world"]
SYSTEM = Actor.system()
YEAR = utcnow().year


def _card(rt: Any, actor: Actor = SYSTEM, **kw: Any) -> scorecard.Scorecard:
    with rt.transaction() as s:
        return scorecard.compute(session=s, settings=rt.settings, actor=actor, year=kw.pop("year", YEAR), **kw)


def _unit(card: scorecard.Scorecard, code: int | str) -> scorecard.UnitScore:
    return next(u for u in card.units if u.code == str(code))


def _request(resource_id: int, provider: int, consumer: int, submitted: dt.datetime, decided: dt.datetime | None,
             due: dt.date) -> SharingRequest:
    return SharingRequest(resource_id=resource_id, provider_department_id=provider, requester_department_id=consumer,
                          requester="c_user", fields=[], purpose="监管", basis="依据", use_from=submitted.date(),
                          use_until=submitted.date() + dt.timedelta(days=300), delivery_method="api",
                          sharing_type=2, status="approved" if decided else "pending", submitted_at=submitted,
                          due_date=due, decided_at=decided)


def test_each_criterion_moves_with_the_data(rt: Any, world: Any) -> None:
    from shudata.catalog.writes import write_version

    before = _unit(_card(rt), world.provider)
    assert before.figures["entries"] == 3 and before.figures["entries_complete"] == 0
    assert before.scores["completeness"] == 0.0 and before.scores["freshness"] == 0.0
    assert before.scores["responsiveness"] is None and before.scores["openness"] is None  # 不予开放 only
    with rt.transaction() as s:
        res = s.scalars(select(CatalogResource).where(CatalogResource.provider_department_id == world.provider)
                        .order_by(CatalogResource.code)).all()
        res[0].category_path = "经济/市场主体"
        res[0].publish_date = dt.date(YEAR, 1, 2)
        res[0].information_items = [{**i, "description": "说明"} for i in res[0].information_items]
        res[0].open_type = "无条件开放"
        write_version(session=s, settings=rt.settings, actor=SYSTEM, resource=res[0],
                      batches_or_table=pa.table({"统一社会信用代码": ["91510100MA6CB8AG5D"]}),
                      source_name="a.csv", source_format="csv")
        ids = [r.id for r in res]
    after = _unit(_card(rt), world.provider)
    assert after.figures["entries_complete"] == 1 and after.figures["items_described"] == 5
    assert after.scores["completeness"] == pytest.approx(100 * (0.6 / 3 + 0.4 * 5 / 15), abs=0.01)
    assert after.scores["freshness"] == pytest.approx(100 / 3, abs=0.01)
    assert after.scores["openness"] == 0.0 and after.figures["entries_openable"] == 1

    # sharing: two answered requests (1 and 5 working days after a Monday), one of them past its due date
    now = utcnow()
    monday = (now - dt.timedelta(days=now.weekday() + 21)).replace(hour=9)
    if monday.year != YEAR:
        pytest.skip("the first weeks of a year: the requests would fall in the year before")
    with rt.transaction() as s:
        s.add_all([_request(ids[1], world.provider, world.consumer, monday, monday + dt.timedelta(days=1),
                            (monday + dt.timedelta(days=10)).date()),
                   _request(ids[1], world.provider, world.consumer, monday, monday + dt.timedelta(days=7),
                            (monday + dt.timedelta(days=3)).date())])
        s.add(PortalDataset(resource_id=ids[0], name="201001-000001", status="published", version=1, theme="经济",
                            first_published_at=now - dt.timedelta(days=1), downloads=7))
        s.add(PortalUsage(day=now.date(), resource_id=ids[0], kind="download", count=7))
        s.add(CatalogDemand(department_id=world.consumer, title="企业信用", status="matched", resource_id=ids[0],
                            linked_by="p_steward", linked_at=now - dt.timedelta(hours=1), created_by="c_user"))
    card = _card(rt)
    moved = _unit(card, world.provider)
    assert moved.figures["sharing_requests"] == 2 and moved.figures["sharing_overdue"] == 1
    assert moved.figures["sharing_median_days"] is not None
    assert moved.scores["responsiveness"] is not None and moved.scores["responsiveness"] < 100
    assert moved.scores["openness"] == 100.0 and moved.figures["open_downloads"] == 7
    assert moved.scores["demand"] == 100.0 and moved.figures["demands_matched"] == 1
    assert moved.total > after.total
    assert moved.rank == 1 and _unit(card, world.consumer).rank == 2


def test_weights_are_validated_and_change_the_total(rt: Any, world: Any, monkeypatch: Any) -> None:
    for bad, words in (("{", "JSON"), ('{"completeness": 1}', "缺少"), ("[1]", "JSON 对象"),
                       ('{"completeness": -1, "freshness": 1, "responsiveness": 1, "quality": 1, "openness": 1, '
                        '"demand": 1}', "不小于 0"),
                       ('{"completeness": 0, "freshness": 0, "responsiveness": 0, "quality": 0, "openness": 0, '
                        '"demand": 0, "x": 1}', "未知指标")):
        with pytest.raises(InvalidInput) as exc:
            scorecard.parse_weights(bad)
        assert words in exc.value.zh and scorecard.SETTING in exc.value.zh
    only_completeness = ('{"completeness": 1, "freshness": 0, "responsiveness": 0, "quality": 0, "openness": 0, '
                         '"demand": 0}')
    with rt.transaction() as s:
        r = s.scalars(select(CatalogResource).where(CatalogResource.provider_department_id == world.provider)).first()
        r.category_path, r.publish_date = "经济", dt.date(YEAR, 1, 2)
    monkeypatch.setattr(rt.settings, "scorecard_weights", only_completeness)
    card = _card(rt)
    assert card.weights["completeness"] == 100.0
    assert _unit(card, world.provider).total == _unit(card, world.provider).scores["completeness"] == 20.0


def test_city_nodes_gather_their_departments(rt: Any, make_department: Any) -> None:
    chengdu_a = make_department("成都市数据局", region_code="510100")
    chengdu_b = make_department("成都市统计局", region_code="510104")
    province = make_department("四川省统计局", region_code="510000")
    with rt.transaction() as s:
        for i, dept in enumerate((chengdu_a, chengdu_b, province)):
            s.add(CatalogResource(code=f"301001/00000{i}", name=f"资源{i}", classification="基础", abstract="摘要",
                                  provider_department_id=dept, format_category="数据库", format_type="csv",
                                  information_items=[{"name": "a", "data_type": "C"}], sharing_type=1,
                                  sharing_method="接口", open_type="无条件开放", update_cycle="每年"))
    card = _card(rt, level="city")
    names = {u.code: u for u in card.units}
    assert set(names) == {"510100", "510000"}
    assert names["510100"].figures["entries"] == 2 and names["510000"].figures["entries"] == 1
    assert names["510100"].name == "成都市" and names["510000"].name.startswith("省本级")


def test_trend_xlsx_and_permissions(rt: Any, world: Any, make_user: Any) -> None:
    auditor = make_user("assessor", Role.AUDITOR, department_id=world.consumer)
    card = _card(rt, actor=auditor)
    with rt.transaction() as s:
        data = scorecard.to_xlsx(card, session=s, actor=auditor)
        t = scorecard.trend(session=s, settings=rt.settings, actor=auditor, year=YEAR)
    assert t["quarters"][0] == f"{YEAR}Q1" and {u["code"] for u in t["units"]} >= {str(world.provider)}
    assert all(len(u["totals"]) == len(t["quarters"]) for u in t["units"])
    wb = load_workbook(io.BytesIO(data))
    ws = wb["计分表"]
    assert "评估考核计分表" in ws["A1"].value
    header = [c.value for c in ws[3]]
    assert header[:2] == ["序号", "单位"] and "总分" in header and "排名" in header
    assert "目录完整性（20分）" in header and "需求满足（10分）" in header
    names = {ws.cell(row=r, column=2).value for r in range(4, 4 + len(card.units))}
    assert {"省市场监管局", "省税务局"} <= names
    notes = " ".join(str(c.value) for row in ws.iter_rows(min_row=4 + len(card.units)) for c in row if c.value)
    assert "说明" in notes and "工作日" in notes and scorecard.SETTING in notes
    assert "原始数据" in wb.sheetnames
    for who in (world.steward, world.user):
        with pytest.raises(PermissionDenied):
            _card(rt, actor=who)
    with pytest.raises(InvalidInput):
        _card(rt, quarter=5)


def test_the_api_answers_the_operator_and_refuses_others(client: Any, world: Any, token_for: Any,
                                                         make_user: Any) -> None:
    make_user("assessor2", Role.AUDITOR)
    r = client.get("/api/v1/scorecard?level=city", headers=token_for("assessor2"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["level"] == "city" and [c["key"] for c in body["criteria"]] == list(scorecard.KEYS)
    assert sum(c["weight"] for c in body["criteria"]) == pytest.approx(100)
    x = client.get(f"/api/v1/scorecard/export.xlsx?year={YEAR}&quarter=1", headers=token_for("opsadmin"))
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert load_workbook(io.BytesIO(x.content))["计分表"]["A1"].value.startswith(f"{YEAR}年第1季度")
    assert client.get("/api/v1/scorecard/trend", headers=token_for("c_user")).status_code == 403
    assert client.get("/api/v1/scorecard").status_code == 401
    assert client.get("/api/v1/scorecard?quarter=7", headers=token_for("opsadmin")).status_code == 422
