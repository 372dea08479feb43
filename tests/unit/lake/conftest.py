"""Lake fixtures: two departments (统计局 with a steward and a user, 公安厅 with a steward),
catalog entries for the real NBS files, a generic people entry, and file builders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shudata.catalog.schemas import ResourceCreate
from shudata.catalog.service import register_resource
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime

REAL = Path(__file__).resolve().parents[2] / "data" / "ingest" / "real"
YEARS = [f"{y}年" for y in range(2024, 2005, -1)]

GDP_ITEMS = [{"name": "地区", "data_type": "C", "length": 20}] + [{"name": y, "data_type": "N"} for y in YEARS]
PEOPLE_ITEMS = [
    {"name": "姓名", "data_type": "C", "length": 10},
    {"name": "城市", "data_type": "C", "length": 20},
    {"name": "年龄", "data_type": "I"},
    {"name": "登记日期", "data_type": "D"},
]


@dataclass
class World:
    stats: int  # 省统计局
    police: int  # 省公安厅
    steward: Actor  # steward of 省统计局
    user: Actor  # department user of 省统计局
    other_steward: Actor  # steward of 省公安厅
    gdp: str  # entry code: 分省地区生产总值 (items of the NBS file)
    people: str  # entry code: 人员名单 (姓名/城市/年龄/登记日期)
    blank: str  # entry code without information items


def _entry(rt: Runtime, actor: Actor, code: str, name: str, items: list[dict[str, Any]]) -> str:
    data = ResourceCreate.model_validate({
        "code": code, "name": name, "abstract": f"{name}（测试）", "information_items": items,
        "sharing": {"type": 1, "method": "接口"}, "update_cycle": "每年"})
    with rt.transaction() as s:
        return register_resource(session=s, actor=actor, data=data).code


def _actor(user_id: int, name: str, role: Role, dept: int) -> Actor:
    """Service-level actors need no account row (and no slow password hash)."""
    return Actor(user_id=user_id, username=name, department_id=dept, roles=frozenset({role}))


@pytest.fixture
def world(rt: Runtime, make_department: Callable[..., int]) -> World:
    stats = make_department("四川省统计局")
    police = make_department("四川省公安厅")
    steward = _actor(9001, "tj_steward", Role.DATA_STEWARD, stats)
    return World(
        stats=stats, police=police, steward=steward,
        user=_actor(9002, "tj_user", Role.DEPT_USER, stats),
        other_steward=_actor(9003, "ga_steward", Role.DATA_STEWARD, police),
        gdp=_entry(rt, steward, "201001/000001", "分省地区生产总值", GDP_ITEMS),
        people=_entry(rt, steward, "201001/000002", "人员名单", PEOPLE_ITEMS),
        blank=_entry(rt, steward, "201001/000003", "待定资源", []),
    )


def _people_csv(rows: int = 3, encoding: str = "utf-8") -> bytes:
    lines = ["姓名,城市,年龄,登记日期"]
    cities = ["成都市", "绵阳市", "德阳市"]
    for i in range(rows):
        lines.append(f"张{i},{cities[i % 3]},{20 + i % 60},2023-01-{1 + i % 28:02d}")
    return ("\n".join(lines) + "\n").encode(encoding)


@pytest.fixture
def people_csv() -> Callable[..., bytes]:
    """``people_csv(rows=3, encoding="utf-8")``: a small CSV matching PEOPLE_ITEMS."""
    return _people_csv


@pytest.fixture
def real() -> Path:
    """The folder of real NBS/MOE files (with PROVENANCE.md)."""
    return REAL


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, bytes], Path]:
    def write(name: str, data: bytes) -> Path:
        p = tmp_path / "in" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        return p

    return write


@dataclass
class ApiWorld:
    """Real accounts with API tokens over the same entries as ``world``."""

    world: World
    steward: dict[str, str]  # headers of 统计局's steward
    user: dict[str, str]  # headers of 统计局's department user
    other: dict[str, str]  # headers of 公安厅's steward


@pytest.fixture
def api(rt: Runtime, make_department: Callable[..., int], make_user: Callable[..., Actor],
        token_for: Callable[..., dict[str, str]]) -> ApiWorld:
    stats = make_department("四川省统计局")
    police = make_department("四川省公安厅")
    steward = make_user("tj_steward", Role.DATA_STEWARD, department_id=stats)
    make_user("tj_user", Role.DEPT_USER, department_id=stats)
    other = make_user("ga_steward", Role.DATA_STEWARD, department_id=police)
    w = World(stats=stats, police=police, steward=steward, user=steward, other_steward=other,
              gdp=_entry(rt, steward, "201001/000001", "分省地区生产总值", GDP_ITEMS),
              people=_entry(rt, steward, "201001/000002", "人员名单", PEOPLE_ITEMS),
              blank=_entry(rt, steward, "201001/000003", "待定资源", []))
    return ApiWorld(world=w, steward=token_for("tj_steward"), user=token_for("tj_user"), other=token_for("ga_steward"))
