"""Sharing fixtures (imported by the sharing conftests): two departments, stewards, a user, three resources."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shudata.catalog.models import CatalogResource
from shudata.core.types import Actor, Role

ITEMS = [{"name": n, "data_type": "C", "length": 50, "description": None}
         for n in ("统一社会信用代码", "机构名称", "法定代表人", "注册资本", "联系电话")]


@dataclass
class World:
    provider: int
    consumer: int
    steward: Actor
    other_steward: Actor
    user: Actor
    admin: Actor


def _resource(code: str, name: str, dept: int, sharing_type: int, condition: str | None) -> CatalogResource:
    return CatalogResource(code=code, name=name, classification="基础", abstract=name, provider_department_id=dept,
                           format_category="数据库", format_type="csv", information_items=ITEMS,
                           sharing_type=sharing_type, sharing_condition=condition, sharing_method="接口",
                           open_type="不予开放", update_cycle="每月")


@pytest.fixture
def world(rt, make_department, make_user) -> World:
    provider = make_department("省市场监管局")
    consumer = make_department("省税务局")
    w = World(provider=provider, consumer=consumer,
              steward=make_user("p_steward", Role.DATA_STEWARD, department_id=provider),
              other_steward=make_user("c_steward", Role.DATA_STEWARD, department_id=consumer),
              user=make_user("c_user", Role.DEPT_USER, department_id=consumer),
              admin=make_user("opsadmin", Role.PLATFORM_ADMIN))
    with rt.transaction() as s:
        s.add_all([
            _resource("201001/000001", "四川省企业信用信息", provider, 1, None),
            _resource("201001/000002", "企业登记详细信息", provider, 2, "仅限税收征管使用"),
            _resource("201001/000003", "涉密企业名录", provider, 3, "《中华人民共和国保守国家秘密法》"),
        ])
    return w
