"""0008 → 0009 (dashboards) on a store holding platform data and an indicator: the department, the
user, the saved query and the indicator stay; a dashboard can be written and read; the downgrade
removes only its table."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from support.migrations import NOW, Step, department, saved_query, user

STEP = Step("0008_analysis", "0009_dashboards", has="analysis_indicator", adds={"analysis_dashboard"})
ROWS = [department(), user(1, "analyst"), saved_query(owner="analyst", department_id=1),
        ("analysis_indicator", {"id": 1, "code": "GDP", "name": "地区生产总值", "frequency": "年", "region_level": "省",
                                "kind": "sql", "definition": {}, "owner_department_id": 1, "publication": "open",
                                "parent_id": None, "created_at": NOW, "updated_at": NOW})]


def test_upgrade_from_0008_keeps_the_data_and_dashboards_work(db_url: str) -> None:
    from shudata.analysis.dashboards_models import AnalysisDashboard
    from shudata.analysis.models import AnalysisIndicator
    from shudata.query.models import QuerySaved

    doc = {"schema_version": "shudata.dashboard/1", "title": "经济运行", "panels": [
        {"id": "p1", "title": "GDP", "chart": "line", "x": 0, "y": 0, "w": 6, "h": 4,
         "source": {"kind": "indicator", "indicator": "GDP"}}]}
    with STEP.upgraded(db_url, ROWS) as engine:
        with Session(engine) as s, s.begin():
            s.add(AnalysisDashboard(title="经济运行", owner="analyst", owner_user_id=1, department_id=1,
                                    sharing="department", document=doc))
        with Session(engine) as s:
            row = s.scalars(select(AnalysisDashboard)).one()
            assert row.document["panels"][0]["source"]["indicator"] == "GDP" and row.revision == 1
            assert s.scalar(select(QuerySaved.name)) == "GDP"
            assert s.scalar(select(AnalysisIndicator.code)) == "GDP"
        STEP.downgrade(engine, keeps={"analysis_indicator", "query_saved"})
