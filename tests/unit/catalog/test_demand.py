"""Demand list: record, suggestions, linking with status, permissions; sharing list; XLSX exports."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from shudata.catalog import demand, sharing_list
from shudata.catalog.base_registries import create_from_template, list_templates
from shudata.catalog.schemas import DemandCreate, DemandLink, DemandStatus
from shudata.core.errors import PermissionDenied


@pytest.fixture
def catalog(world, add_entry):
    return {
        "credit": add_entry(world.steward, "四川省企业信用信息"),
        "food": add_entry(world.steward, "四川省食品生产许可信息", abstract="食品生产许可证。",
                          information_items=[{"name": "许可证编号", "data_type": "C"}]),
        "secret": add_entry(world.steward, "=HYPERLINK(\"http://x\")企业内部名单",
                            sharing={"type": 3, "condition": "《保守国家秘密法》", "method": "接口"}),
    }


def new_demand(rt, actor, **kw):
    data = {"title": "企业信用数据", "description": "办理招投标时核查企业信用",
            "wanted_fields": ["统一社会信用代码", "企业名称"], "purpose": "招投标监管", **kw}
    with rt.transaction() as s:
        return demand.create_demand(session=s, actor=actor, data=DemandCreate.model_validate(data))


def test_demand_suggestions_and_link(rt, world, catalog):
    d = new_demand(rt, world.other_steward)
    assert d.status == DemandStatus.OPEN and d.department_name == "四川省公安厅"
    with rt.transaction() as s:
        hits = demand.suggest(session=s, actor=world.other_steward, demand_id=d.id)
    assert hits[0].resource.code == catalog["credit"].code
    with rt.transaction() as s:
        linked = demand.link_demand(session=s, actor=world.other_steward, demand_id=d.id,
                                    data=DemandLink(resource_code=catalog["credit"].code))
    assert linked.status == DemandStatus.MATCHED and linked.resource_name == "四川省企业信用信息"
    with rt.transaction() as s:
        closed = demand.link_demand(session=s, actor=world.steward, demand_id=d.id, data=DemandLink(close=True))
        assert closed.status == DemandStatus.CLOSED
        assert [x.id for x in demand.list_demands(session=s, actor=world.user, status=DemandStatus.CLOSED)] == [d.id]


def test_link_denied_to_users_and_unrelated_stewards(rt, world, catalog, make_department):
    from tests.unit.catalog.conftest import actor

    from shudata.core.types import Role

    d = new_demand(rt, world.user)  # a department user of 市场监管 may record demands
    outsider = actor(990, "outsider", Role.DATA_STEWARD, make_department("四川省交通运输厅"))
    for who in (world.user, outsider):
        with rt.transaction() as s, pytest.raises(PermissionDenied):
            demand.link_demand(session=s, actor=who, demand_id=d.id,
                               data=DemandLink(resource_code=catalog["food"].code))


def test_sharing_list_excludes_not_shared_and_exports_safely(rt, world, catalog):
    new_demand(rt, world.other_steward, title="=cmd|' /C calc'!A0")
    with rt.transaction() as s:
        rows = sharing_list.sharing_list(session=s, actor=world.user, department_id=world.market)
        sheet = sharing_list.export_sharing_list(session=s, actor=world.user, department_id=world.market)
        dem = demand.export_demands(session=s, actor=world.user)
    assert {r.code for r in rows} == {catalog["credit"].code, catalog["food"].code}
    ws = load_workbook(io.BytesIO(sheet)).active
    assert [c.value for c in ws[1]][:4] == ["资源代码", "资源名称", "提供方", "共享类型"]
    assert ws.cell(2, 4).value == "无条件共享"
    dws = load_workbook(io.BytesIO(dem)).active
    assert dws.cell(2, 3).value == "'=cmd|' /C calc'!A0"


def test_templates_have_standard_items_and_create_entries(rt, world):
    names = {t.key: [i.name for i in t.information_items] for t in list_templates()}
    assert set(names) == {"人口", "法人", "自然资源和地理空间", "社会信用"}
    assert names["人口"][:2] == ["公民身份号码", "姓名"]
    assert {"统一社会信用代码", "法定代表人", "注册资本"} <= set(names["法人"])
    assert {"信用类型", "决定文书号", "决定机关"} <= set(names["社会信用"])
    with rt.transaction() as s:
        r = create_from_template(session=s, actor=world.other_steward, key="人口", name="四川省人口基础信息")
    assert r.code == "101001/000001" and r.base_registry == "人口" and r.classification == "基础"
    assert r.information_items[0].length == 18
