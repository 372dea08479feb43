"""0008 → 0009 (dashboards) on a store holding platform data and an indicator: the department, the
user, the saved query and the indicator stay; a dashboard can be written and read; the downgrade
removes only its table."""

from __future__ import annotations

from sqlalchemy import MetaData, create_engine, inspect, select
from sqlalchemy.orm import Session

from shudata.db.migrate import downgrade, upgrade
from support.migrations import NOW, old_row


def _seed_0008(engine: object) -> None:
    meta = MetaData()
    meta.reflect(engine)  # type: ignore[arg-type]
    assert "analysis_indicator" in meta.tables and "analysis_dashboard" not in meta.tables  # really 0008
    t = meta.tables
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(t["security_department"].insert().values(old_row(
            t["security_department"], id=1, name="四川省统计局", uscc="11510000000000001X", region_code="510000",
            created_at=NOW)))
        conn.execute(t["security_user"].insert().values(old_row(
            t["security_user"], id=1, username="analyst", display_name="分析员", password_hash="x",
            department_id=1, roles=["dept_user"], created_at=NOW)))
        conn.execute(t["query_saved"].insert().values(old_row(
            t["query_saved"], id=1, owner="analyst", owner_user_id=1, department_id=1, name="GDP",
            sql="SELECT 1", visibility="private", created_at=NOW, updated_at=NOW)))
        conn.execute(t["analysis_indicator"].insert().values(old_row(
            t["analysis_indicator"], id=1, code="GDP", name="地区生产总值", frequency="年", region_level="省",
            kind="sql", definition={}, owner_department_id=1, publication="open", parent_id=None,
            created_at=NOW, updated_at=NOW)))


def test_upgrade_from_0008_keeps_the_data_and_dashboards_work(db_url: str) -> None:
    from shudata.analysis.dashboards_models import AnalysisDashboard
    from shudata.analysis.models import AnalysisIndicator
    from shudata.query.models import QuerySaved

    engine = create_engine(db_url)
    downgrade(engine, "base")
    upgrade(engine, "0008_analysis")
    _seed_0008(engine)
    upgrade(engine, "0009_dashboards")
    assert "analysis_dashboard" in set(inspect(engine).get_table_names())
    doc = {"schema_version": "shudata.dashboard/1", "title": "经济运行", "panels": [
        {"id": "p1", "title": "GDP", "chart": "line", "x": 0, "y": 0, "w": 6, "h": 4,
         "source": {"kind": "indicator", "indicator": "GDP"}}]}
    with Session(engine) as s, s.begin():
        s.add(AnalysisDashboard(title="经济运行", owner="analyst", owner_user_id=1, department_id=1,
                                sharing="department", document=doc))
    with Session(engine) as s:
        row = s.scalars(select(AnalysisDashboard)).one()
        assert row.document["panels"][0]["source"]["indicator"] == "GDP" and row.revision == 1
        assert s.scalar(select(QuerySaved.name)) == "GDP"
        assert s.scalar(select(AnalysisIndicator.code)) == "GDP"
    downgrade(engine, "0008_analysis")
    names = set(inspect(engine).get_table_names())
    assert "analysis_dashboard" not in names and {"analysis_indicator", "query_saved"} <= names
    upgrade(engine)
    engine.dispose()
