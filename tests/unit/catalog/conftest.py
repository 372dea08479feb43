"""Catalog fixtures: two departments with a steward and a user each, and an entry factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from shudata.catalog import service
from shudata.catalog.schemas import ResourceCreate, ResourceRead
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime


@dataclass
class World:
    market: int  # 省市场监管局
    police: int  # 省公安厅
    admin: Actor
    steward: Actor  # steward of 省市场监管局
    other_steward: Actor  # steward of 省公安厅
    user: Actor  # department user of 省市场监管局


def actor(user_id: int, username: str, role: Role, department_id: int | None = None) -> Actor:
    """A principal for service-level tests (no account row: services only see the Actor)."""
    return Actor(user_id=user_id, username=username, department_id=department_id, roles=frozenset({role}))


@pytest.fixture
def world(make_department: Callable[..., int]) -> World:
    market = make_department("四川省市场监督管理局")
    police = make_department("四川省公安厅")
    return World(
        market=market, police=police,
        admin=actor(901, "admin", Role.PLATFORM_ADMIN),
        steward=actor(902, "sc_steward", Role.DATA_STEWARD, market),
        other_steward=actor(903, "ga_steward", Role.DATA_STEWARD, police),
        user=actor(904, "sc_user", Role.DEPT_USER, market),
    )


def entry_data(name: str = "四川省企业信用信息", **kw: Any) -> ResourceCreate:
    data: dict[str, Any] = {
        "name": name,
        "abstract": f"{name}，包括企业登记、许可和处罚信息。",
        "category_code": "302001",
        "information_items": [
            {"name": "统一社会信用代码", "data_type": "C", "length": 18},
            {"name": "企业名称", "data_type": "C", "length": 200},
            {"name": "成立日期", "data_type": "D"},
        ],
        "sharing": {"type": 1, "method": "接口"},
        "update_cycle": "每月",
    }
    data.update(kw)
    return ResourceCreate.model_validate(data)


@pytest.fixture
def add_entry(rt: Runtime) -> Callable[..., ResourceRead]:
    def add(actor: Actor, name: str = "四川省企业信用信息", **kw: Any) -> ResourceRead:
        with rt.transaction() as s:
            return service.register_resource(session=s, actor=actor, data=entry_data(name, **kw))

    return add
