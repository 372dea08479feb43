"""0003 → 0004 (query_saved, query_history) on a store holding data: departments, accounts,
catalog entries and the audit trail stay; saved queries and history can be written and read
through the workbench services; the downgrade removes only the new tables."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import MetaData, create_engine, inspect, select
from sqlalchemy.orm import Session

from shudata.db.migrate import downgrade, upgrade
from support.migrations import NOW
from support.migrations import old_row as _row


def _seed_0003(engine: sa.Engine) -> None:
    """What the demo leaves in a store: a department, two of its users, an entry with a data version."""
    meta = MetaData()
    meta.reflect(engine)
    assert "query_saved" not in meta.tables and "privacy_column_review" in meta.tables  # really 0003
    items = [{"name": c, "data_type": "C", "length": 50, "description": None} for c in ("地区", "地区生产总值")]
    with engine.begin() as conn:
        conn.execute(meta.tables["security_department"].insert().values(
            _row(meta.tables["security_department"], id=1, name="四川省统计局", created_at=NOW)))
        for uid, name in ((1, "tj_steward"), (2, "tj_user")):
            conn.execute(meta.tables["security_user"].insert().values(_row(
                meta.tables["security_user"], id=uid, username=name, display_name=name, department_id=1,
                roles=["dept_user"], is_active=True, created_at=NOW)))
        conn.execute(meta.tables["catalog_resource"].insert().values(_row(
            meta.tables["catalog_resource"], id=1, code="201001/000001", alias="gdp", name="四川省各市州主要经济指标",
            provider_department_id=1, information_items=items, sharing_type=1, is_deleted=False, created_at=NOW,
            updated_at=NOW)))
        conn.execute(meta.tables["lake_version"].insert().values(_row(
            meta.tables["lake_version"], id=1, resource_id=1, version=1, rows=21,
            columns=[{"name": "地区", "type": "string"}, {"name": "地区生产总值", "type": "double"}],
            source_name="gdp.csv", source_format="csv", storage_path="201001-000001/v1", created_by="tj_steward",
            created_at=NOW)))


def test_upgrade_from_0003_keeps_the_data_and_the_workbench_tables_work(db_url: str) -> None:
    from shudata.catalog.models import CatalogResource
    from shudata.core.types import Actor, Role
    from shudata.lake.models import LakeVersion
    from shudata.query.models import QueryHistory
    from shudata.query.saved import create_saved, list_history, list_saved
    from shudata.query.workbench_schemas import SavedQueryCreate

    engine = create_engine(db_url)
    downgrade(engine, "base")
    upgrade(engine, "0003_detection_review")
    _seed_0003(engine)
    upgrade(engine)
    assert {"query_saved", "query_history"} <= set(inspect(engine).get_table_names())
    owner = Actor(user_id=1, username="tj_steward", department_id=1, roles=frozenset({Role.DEPT_USER}))
    colleague = Actor(user_id=2, username="tj_user", department_id=1, roles=frozenset({Role.DEPT_USER}))
    with Session(engine) as s, s.begin():
        res = s.get(CatalogResource, 1)
        assert res is not None and res.alias == "gdp" and res.information_items[1]["name"] == "地区生产总值"
        version = s.get(LakeVersion, 1)
        assert version is not None and version.rows == 21
        saved = create_saved(session=s, actor=owner, data=SavedQueryCreate(
            name="各市州 GDP", sql='SELECT "地区", "地区生产总值" FROM gdp ORDER BY 2 DESC', visibility="department"))
        s.add(QueryHistory(owner="tj_steward", owner_user_id=1, sql="SELECT count(*) FROM gdp", status="success",
                           rows=1, total=1, elapsed_ms=3.2, tables=[{"code": "201001/000001", "version": 1}],
                           saved_id=saved.id))
    with Session(engine) as s:
        assert [q.name for q in list_saved(session=s, actor=colleague)] == ["各市州 GDP"]
        page = list_history(session=s, actor=owner)
        assert page.total == 1 and page.items[0].tables[0]["code"] == "201001/000001"
        assert list_history(session=s, actor=colleague).total == 0
    downgrade(engine, "0003_detection_review")
    names = set(inspect(engine).get_table_names())
    assert not {"query_saved", "query_history"} & names and {"catalog_resource", "lake_version"} <= names
    with Session(engine) as s:
        assert s.scalar(select(CatalogResource.code)) == "201001/000001"
    upgrade(engine)
    engine.dispose()
