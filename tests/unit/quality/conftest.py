"""Quality fixtures: the real test files as Arrow tables, an engine, region lookups, and a
catalog entry with data versions for service tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pytest
import xlrd

from shudata.core.types import Actor, Role
from shudata.db.runtime import Runtime
from shudata.quality.reference import region_sources
from shudata.quality.run import Target
from shudata.query.engines.base import TableSource
from shudata.query.engines.duckdb import DuckDBEngine

DATA = Path(__file__).resolve().parents[2] / "data" / "quality"


def _text(v: Any) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _table(header: list[str], rows: list[list[Any]]) -> pa.Table:
    cols = {h: pa.array([_text(r[i]) for r in rows], pa.string()) for i, h in enumerate(header)}
    return pa.table(cols)


@pytest.fixture(scope="session")
def scenic() -> pa.Table:
    """四川省A级旅游景区名录: 819 rows, every cell as text."""
    wb = openpyxl.load_workbook(DATA / "sichuan_a_grade_scenic_areas.xlsx", read_only=True)
    rows = [list(r) for r in wb.active.iter_rows(values_only=True)]
    return _table([str(h) for h in rows[0]], rows[1:])


@pytest.fixture(scope="session")
def moe() -> pa.Table:
    """全国普通高等学校名单 below its header row: 31 section rows + 2631 institutions."""
    sheet = xlrd.open_workbook(DATA / "moe_higher_education_institutions_2017.xls").sheet_by_index(0)
    rows = [sheet.row_values(i) for i in range(sheet.nrows)]
    return _table([str(h) for h in rows[2]], rows[3:])


@pytest.fixture(scope="session")
def engine() -> DuckDBEngine:
    return DuckDBEngine(threads=1, memory_limit="512MB")


@pytest.fixture(scope="session")
def lookups(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TableSource]:
    return region_sources(tmp_path_factory.mktemp("ref"))


@pytest.fixture
def stage(tmp_path: Path) -> Callable[[pa.Table, str], Target]:
    """Write an Arrow table to Parquet and return it as a check target."""
    import pyarrow.parquet as pq

    def make(table: pa.Table, name: str = "t") -> Target:
        path = tmp_path / f"{name}.parquet"
        pq.write_table(table, path)
        return Target.from_parquet(name, [path])

    return make


@dataclass
class World:
    rt: Runtime
    dept: int
    other_dept: int
    steward: Actor
    user: Actor
    outsider: Actor


@pytest.fixture
def world(rt: Runtime, make_department: Callable[..., int], make_user: Callable[..., Actor]) -> World:
    d1, d2 = make_department("四川省文化和旅游厅"), make_department("四川省教育厅")
    return World(rt, d1, d2, make_user("steward1", Role.DATA_STEWARD, department_id=d1),
                 make_user("user1", Role.DEPT_USER, department_id=d1),
                 make_user("steward2", Role.DATA_STEWARD, department_id=d2))


@pytest.fixture
def add_resource(rt: Runtime) -> Callable[..., str]:
    """Insert a catalog entry (directly, through the committed model) and return its code."""
    from shudata.catalog.models import CatalogResource

    counter = iter(range(1, 1000))

    def add(dept: int, name: str, items: list[str], alias: str | None = None, cycle: str = "每月") -> str:
        n = next(counter)
        with rt.transaction() as s:
            res = CatalogResource(
                code=f"302001/{n:06d}", alias=alias, name=name, classification="部门", abstract=name,
                provider_department_id=dept, format_category="电子表格", format_type="xlsx",
                information_items=[{"name": i, "data_type": "C"} for i in items], sharing_type=1,
                sharing_method="接口", open_type="不予开放", update_cycle=cycle)
            s.add(res)
            s.flush()
            return res.code

    return add


@pytest.fixture
def add_version(rt: Runtime) -> Callable[[str, pa.Table], int]:
    """Write ``table`` as the next lake version of an entry; return the version number."""
    from shudata.catalog.access import find_resource
    from shudata.catalog.writes import write_version

    def add(code: str, table: pa.Table) -> int:
        with rt.transaction() as s:
            res = find_resource(s, code)
            v = write_version(session=s, settings=rt.settings, actor=Actor.system(), resource=res,
                              batches_or_table=table, source_name="test.xlsx", source_format="xlsx")
            return v.version

    return add


SCENIC_COLUMNS = ["序号", "名称", "所在市州", "所在区县", "等级", "地址", "经度", "纬度"]


@pytest.fixture
def ingested(world: World, add_resource: Callable[..., str]) -> str:
    """The real scenic-area file ingested with one blocking rule (rows without a county are quarantined)."""
    from shudata.jobs.ingest import ingest_file
    from shudata.quality import service

    code = add_resource(world.dept, "四川省A级旅游景区名录", SCENIC_COLUMNS)
    with world.rt.transaction() as s:
        service.save_rule_set(session=s, actor=world.steward, resource=code,
                              spec=[{"type": "not_null", "column": "所在区县", "severity": "block"}])
    with world.rt.transaction() as s:
        ingest_file(session=s, settings=world.rt.settings, actor=world.steward, resource_code=code,
                    path=DATA / "sichuan_a_grade_scenic_areas.xlsx")
    return code
