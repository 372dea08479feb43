"""0003 → 0004 (query_saved, query_history) on a store holding data: departments, accounts,
catalog entries and the audit trail stay; saved queries and history can be written and read
through the workbench services; the downgrade removes only the new tables."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from support.migrations import Step, department, lake_version, resource, user

STEP = Step("0003_detection_review", "head", has="privacy_column_review", adds={"query_saved", "query_history"})

# What the demo leaves in a store: a department, two of its users, an entry with a data version.
ROWS = [department(), user(1, "tj_steward"), user(2, "tj_user"), resource(), lake_version()]


def test_upgrade_from_0003_keeps_the_data_and_the_workbench_tables_work(db_url: str) -> None:
    from shudata.catalog.models import CatalogResource
    from shudata.core.types import Actor, Role
    from shudata.lake.models import LakeVersion
    from shudata.query.models import QueryHistory
    from shudata.query.saved import create_saved, list_history, list_saved
    from shudata.query.workbench_schemas import SavedQueryCreate

    owner = Actor(user_id=1, username="tj_steward", department_id=1, roles=frozenset({Role.DEPT_USER}))
    colleague = Actor(user_id=2, username="tj_user", department_id=1, roles=frozenset({Role.DEPT_USER}))
    with STEP.upgraded(db_url, ROWS) as engine:
        with Session(engine) as s, s.begin():
            res = s.get(CatalogResource, 1)
            assert res is not None and res.alias == "gdp" and res.information_items[1]["name"] == "地区生产总值"
            version = s.get(LakeVersion, 1)
            assert version is not None and version.rows == 21
            saved = create_saved(session=s, actor=owner, data=SavedQueryCreate(
                name="各市州 GDP", sql='SELECT "地区", "地区生产总值" FROM gdp ORDER BY 2 DESC',
                visibility="department"))
            s.add(QueryHistory(owner="tj_steward", owner_user_id=1, sql="SELECT count(*) FROM gdp", status="success",
                               rows=1, total=1, elapsed_ms=3.2, tables=[{"code": "201001/000001", "version": 1}],
                               saved_id=saved.id))
        with Session(engine) as s:
            assert [q.name for q in list_saved(session=s, actor=colleague)] == ["各市州 GDP"]
            page = list_history(session=s, actor=owner)
            assert page.total == 1 and page.items[0].tables[0]["code"] == "201001/000001"
            assert list_history(session=s, actor=colleague).total == 0
        STEP.downgrade(engine, keeps={"catalog_resource", "lake_version"})
        with Session(engine) as s:
            assert s.scalar(select(CatalogResource.code)) == "201001/000001"
