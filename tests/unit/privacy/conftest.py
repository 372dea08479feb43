"""Fixtures for privacy tests: a citizens resource with valid identifiers in department A,
a steward of A, a user of another department, the admin, and a managed key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from shudata.catalog.models import CatalogResource
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.privacy.synthdata import citizens

SYSTEM = Actor.system()
ADULT = Path(__file__).resolve().parents[2] / "data" / "adult"


def make_resource(code: str, alias: str, name: str, dept: int, columns: list[str]) -> CatalogResource:
    items = [{"name": c, "data_type": "C", "length": 50, "description": None} for c in columns]
    return CatalogResource(code=code, alias=alias, name=name, classification="基础", abstract=name,
                           provider_department_id=dept, format_category="数据库", format_type="parquet",
                           information_items=items, sharing_type=1, sharing_condition=None, sharing_method="接口",
                           open_type="不予开放", update_cycle="每月")


@dataclass
class World:
    dept_a: int
    steward: Actor
    outsider: Actor
    admin: Actor
    table: pa.Table


@pytest.fixture
def world(rt: Runtime, make_department: Callable[..., int], make_user: Callable[..., Actor]) -> World:
    from shudata.catalog.writes import write_version
    from shudata.privacy import keys

    dept_a = make_department("省公安厅")
    dept_b = make_department("省统计局")
    table = citizens(120, seed=7)
    w = World(dept_a=dept_a, steward=make_user("steward_a", Role.DATA_STEWARD, department_id=dept_a),
              outsider=make_user("user_b", Role.DEPT_USER, department_id=dept_b),
              admin=make_user("opsadmin", Role.PLATFORM_ADMIN), table=table)
    with rt.transaction() as s:
        res = make_resource("101001/000009", "citizens", "四川省居民信息", dept_a, table.schema.names)
        s.add(res)
        s.flush()
        write_version(session=s, settings=rt.settings, actor=SYSTEM, resource=res, batches_or_table=table,
                      source_name="citizens.parquet", source_format="parquet")
        keys.create(s, rt.settings, "k1", "tests", "system")
    return w
