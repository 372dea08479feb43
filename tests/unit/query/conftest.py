"""Fixtures for query tests: small Parquet tables, a DuckDB engine, and a catalog with
lake versions (two departments, users in each, resources with Chinese names and columns).

The ``settings`` fixture is overridden with a short statement time limit and a small row
cap, so that bombs are stopped quickly and caps are easy to reach.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shudata.catalog.models import CatalogResource
from shudata.core.config import Settings
from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.query.engines.base import TableSource
from shudata.query.engines.duckdb import DuckDBEngine
from support import snapshots

SYSTEM = Actor.system()

PEOPLE_V1 = pa.table({
    "姓名": ["张三", "李四", "王五"],
    "身份证号": ["510104199001011234", "510105198502023456", "510106197703035678"],
    "城市": ["成都", "绵阳", "成都"],
    "年龄": [34, 39, 47],
})
PEOPLE_V2 = pa.table({
    "姓名": ["张三", "李四", "王五", "赵六"],
    "身份证号": ["510104199001011234", "510105198502023456", "510106197703035678", "510107200004047890"],
    "城市": ["成都", "绵阳", "成都", "德阳"],
    "年龄": [35, 40, 48, 24],
})
ENTERPRISES = pa.table({
    "统一社会信用代码": ["91510100MA6CB8AG5D", "91510700MA62X3K94Q", "91510100MA61R1YY0Q"],
    "机构名称": ["成都蜀数科技有限公司", "绵阳长虹配套厂", "成都天府数据公司"],
    "城市": ["成都", "绵阳", "成都"],
    "注册资本": [1000.0, 500.0, 2000.0],
})
CASES = pa.table({"案件编号": ["A1", "A2"], "当事人": ["张三", "李四"]})


def query_settings(data_dir: Path, db_url: str) -> Settings:
    return Settings(env="test", data_dir=data_dir, database_url=db_url, query_timeout_s=1.0,
                    query_max_rows=50, page_size_max=20, duckdb_threads=1, duckdb_memory_limit="512MB")


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return query_settings(tmp_path / "data", db_url)


@pytest.fixture
def engine() -> DuckDBEngine:
    return DuckDBEngine(threads=1, memory_limit="512MB")


@pytest.fixture
def parquet_tables(tmp_path: Path) -> dict[str, TableSource]:
    """``people`` and ``orders`` as plain Parquet files (no catalog, no lake)."""
    people = tmp_path / "people.parquet"
    pq.write_table(PEOPLE_V2, people)
    orders = tmp_path / "orders.parquet"
    pq.write_table(pa.table({"姓名": ["张三", "张三", "李四"], "金额": [10.5, 20.0, 7.25]}), orders)
    return {"src_people": TableSource("src_people", [people]), "src_orders": TableSource("src_orders", [orders])}


def _resource(code: str, alias: str, name: str, dept: int, columns: list[str]) -> CatalogResource:
    items = [{"name": c, "data_type": "C", "length": 50, "description": None} for c in columns]
    return CatalogResource(code=code, alias=alias, name=name, classification="基础", abstract=name,
                           provider_department_id=dept, format_category="数据库", format_type="parquet",
                           information_items=items, sharing_type=1, sharing_condition=None, sharing_method="接口",
                           open_type="不予开放", update_cycle="每月")


@dataclass
class World:
    """Departments A (人口/企业) and B (公安), a user in each, an admin."""

    dept_a: int
    dept_b: int
    a_user: Actor
    b_user: Actor
    admin: Actor


def build_world(rt: Runtime, make_department: Callable[..., int], make_user: Callable[..., Actor],
                _tmp: Path | None = None) -> World:
    """Two departments, a user in each, an admin; four entries, three of them with lake versions."""
    from shudata.catalog.writes import write_version

    dept_a = make_department("省统计局")
    dept_b = make_department("省公安厅")
    w = World(dept_a=dept_a, dept_b=dept_b, a_user=make_user("a_user", Role.DEPT_USER, department_id=dept_a),
              b_user=make_user("b_user", Role.DEPT_USER, department_id=dept_b),
              admin=make_user("opsadmin", Role.PLATFORM_ADMIN))
    with rt.transaction() as s:
        people = _resource("101001/000001", "people", "四川省人口基础信息", dept_a, PEOPLE_V1.schema.names)
        firms = _resource("201001/000001", "enterprise_credit", "四川省企业信用信息", dept_a,
                          ENTERPRISES.schema.names)
        cases = _resource("301001/000001", "police_cases", "案件信息", dept_b, CASES.schema.names)
        empty = _resource("101001/000009", "not_uploaded", "尚未上传的资源", dept_a, ["列"])
        s.add_all([people, firms, cases, empty])
        s.flush()
        for res, table in ((people, PEOPLE_V1), (people, PEOPLE_V2), (firms, ENTERPRISES), (cases, CASES)):
            write_version(session=s, settings=rt.settings, actor=SYSTEM, resource=res, batches_or_table=table,
                          source_name="test.parquet", source_format="parquet")
    return w


@pytest.fixture
def world(rt: Runtime, make_department: Callable[..., int], make_user: Callable[..., Actor],
          request: pytest.FixtureRequest) -> World:
    """:func:`build_world`, built once per session and backend and copied into the test's store
    (support.snapshots)."""
    restored: World | None = snapshots.restored(request, "query_world")
    return restored or build_world(rt, make_department, make_user)


snapshots.register("world", world, build_world, key="query_world", settings=(settings, query_settings),
                   restore=lambda w, _tmp: replace(w))  # a copy: a test may change its own
